//! Schedules under tokio's paused clock: a 16-minute capacity plan checked in milliseconds.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use common::*;
use stampede_engine::StopReason;
use stampede_metrics::{Event, RunEnding};
use stampede_plan::{Load, Think};
use tokio::sync::watch;
use tokio::time::Instant;

fn capacity_plan() -> stampede_plan::Plan {
    let mut req = request("a", "/");
    req.think = Think::Fixed(Duration::from_secs(5));
    let steps = [2, 4, 8]
        .into_iter()
        .map(|users| {
            let mut s = step(Load::Closed { users }, Duration::from_secs(300));
            s.ramp = Duration::from_secs(10);
            s.cooldown = Duration::from_secs(30);
            s
        })
        .collect::<Vec<_>>();
    let mut plan = plan(vec![req], steps);
    plan.steps.last_mut().expect("steps").cooldown = Duration::ZERO;
    plan
}

#[tokio::test(start_paused = true)]
async fn capacity_steps_and_cooldowns_follow_the_plan_to_the_millisecond() {
    let plan = capacity_plan();
    let served = Arc::new(AtomicU64::new(0));
    let options = memory_options(memory_connector(served.clone()));
    let (_tx, stop) = watch::channel(None);
    let start = Instant::now();
    let mut timeline = Vec::new();
    let mut intervals = 0;
    let mut rec = Recorded::default();
    stampede_engine::run(&plan, &options, stop, |event| {
        match event {
            Event::StepStarted(info) => timeline.push(("start", info.index, start.elapsed())),
            Event::StepEnded(end) => timeline.push(("end", end.index, start.elapsed())),
            Event::Interval(_) => intervals += 1,
            _ => {}
        }
        rec.record(event);
    })
    .await
    .expect("run");

    let ms = |s: u64| Duration::from_secs(s);
    let want = [
        ("start", 0, ms(0)),
        ("end", 0, ms(300)),
        ("start", 1, ms(330)),
        ("end", 1, ms(630)),
        ("start", 2, ms(660)),
        ("end", 2, ms(960)),
    ];
    assert_eq!(timeline.len(), want.len(), "{timeline:?}");
    for ((kind, index, at), (want_kind, want_index, want_at)) in timeline.iter().zip(want) {
        assert_eq!((*kind, *index), (want_kind, want_index));
        let off = at.abs_diff(want_at);
        assert!(
            off <= Duration::from_millis(1),
            "{kind} {index} at {at:?}, planned {want_at:?}"
        );
    }
    assert_eq!(start.elapsed().as_secs(), 960);
    assert_eq!(intervals, 900, "one interval per second of hold");
    // Every user makes a request every 5 s (plus its ramp offset), so step n has ~users*60.
    let counts: Vec<u64> = (0..3)
        .map(|s| rec.step_stats(s).aggregate().requests())
        .collect();
    for (count, users) in counts.iter().zip([2u64, 4, 8]) {
        assert!(count.abs_diff(users * 60) <= users, "{counts:?}");
    }
    assert_eq!(counts.iter().sum::<u64>(), served.load(Ordering::SeqCst));
    assert_eq!(rec.steps[2].peak_users, 8);
}

#[tokio::test(start_paused = true)]
async fn an_interrupt_mid_step_keeps_the_completed_steps() {
    let plan = capacity_plan();
    let served = Arc::new(AtomicU64::new(0));
    let options = memory_options(memory_connector(served));
    let (tx, stop) = watch::channel(None);
    tokio::spawn(async move {
        // In the middle of the second step.
        tokio::time::sleep(Duration::from_secs(450)).await;
        let _ = tx.send(Some(StopReason::Interrupted));
    });
    let mut rec = Recorded::default();
    let start = Instant::now();
    let outcome = stampede_engine::run(&plan, &options, stop, |e| rec.record(e))
        .await
        .expect("run");
    assert_eq!(outcome, RunEnding::Interrupted);
    assert!(rec.run_ended);
    assert_eq!(rec.steps.len(), 2);
    assert!(!rec.steps[0].cut_short);
    assert!(rec.steps[1].cut_short);
    assert!(rec.step_stats(0).aggregate().requests() >= 110);
    let measured = rec.steps[1].measured.as_secs();
    assert!((119..=121).contains(&measured), "{measured}");
    assert!(start.elapsed() < Duration::from_secs(460));
}

#[tokio::test(start_paused = true)]
async fn an_aborting_windowed_threshold_stops_the_run_as_aborted() {
    use stampede_plan::{Condition, LiveRule, Metric, Op, Scope, Threshold};
    let mut plan = capacity_plan();
    // Two users thinking 5 s send 0.4/s: demand far more, judged over a 20 s window.
    plan.thresholds.push(Threshold {
        metric: Metric::Rps,
        condition: Condition {
            op: Op::Gt,
            value: 1000.0,
        },
        warn: None,
        scope: Scope::Run,
        live: Some(LiveRule {
            window: Duration::from_secs(20),
            abort: true,
        }),
    });
    let options = memory_options(memory_connector(Arc::new(AtomicU64::new(0))));
    let (_tx, stop) = watch::channel(None);
    let start = Instant::now();
    let mut rec = Recorded::default();
    let outcome = stampede_engine::run(&plan, &options, stop, |e| rec.record(e))
        .await
        .expect("run");
    match outcome {
        RunEnding::Aborted { reason } => assert!(reason.contains("rps"), "{reason}"),
        other => panic!("expected an abort, got {other:?}"),
    }
    // The first full window ends at 20 s; the run stops right after, not at 960 s.
    let elapsed = start.elapsed().as_secs();
    assert!((20..=22).contains(&elapsed), "{elapsed}");
    assert_eq!(rec.steps.len(), 1);
    assert!(rec.steps[0].cut_short);
}

#[tokio::test(start_paused = true)]
async fn stop_when_ends_the_sweep_after_the_crossing_step() {
    use stampede_plan::{Condition, Metric, Op};
    let mut plan = capacity_plan();
    // Any traffic at all crosses this, so the sweep stops after its first step.
    plan.stop_when = vec![(
        Metric::Rps,
        Condition {
            op: Op::Gt,
            value: 0.0,
        },
    )];
    let options = memory_options(memory_connector(Arc::new(AtomicU64::new(0))));
    let (_tx, stop) = watch::channel(None);
    let start = Instant::now();
    let mut rec = Recorded::default();
    let outcome = stampede_engine::run(&plan, &options, stop, |e| rec.record(e))
        .await
        .expect("run");
    match outcome {
        RunEnding::StoppedEarly { reason } => {
            assert!(
                reason.contains("step 1 crossed stop-when rps > 0/s"),
                "{reason}"
            );
        }
        other => panic!("expected a sweep stopped early, got {other:?}"),
    }
    assert_eq!(rec.steps.len(), 1);
    assert!(!rec.steps[0].cut_short);
    // Stopped in the cooldown after step 1, before step 2 was due at 330 s.
    assert!(start.elapsed() < Duration::from_secs(330));
}

#[tokio::test(start_paused = true)]
async fn users_ramp_down_linearly_to_zero_at_the_end_of_the_hold() {
    let mut req = request("a", "/");
    req.think = Think::Fixed(Duration::from_secs(1));
    let mut s = step(Load::Closed { users: 10 }, Duration::from_secs(100));
    s.ramp = Duration::from_secs(10);
    s.ramp_down = Duration::from_secs(50);
    let plan = plan(vec![req], vec![s]);
    let options = memory_options(memory_connector(Arc::new(AtomicU64::new(0))));
    let (_tx, stop) = watch::channel(None);
    let mut rec = Recorded::default();
    stampede_engine::run(&plan, &options, stop, |e| rec.record(e))
        .await
        .expect("run");
    let active = |end_s: u64| {
        rec.intervals
            .iter()
            .find(|i| (i.start + i.length).as_secs() == end_s)
            .map(|i| i.active_users)
            .expect("interval")
    };
    // Up over the first 10 s, all 10 until the ramp-down starts at 50 s, then one user
    // leaves every 5 s: user g of 10 leaves at 100 - 5 (g + 1) s.
    // User 5 arrives at exactly 5 s, the instant the interval closes: either side is right.
    assert!((5..=6).contains(&active(5)), "{}", active(5));
    assert_eq!(active(7), 8);
    assert_eq!(active(40), 10);
    assert_eq!(active(53), 9);
    assert_eq!(active(77), 4);
    assert_eq!(active(97), 0);
    assert_eq!(rec.steps[0].peak_users, 10);
}
