//! Stages under tokio's paused clock: each step ramps linearly from the users the step before
//! left, up, held and down to zero, as k6's stages do.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use common::*;
use stampede_plan::{Load, Plan, Think};
use tokio::sync::watch;

/// (from, to, seconds) per stage: up from zero, held, up again, down to zero.
const STAGES: [(u32, u32, u64); 4] = [(0, 10, 15), (10, 10, 10), (10, 20, 10), (20, 0, 10)];

fn stages_plan() -> Plan {
    let mut req = request("a", "/");
    req.think = Think::Fixed(Duration::from_secs(3));
    let steps = STAGES
        .iter()
        .map(|&(from, to, seconds)| {
            let mut s = step(Load::Closed { users: to }, Duration::from_secs(seconds));
            s.ramp = s.hold;
            s.ramp_from = from;
            s
        })
        .collect();
    plan(vec![req], steps)
}

/// The users k6 would have `at` seconds into the run: linear within each stage.
fn linear(at: f64) -> f64 {
    let mut start = 0.0;
    for (from, to, seconds) in STAGES {
        let end = start + seconds as f64;
        if at <= end {
            let done = (at - start) / seconds as f64;
            return f64::from(from) + (f64::from(to) - f64::from(from)) * done;
        }
        start = end;
    }
    0.0
}

#[tokio::test(start_paused = true)]
async fn user_counts_follow_the_stages_up_held_and_down_to_zero() {
    let served = Arc::new(AtomicU64::new(0));
    let options = memory_options(memory_connector(served.clone()));
    let (_tx, stop) = watch::channel(None);
    let mut rec = Recorded::default();
    stampede_engine::run(&stages_plan(), &options, stop, |e| rec.record(e))
        .await
        .expect("run");

    assert_eq!(rec.steps.len(), STAGES.len());
    let mut checked = 0;
    for interval in &rec.intervals {
        let end = (interval.start + interval.length).as_secs_f64();
        let want = linear(end);
        let got = f64::from(interval.active_users);
        // A user due exactly on a boundary may fall either side of it.
        assert!(
            (got - want).abs() <= 1.0,
            "at {end} s: {got} users, the stages say {want}"
        );
        checked += 1;
    }
    assert!(checked >= 40, "only {checked} intervals");
    for (index, &(from, to, _)) in STAGES.iter().enumerate() {
        assert_eq!(rec.steps[index].peak_users, from.max(to), "stage {index}");
    }
    // The held stage kept the users the first one brought up: nobody left or came.
    let held: Vec<u32> = rec
        .intervals
        .iter()
        .filter(|i| i.step == 1)
        .map(|i| i.active_users)
        .collect();
    assert!(held.iter().all(|&n| n == 10), "{held:?}");
    let last = rec.intervals.last().expect("an interval");
    assert!(
        last.active_users <= 1,
        "{} users at the end",
        last.active_users
    );
    let completed: u64 = (0..STAGES.len()).map(|s| rec.step_all(s).iterations).sum();
    assert!(completed > 0);
    assert_eq!(completed, served.load(Ordering::Relaxed));
}
