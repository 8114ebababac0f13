//! Open model: arrivals on schedule whatever the responses, latency from the scheduled time.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use common::*;
use stampede_plan::{Load, Plan};

/// One request, one open-model step of `(rate, max users, max backlog)` for `hold`.
fn one_open_step((rate_per_s, max_users, max_backlog): (f64, u32, u32), hold: Duration) -> Plan {
    let load = Load::Open {
        rate_per_s,
        max_users,
        max_backlog,
    };
    plan(vec![request("a", "/")], vec![step(load, hold)])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_per_second_for_four_seconds_is_two_thousand_evenly_spread() {
    let server = arrival_server().await;
    let plan = one_open_step((500.0, 50, 1000), Duration::from_secs(4));
    let (_, rec) = run_recorded(&plan, &options(server.addr, 2)).await;
    let arrivals = server.arrivals.lock().expect("arrivals").clone();
    let served = arrivals.len() as u64;
    assert!((1980..=2020).contains(&served), "server counted {served}");
    let stats = &rec.step_stats(0);
    assert_eq!(stats.aggregate().requests(), served);
    assert_eq!(stats.scheduled, 2000);
    assert_eq!(stats.dropped, 0);
    // Evenly spread, as the server saw it: every 200 ms carries about 100 arrivals. A tool that
    // fired each second's share at the start of the second would put 500 in one bucket and 0
    // in the next four; the bounds leave room for a loaded machine's scheduling hiccups.
    let first = *arrivals.iter().min().expect("arrivals");
    let mut buckets = [0u32; 20];
    for at in &arrivals {
        let bucket = (at.duration_since(first).as_millis() / 200) as usize;
        buckets[bucket.min(19)] += 1;
    }
    for (n, count) in buckets.iter().enumerate().take(19) {
        assert!(
            (60..=140).contains(count),
            "bucket {n} had {count}: {buckets:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_server_shows_in_corrected_latency_not_raw() {
    // 200/s for 4 s through a pool of 4 users; the server stalls from 1.5 s to 2.5 s.
    let server = stalling_server(Duration::from_millis(1500), Duration::from_millis(2500)).await;
    let plan = one_open_step((200.0, 4, 10_000), Duration::from_secs(4));
    let (_, rec) = run_recorded(&plan, &options(server.addr, 1)).await;
    let stats = &rec.step_stats(0);
    let total = stats.aggregate();
    let corrected_p99 = total.corrected.quantile_us(0.99);
    let raw_p99 = total.latency.quantile_us(0.99);
    // Only the 4 requests in flight saw the stall: raw p99 over ~800 requests stays low.
    assert!(corrected_p99 >= 500_000, "corrected p99 {corrected_p99} us");
    assert!(raw_p99 < 100_000, "raw p99 {raw_p99} us");
    // The arrivals that waited for a user are the ones that started late.
    assert!(
        stats.late_starts >= 100,
        "late starts {}",
        stats.late_starts
    );
    assert_eq!(stats.dropped, 0);
    assert_eq!(total.requests() + stats.dropped, stats.scheduled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_backlog_bound_arrivals_are_dropped_and_counted() {
    let server = stalling_server(Duration::ZERO, Duration::from_millis(1500)).await;
    let plan = one_open_step((100.0, 2, 10), Duration::from_secs(2));
    let (_, rec) = run_recorded(&plan, &options(server.addr, 1)).await;
    let stats = &rec.step_stats(0);
    assert_eq!(stats.scheduled, 200);
    assert!(stats.dropped >= 100, "dropped {}", stats.dropped);
    // Nothing is silently lost: every arrival was either served or counted as dropped.
    assert_eq!(
        stats.aggregate().requests() + stats.dropped,
        stats.scheduled
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stall_grows_the_pool_once_and_its_users_are_reused_after() {
    // 200/s for 3 s; the server stalls from 0.8 s to 1.1 s, so the arrivals of the stall each
    // need a user. Those users stay for the run (the open model's memory follows its peak
    // concurrency, bounded by max-users) and serve the rest of it on their first connections:
    // the pool never grows again for what it already met.
    let server = stalling_server(Duration::from_millis(800), Duration::from_millis(1100)).await;
    let max_users = 100;
    let plan = one_open_step((200.0, max_users, 10_000), Duration::from_secs(3));
    let (_, rec) = run_recorded(&plan, &options(server.addr, 1)).await;
    let stats = rec.step_all(0);
    let peak = rec.steps[0].peak_users;
    assert!(peak > 4 && peak <= max_users, "peak users {peak}");
    let opened = stats.connections.http1 + stats.connections.http2;
    assert_eq!(
        opened,
        u64::from(peak) + stats.reconnects,
        "a user per connection"
    );
    assert_eq!(stats.dropped, 0);
    assert_eq!(stats.aggregate().requests(), stats.scheduled);
}

#[tokio::test(start_paused = true)]
async fn the_pile_a_stall_of_the_generator_leaves_due_queues_instead_of_growing_the_pool() {
    // 2,000/s for 2 s against a target that answers at once, so one user keeps up. At 1 s the
    // clock jumps 20 ms, as when the machine stops the generator for a moment: 40 arrivals
    // fall due together while every user is idle. Before, each found the idle users already
    // handed one and started a user (and a connection) of its own, kept for the rest of the
    // run (40 users); now the pile queues behind the users, which reach it at once.
    let served = Arc::new(AtomicU64::new(0));
    let plan = one_open_step((2000.0, 100, 10_000), Duration::from_secs(2));
    let options = memory_options(memory_connector(served.clone()));
    let stall = async {
        tokio::time::sleep(Duration::from_secs(1)).await;
        tokio::time::advance(Duration::from_millis(20)).await;
    };
    let ((_, rec), ()) = tokio::join!(run_recorded(&plan, &options), stall);
    let stats = rec.step_all(0);
    assert_eq!(stats.scheduled, 4000);
    assert_eq!(stats.dropped, 0);
    assert_eq!(stats.aggregate().requests(), 4000);
    assert_eq!(served.load(Ordering::SeqCst), 4000);
    let peak = rec.steps[0].peak_users;
    assert!(peak <= 2, "peak users {peak}");
    assert_eq!(
        stats.connections.http1,
        u64::from(peak),
        "no connection opened for the stall"
    );
}
