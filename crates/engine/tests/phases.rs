//! The phases of a request that opens its connection add up to its latency: connect, TLS
//! handshake, waiting and receiving, against the demo target over HTTPS. Alone in its binary,
//! so no sibling test competes for the CPU while it measures.

mod common;
mod net_common;

use net_common::*;
use stampede_metrics::Latency;
use stampede_plan::HttpVersion;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_phases_of_a_fresh_connection_add_up_to_its_latency() {
    let target = target(true);
    // A first run warms the code paths (a debug build's first TLS connection pays for them).
    let warm = health_plan(&target, Some(trusting(&target)), HttpVersion::Auto, 1);
    run_stats(&warm, &target).await;

    let plan = health_plan(&target, Some(trusting(&target)), HttpVersion::Auto, 1);
    let stats = run_stats(&plan, &target).await;
    let health = &stats.requests[0];
    assert_eq!(health.latency.count(), 1);
    let us = |latency: &Latency| latency.quantile_us(0.5) as f64;
    let phases = [
        us(&health.phases.connecting),
        us(&health.phases.tls_handshaking),
        us(&health.phases.waiting),
        us(&health.phases.receiving),
    ];
    let sum: f64 = phases.iter().sum();
    let total = us(&health.latency);
    eprintln!("connect, tls, waiting, receiving: {phases:?} us; sum {sum} us, latency {total} us");
    // Each phase is kept to two significant digits (1 %). What is left is the client's own
    // work between them: the HTTP/2 preface, building and writing the request.
    assert!(
        sum <= total * 1.02,
        "phases {phases:?} exceed latency {total}"
    );
    assert!(
        total - sum <= (total * 0.15).max(1000.0),
        "phases {phases:?} leave {} us of {total} unaccounted",
        total - sum
    );
}
