//! Stops in every phase, under tokio's paused clock: while users connect, during a ramp, while
//! dispatching a rate no machine could keep up with, during the grace wait and the cooldown, and
//! before the run starts, the run ends within one interval of the stop. Also plans whose length
//! or step count would once have been precomputed start at once.

mod common;

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use common::*;
use stampede_engine::StopReason;
use stampede_metrics::{Outcome, RunEnding};
use stampede_plan::{Load, Plan, Think};
use tokio::sync::watch;
use tokio::time::Instant;

const S: fn(u64) -> Duration = Duration::from_secs;

/// Runs with a stop at `stop_at` and returns when the run ended, from its start.
async fn stopped(
    plan: &Plan,
    options: &stampede_engine::Options,
    stop_at: Duration,
) -> (RunEnding, Recorded, Duration) {
    let start = Instant::now();
    let (outcome, rec) = run_stopped_after(plan, options, stop_at).await;
    (outcome, rec, start.elapsed())
}

/// Asserts the run ended within one interval (1 s here) of the stop, and says so.
fn within_an_interval(ended: Duration, stop_at: Duration) {
    assert!(
        ended <= stop_at + S(1) + Duration::from_millis(5),
        "stopped at {stop_at:?}, ended at {ended:?}"
    );
}

fn served() -> stampede_engine::Options {
    memory_options(memory_connector(Arc::new(AtomicU64::new(0))))
}

#[tokio::test(start_paused = true)]
async fn a_stop_while_users_connect_is_obeyed() {
    // Every user is stuck in its setup request (a login that never answers).
    let mut plan = plan(
        vec![request("login", "/login"), request("a", "/")],
        vec![step(Load::Closed { users: 5 }, S(60))],
    );
    plan.setup = vec![0];
    plan.requests[0].weight = 0;
    plan.requests[0].timeout = S(120);
    let options = memory_options(hung_memory_connector());
    let (outcome, rec, ended) = stopped(&plan, &options, Duration::from_millis(2500)).await;
    assert_eq!(outcome, RunEnding::Interrupted);
    within_an_interval(ended, Duration::from_millis(2500));
    let setup = rec.setup.expect("run ended").aggregate();
    assert_eq!(setup.outcomes.get(Outcome::Abandoned), 5);
}

#[tokio::test(start_paused = true)]
async fn a_stop_during_a_ramp_is_obeyed() {
    let mut req = request("a", "/");
    req.think = Think::Fixed(S(1));
    let mut s = step(Load::Closed { users: 10 }, S(120));
    s.ramp = S(60);
    let plan = plan(vec![req], vec![s]);
    let (outcome, rec, ended) = stopped(&plan, &served(), S(5)).await;
    assert_eq!(outcome, RunEnding::Interrupted);
    within_an_interval(ended, S(5));
    assert!(rec.steps[0].cut_short);
}

#[tokio::test(start_paused = true)]
async fn a_stop_during_the_grace_wait_ends_it() {
    // Requests that would time out only long after the stop.
    let mut req = request("a", "/");
    req.timeout = S(120);
    let mut plan = plan(vec![req], vec![step(Load::Closed { users: 3 }, S(2))]);
    plan.grace = S(60);
    let options = memory_options(hung_memory_connector());
    let (_, rec, ended) = stopped(&plan, &options, S(10)).await;
    within_an_interval(ended, S(10));
    assert_eq!(rec.step_all(0).abandoned, 3);
    assert!(!rec.steps[0].cut_short, "the hold was complete");
}

#[tokio::test(start_paused = true)]
async fn a_stop_during_a_cooldown_is_obeyed() {
    let mut first = step(Load::Closed { users: 2 }, S(2));
    first.cooldown = S(60);
    // A think time, so that the in-memory server's instant answers let the clock move.
    let mut req = request("a", "/");
    req.think = Think::Fixed(Duration::from_millis(500));
    let plan = plan(
        vec![req],
        vec![first, step(Load::Closed { users: 2 }, S(2))],
    );
    let (outcome, rec, ended) = stopped(&plan, &served(), S(30)).await;
    assert_eq!(outcome, RunEnding::Interrupted);
    within_an_interval(ended, S(30));
    assert_eq!(rec.steps.len(), 1);
    assert_eq!(
        rec.steps_started.len(),
        1,
        "the second step is not announced"
    );
}

#[tokio::test(start_paused = true)]
async fn a_rate_no_machine_could_keep_up_with_never_spins_and_obeys_a_stop() {
    // A billion and a trillion arrivals a second: the period rounds to nothing. The
    // dispatcher must neither spin nor starve the step's clock, and must count every arrival.
    for rate in [1e9, 1e12] {
        let load = Load::Open {
            rate_per_s: rate,
            max_users: 2,
            max_backlog: 10,
        };
        let plan = plan(vec![request("a", "/")], vec![step(load, S(60))]);
        let real = std::time::Instant::now();
        let (outcome, rec, ended) = stopped(&plan, &served(), S(2)).await;
        assert_eq!(outcome, RunEnding::Interrupted);
        within_an_interval(ended, S(2));
        assert!(real.elapsed() < S(30), "{rate}/s took {:?}", real.elapsed());
        assert_nothing_lost(&rec);
        let all = rec.step_all(0);
        assert!(
            all.scheduled >= (rate * 2.0) as u64,
            "{rate}/s scheduled {}",
            all.scheduled
        );
        assert!(all.dropped > all.iterations);
    }
}

#[tokio::test(start_paused = true)]
async fn a_stop_before_the_start_runs_nothing() {
    let plan = plan(
        vec![request("a", "/")],
        vec![step(Load::Closed { users: 2 }, S(60))],
    );
    let (_tx, stop) = watch::channel(Some(StopReason::Interrupted));
    let mut rec = Recorded::default();
    let start = Instant::now();
    let outcome = stampede_engine::run(&plan, &served(), stop, |e| rec.record(e))
        .await
        .expect("run");
    assert_eq!(outcome, RunEnding::Interrupted);
    assert!(start.elapsed() < S(1));
    assert!(rec.steps_started.is_empty() && rec.intervals.is_empty());
    assert!(rec.run_ended);
}

#[tokio::test(start_paused = true)]
async fn a_year_long_soak_at_ten_milliseconds_starts_at_once() {
    // Once 3.2 billion precomputed slots (tens of GB) before the first request.
    let mut req = request("a", "/");
    req.think = Think::Fixed(S(1));
    let mut plan = plan(
        vec![req],
        vec![step(Load::Closed { users: 2 }, S(366 * 24 * 3600))],
    );
    plan.interval = Duration::from_millis(10);
    let (outcome, rec, ended) = stopped(&plan, &served(), S(3)).await;
    assert_eq!(outcome, RunEnding::Interrupted);
    assert!(ended < S(4));
    assert!(
        (295..=305).contains(&rec.intervals.len()),
        "{}",
        rec.intervals.len()
    );
    assert!(rec.step_stats(0).aggregate().requests() >= 4);
}

#[tokio::test(start_paused = true)]
async fn a_ten_thousand_step_sweep_starts_at_once() {
    let steps = (0..10_000)
        .map(|n| {
            let mut s = step(Load::Closed { users: 1 + n % 3 }, S(24 * 3600));
            s.cooldown = S(60);
            s
        })
        .collect();
    let mut req = request("a", "/");
    req.think = Think::Fixed(S(1));
    let mut plan = plan(vec![req], steps);
    plan.interval = Duration::from_millis(10);
    let (outcome, rec, ended) = stopped(&plan, &served(), S(2)).await;
    assert_eq!(outcome, RunEnding::Interrupted);
    assert!(ended < S(3));
    assert_eq!(rec.steps_started.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn every_step_schedules_exactly_rate_times_hold() {
    // Arrivals due in the hold's last timer tick used to race the end of the step.
    for (rate, hold_ms, planned) in [
        (2000.0, 1000, 2000),
        (1500.0, 1000, 1500),
        (1999.0, 1000, 1999),
        (3.0, 1000, 3),
        (7.0, 1300, 10),
    ] {
        let load = Load::Open {
            rate_per_s: rate,
            max_users: 50,
            max_backlog: 1000,
        };
        let mut req = request("a", "/");
        req.think = Think::None;
        let plan = plan(vec![req], vec![step(load, Duration::from_millis(hold_ms))]);
        let (_, rec) = run_recorded(&plan, &served()).await;
        assert_nothing_lost(&rec);
        let all = rec.step_all(0);
        assert_eq!(all.scheduled, planned, "{rate}/s for {hold_ms} ms");
        assert_eq!(
            all.iterations, planned,
            "{rate}/s for {hold_ms} ms: all sent"
        );
    }
}
