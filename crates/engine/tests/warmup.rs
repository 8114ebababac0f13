//! Warm-up by count: the first N requests of a step, over all users, are measured apart as
//! warm-up, so an iteration-bounded run measures exactly what it says after them.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use common::*;
use stampede_plan::Load;

#[tokio::test(start_paused = true)]
async fn the_first_requests_of_a_step_are_warm_up() {
    let served = Arc::new(AtomicU64::new(0));
    let mut s = step(Load::Closed { users: 5 }, Duration::from_secs(60));
    s.iterations_per_user = Some(10);
    let mut plan = plan(vec![request("a", "/")], vec![s]);
    plan.warmup_requests = vec![20];
    let options = memory_options(memory_connector(served.clone()));
    let (_, rec) = run_recorded(&plan, &options).await;
    let measured = rec.step_stats(0);
    let warm = rec.step_warmup(0);
    assert_eq!(served.load(Ordering::SeqCst), 50);
    assert_eq!(warm.aggregate().requests(), 20);
    assert_eq!(measured.aggregate().requests(), 30);
    assert_eq!((warm.iterations, measured.iterations), (20, 30));
    assert!(rec.intervals.iter().any(|i| i.warmup));
}

#[tokio::test]
async fn warm_up_by_count_is_shared_between_load_threads() {
    // Plan 000's shape, smaller: 4 users x 25 requests, the first 30 left out.
    let server = counting_server(Duration::ZERO, 200).await;
    let mut s = step(Load::Closed { users: 4 }, Duration::from_secs(30));
    s.iterations_per_user = Some(25);
    let mut plan = plan(vec![request("a", "/")], vec![s]);
    plan.warmup_requests = vec![30];
    let (_, rec) = run_recorded(&plan, &options(server.addr, 2)).await;
    assert_eq!(server.served(), 100);
    assert_eq!(rec.step_warmup(0).aggregate().requests(), 30);
    assert_eq!(rec.step_stats(0).aggregate().requests(), 70);
}

#[tokio::test(start_paused = true)]
async fn a_warm_up_that_swallows_the_run_leaves_nothing_measured() {
    let served = Arc::new(AtomicU64::new(0));
    let mut s = step(Load::Closed { users: 2 }, Duration::from_secs(60));
    s.iterations_per_user = Some(5);
    let mut plan = plan(vec![request("a", "/")], vec![s]);
    plan.warmup_requests = vec![200];
    let options = memory_options(memory_connector(served));
    let (_, rec) = run_recorded(&plan, &options).await;
    assert_eq!(rec.step_warmup(0).aggregate().requests(), 10);
    assert_eq!(rec.step_stats(0).aggregate().requests(), 0);
    assert!(rec.intervals.iter().all(|i| i.warmup));
}
