//! Real connections to the demo target: HTTPS with its CA file and with `insecure`, HTTP/2 and
//! HTTP/1.1 by ALPN (checked in the target's own per-version counter), h2c with prior
//! knowledge, and an untrusted certificate as an outcome.

mod common;
mod net_common;

use net_common::*;
use stampede_metrics::{FailureKey, Outcome};
use stampede_plan::{HttpVersion, Tls};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_the_ca_file_speaks_h2_by_alpn_and_http1_when_asked() {
    let target = target(true);
    let auto = health_plan(&target, Some(trusting(&target)), HttpVersion::Auto, 5);
    let stats = run_stats(&auto, &target).await;
    let health = &stats.requests[0];
    assert_eq!(
        health.outcomes.get(Outcome::Status2xx),
        5,
        "{:?}",
        health.samples
    );
    assert_eq!((stats.connections.http2, stats.connections.http1), (1, 0));
    assert_eq!(health.phases.tls_handshaking.count(), 1, "one handshake");
    let after_h2 = metrics(&target).await;
    assert_eq!(by_version(&after_h2, "2"), 5, "{after_h2}");

    let one_one = health_plan(&target, Some(trusting(&target)), HttpVersion::Http1, 5);
    let stats = run_stats(&one_one, &target).await;
    assert_eq!(stats.requests[0].outcomes.get(Outcome::Status2xx), 5);
    assert_eq!((stats.connections.http2, stats.connections.http1), (0, 1));
    let after_h1 = metrics(&target).await;
    assert_eq!(by_version(&after_h1, "2"), 5);
    // The first /metrics request was HTTP/1.1 too.
    assert_eq!(
        by_version(&after_h1, "1.1") - by_version(&after_h2, "1.1"),
        6,
        "{after_h1}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insecure_accepts_a_certificate_nobody_vouches_for() {
    let target = target(true);
    let tls = Tls {
        insecure: true,
        ..Tls::default()
    };
    let stats = run_stats(
        &health_plan(&target, Some(tls), HttpVersion::Auto, 3),
        &target,
    )
    .await;
    assert_eq!(stats.requests[0].outcomes.get(Outcome::Status2xx), 3);
    assert_eq!(stats.requests[0].failed, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_certificate_is_an_outcome_that_says_why() {
    let target = target(true);
    // Another target's CA: a real CA, just not the one that signed this server.
    let stranger = self::target(true);
    let plan = health_plan(&target, Some(trusting(&stranger)), HttpVersion::Auto, 3);
    let stats = run_stats(&plan, &target).await;
    let health = &stats.requests[0];
    assert_eq!(health.outcomes.get(Outcome::Other), 3);
    assert_eq!(health.failed, 3);
    let key = FailureKey::Transport(Outcome::Other);
    assert_eq!(health.failures.iter().collect::<Vec<_>>(), [(key, 3)]);
    let sample = health.samples.get(key).expect("a sample");
    // Both generated CAs have the same name, so rustls finds an issuer whose signature fails.
    assert!(
        sample.starts_with("tls: invalid peer certificate: ")
            && (sample.contains("UnknownIssuer") || sample.contains("BadSignature")),
        "{sample}"
    );
    assert!(
        health.phases.tls_handshaking.is_empty(),
        "no handshake completed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_over_plain_tcp_is_h2c_with_prior_knowledge() {
    let target = target(false);
    let plan = health_plan(&target, None, HttpVersion::Http2, 4);
    let stats = run_stats(&plan, &target).await;
    assert_eq!(stats.requests[0].outcomes.get(Outcome::Status2xx), 4);
    assert_eq!(stats.connections.http2, 1);
    assert!(stats.requests[0].phases.tls_handshaking.is_empty());
    assert_eq!(by_version(&metrics(&target).await, "2"), 4);
}
