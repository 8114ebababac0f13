//! No scheduled arrival is ever silently lost: per step, the arrivals the schedule planned
//! (`ceil(rate * hold)`) are exactly those sent plus those dropped, on 1, 2 and 3 load threads
//! and at rates that divide neither the hold nor the threads evenly, counted through
//! `stampede_metrics::Arrivals` (the one place where arrivals' ends are added up) and checked
//! against what the server received.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use common::*;
use stampede_engine::Share;
use stampede_metrics::Arrivals;
use stampede_plan::{Load, Plan};

const MS: fn(u64) -> Duration = Duration::from_millis;

/// Steps of `(rate, hold)`, each with what it must plan: `ceil(rate * hold)`.
const STEPS: [(f64, u64, u64); 4] = [
    (1000.0, 200, 200),
    (1999.0, 150, 300), // 299.85
    (333.3, 100, 34),   // 33.33
    (7.0, 1300, 10),    // 9.1
];

fn open_plan() -> Plan {
    let steps = STEPS
        .iter()
        .map(|&(rate_per_s, hold_ms, _)| {
            let load = Load::Open {
                rate_per_s,
                max_users: 50,
                max_backlog: 1000,
            };
            step(load, MS(hold_ms))
        })
        .collect();
    let mut plan = plan(vec![request("a", "/")], steps);
    plan.interval = MS(50);
    plan
}

/// Where a step's arrivals ended, over all its intervals (warm-up included).
fn arrivals(rec: &Recorded, step: usize) -> Arrivals {
    let mut arrivals = Arrivals::default();
    for interval in rec.intervals.iter().filter(|i| i.step == step) {
        arrivals.count(&interval.stats);
    }
    arrivals
}

fn assert_planned_is_sent_plus_dropped(arrivals: &Arrivals, planned: u64, what: &str) {
    assert_eq!(arrivals.scheduled, planned, "{what}: scheduled");
    assert_eq!(arrivals.unaccounted, 0, "{what}: {arrivals:?}");
    assert_eq!(
        arrivals.sent() + arrivals.dropped,
        planned,
        "{what}: {arrivals:?}"
    );
}

#[tokio::test]
async fn every_planned_arrival_is_sent_or_dropped_on_one_two_and_three_threads() {
    let server = counting_server(Duration::ZERO, 200).await;
    for threads in [1, 2, 3] {
        let before = server.served();
        let (_, rec) = run_recorded(&open_plan(), &options(server.addr, threads)).await;
        let mut sent = 0;
        for (step, &(rate, hold_ms, planned)) in STEPS.iter().enumerate() {
            let ends = arrivals(&rec, step);
            let what = format!("{threads} threads, {rate}/s for {hold_ms} ms");
            assert_planned_is_sent_plus_dropped(&ends, planned, &what);
            sent += ends.sent();
        }
        // One request per iteration: what was counted as sent is what the server received.
        assert_eq!(server.served() - before, sent, "{threads} threads");
    }
}

#[tokio::test(start_paused = true)]
async fn every_planned_arrival_is_sent_or_dropped_across_shares_on_the_paused_clock() {
    // Load threads need real threads, so the paused clock splits the run into segments
    // instead: the same dealing (arrival k to part k mod n), one part at a time.
    for parts in [1, 2, 3] {
        let served = Arc::new(AtomicU64::new(0));
        let mut totals = vec![Arrivals::default(); STEPS.len()];
        for index in 0..parts {
            let mut options = memory_options(memory_connector(served.clone()));
            options.segment = Share {
                index,
                count: parts,
            };
            let (_, rec) = run_recorded(&open_plan(), &options).await;
            for (step, total) in totals.iter_mut().enumerate() {
                for interval in rec.intervals.iter().filter(|i| i.step == step) {
                    total.count(&interval.stats);
                }
            }
        }
        let mut sent = 0;
        for (total, &(rate, hold_ms, planned)) in totals.iter().zip(&STEPS) {
            let what = format!("{parts} parts, {rate}/s for {hold_ms} ms");
            assert_planned_is_sent_plus_dropped(total, planned, &what);
            // Nothing queues on the paused clock: every arrival was sent.
            assert_eq!(total.dropped, 0, "{what}");
            sent += total.sent();
        }
        assert_eq!(served.load(Ordering::SeqCst), sent, "{parts} parts");
    }
}
