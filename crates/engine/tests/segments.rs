//! A plan split into segments (`Options::segment`) under tokio's paused clock: the segments'
//! open-model arrivals, run one after the other, interleave to exactly the plan's spacing, and
//! their closed-model users add up to the plan's.

mod common;

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use common::*;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use stampede_engine::{Connector, Share};
use stampede_plan::Load;
use tokio::sync::watch;
use tokio::time::Instant;

/// An in-memory server noting when each request arrived, from `since`.
fn noting_connector(since: Instant, seen: Arc<Mutex<Vec<Duration>>>) -> Connector {
    Connector::Memory(Arc::new(move || {
        let (client, server) = tokio::io::duplex(64 * 1024);
        let seen = seen.clone();
        tokio::spawn(async move {
            let service = service_fn(move |_req| {
                seen.lock().unwrap().push(since.elapsed());
                async { Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::new()))) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(server), service)
                .await;
        });
        client
    }))
}

/// Runs segment `index` of `count` from a fresh start; returns the arrival offsets and the
/// step's peak users.
async fn run_segment(
    plan: &stampede_plan::Plan,
    index: usize,
    count: usize,
) -> (Vec<Duration>, u32) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut options = memory_options(noting_connector(Instant::now(), seen.clone()));
    options.segment = Share { index, count };
    let (_tx, stop) = watch::channel(None);
    let mut rec = Recorded::default();
    stampede_engine::run(plan, &options, stop, |e| rec.record(e))
        .await
        .expect("run");
    let arrivals = seen.lock().unwrap().clone();
    (arrivals, rec.steps[0].peak_users)
}

#[tokio::test(start_paused = true)]
async fn open_model_arrivals_of_all_segments_interleave_to_the_plans_spacing() {
    let load = Load::Open {
        rate_per_s: 40.0,
        max_users: 50,
        max_backlog: 0,
    };
    let plan = plan(
        vec![request("a", "/")],
        vec![step(load, Duration::from_secs(2))],
    );
    for segments in [1, 3, 4] {
        let mut all = Vec::new();
        for index in 0..segments {
            let (arrivals, _) = run_segment(&plan, index, segments).await;
            // Segment i takes arrivals i, i + n, ...: every n-th slot of the plan's spacing.
            let gap = Duration::from_millis(25) * segments as u32;
            for pair in arrivals.windows(2) {
                assert_eq!(pair[1] - pair[0], gap, "segment {index}/{segments}");
            }
            all.extend(arrivals);
        }
        all.sort();
        let want: Vec<Duration> = (0..80).map(|k| Duration::from_millis(25 * k)).collect();
        assert_eq!(all, want, "{segments} segments");
    }
}

#[tokio::test(start_paused = true)]
async fn closed_model_users_of_all_segments_add_up_to_the_plan() {
    let mut req = request("a", "/");
    req.think = stampede_plan::Think::Fixed(Duration::from_millis(100));
    let plan = plan(
        vec![req],
        vec![step(Load::Closed { users: 50 }, Duration::from_secs(1))],
    );
    let mut peaks = Vec::new();
    for index in 0..3 {
        peaks.push(run_segment(&plan, index, 3).await.1);
    }
    assert_eq!(peaks, [17, 17, 16]);
}
