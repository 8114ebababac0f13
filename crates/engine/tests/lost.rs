//! Nothing lost: against real loopback servers that hang, crawl or saturate the generator,
//! every open-model arrival of a step ends as exactly one of completed, abandoned or dropped,
//! and requests cut off at the end of the grace period are counted as abandoned failures, on
//! one load thread and on two.

mod common;

use std::time::Duration;

use common::*;
use stampede_metrics::{FailureKey, Outcome};
use stampede_plan::{Load, Plan};

const MS: fn(u64) -> Duration = Duration::from_millis;

fn short(load: Load, hold: Duration, grace: Duration) -> Plan {
    let mut plan = plan(vec![request("a", "/")], vec![step(load, hold)]);
    plan.interval = MS(100);
    plan.grace = grace;
    plan
}

#[tokio::test]
async fn a_hung_server_shows_as_abandoned_requests_in_the_closed_model() {
    let addr = hung_server().await;
    for threads in [1, 2] {
        let plan = short(Load::Closed { users: 4 }, MS(300), MS(200));
        let (_, rec) = run_recorded(&plan, &options(addr, threads)).await;
        let all = rec.step_all(0);
        let total = all.aggregate();
        // Before, these four were counted nowhere: "0 requests, 0 failed".
        assert_eq!(all.abandoned, 4, "threads {threads}");
        assert_eq!(
            total.outcomes.get(Outcome::Abandoned),
            4,
            "threads {threads}"
        );
        assert_eq!(
            (total.requests(), total.failed),
            (4, 4),
            "threads {threads}"
        );
        assert_eq!(
            total.failures.iter().collect::<Vec<_>>(),
            [(FailureKey::Transport(Outcome::Abandoned), 4)]
        );
        // Measured up to the moment they were cut off: the hold's end plus the grace.
        assert!(
            total.latency.quantile_us(0.5) >= 400_000,
            "threads {threads}"
        );
        assert_eq!(all.iterations, 0);
    }
}

#[tokio::test]
async fn a_hung_server_loses_no_arrival_in_the_open_model() {
    let addr = hung_server().await;
    for threads in [1, 2] {
        let load = Load::Open {
            rate_per_s: 100.0,
            max_users: 4,
            max_backlog: 10,
        };
        let (_, rec) = run_recorded(&short(load, MS(500), MS(200)), &options(addr, threads)).await;
        assert_nothing_lost(&rec);
        let all = rec.step_all(0);
        // 50 arrivals: 4 sent and cut off, the rest never sent (queued, then dropped).
        assert_eq!(all.scheduled, 50, "threads {threads}");
        assert_eq!(all.abandoned, 4, "threads {threads}");
        assert_eq!(all.dropped, 46, "threads {threads}");
        assert_eq!(all.aggregate().outcomes.get(Outcome::Abandoned), 4);
    }
}

#[tokio::test]
async fn a_slow_server_loses_nothing_between_completed_abandoned_and_dropped() {
    let server = counting_server(MS(120), 200).await;
    for threads in [1, 2] {
        let load = Load::Open {
            rate_per_s: 50.0,
            max_users: 4,
            max_backlog: 100,
        };
        let (_, rec) = run_recorded(
            &short(load, MS(600), MS(50)),
            &options(server.addr, threads),
        )
        .await;
        assert_nothing_lost(&rec);
        let all = rec.step_all(0);
        assert_eq!(all.scheduled, 30, "threads {threads}");
        let total = all.aggregate();
        assert!(all.iterations >= 8, "threads {threads}: {}", all.iterations);
        // Without flows an iteration is one request: completed ones have a status, cut-off
        // ones are abandoned, and nothing else was sent.
        assert_eq!(total.requests(), all.iterations + all.abandoned);
        assert!(
            all.dropped > 0,
            "the queue at the hold's end was never sent"
        );
    }
}

#[tokio::test]
async fn a_saturated_generator_accounts_for_every_arrival() {
    let server = counting_server(MS(10), 200).await;
    for threads in [1, 2] {
        let load = Load::Open {
            rate_per_s: 2000.0,
            max_users: 2,
            max_backlog: 5,
        };
        let (_, rec) = run_recorded(
            &short(load, MS(500), MS(500)),
            &options(server.addr, threads),
        )
        .await;
        assert_nothing_lost(&rec);
        let all = rec.step_all(0);
        assert_eq!(all.scheduled, 1000, "threads {threads}");
        assert!(
            all.dropped > 500,
            "threads {threads}: dropped {}",
            all.dropped
        );
        assert_eq!(all.abandoned, 0, "a 10 ms server finishes inside the grace");
    }
}

#[tokio::test]
async fn the_last_arrival_of_a_step_is_sent() {
    // At 2,000/s over 1 s the last arrival is due 0.5 ms before the hold ends, in the same
    // timer tick as the end itself; it must be scheduled and sent, not silently lost.
    let server = counting_server(Duration::ZERO, 200).await;
    for threads in [1, 2] {
        let load = Load::Open {
            rate_per_s: 2000.0,
            max_users: 50,
            max_backlog: 1000,
        };
        let (_, rec) = run_recorded(
            &short(load, MS(1000), MS(500)),
            &options(server.addr, threads),
        )
        .await;
        assert_nothing_lost(&rec);
        let all = rec.step_all(0);
        assert_eq!(all.scheduled, 2000, "threads {threads}");
    }
}
