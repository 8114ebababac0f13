//! The fault knobs, per request and from the config.

use std::time::{Duration, Instant};

use http::StatusCode;
use stampede_target::{Config, Faults, Latency, Target};

use crate::client::{Client, raw_exchange, target};

/// Guards the tests against a hang; never reached when the target behaves.
const HANG_GUARD: Duration = Duration::from_secs(10);

#[tokio::test]
async fn latency_delays_the_answer() {
    let target = target();
    let mut client = Client::connect(target.addr()).await;
    let started = Instant::now();
    let reply = client.get("/health?latency=30ms", &[]).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(
        started.elapsed() >= Duration::from_millis(30),
        "{:?}",
        started.elapsed()
    );
    let started = Instant::now();
    client.get("/health?latency=10ms..20ms", &[]).await;
    assert!(
        started.elapsed() >= Duration::from_millis(10),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn error_answers_500() {
    let target = target();
    let mut client = Client::connect(target.addr()).await;
    let reply = client.get("/health?error=1", &[]).await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    // The connection stays usable after an injected error.
    assert_eq!(
        client.get("/health?error=0", &[]).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn close_ends_the_connection_without_a_response() {
    let target = target();
    let mut client = Client::connect(target.addr()).await;
    let result = client.send("GET", "/health?close=1", &[], "").await;
    assert!(result.is_err(), "expected no response, got {result:?}");

    let request = "GET /health?close=1 HTTP/1.1\r\nhost: target\r\n\r\n";
    let answer = tokio::time::timeout(HANG_GUARD, raw_exchange(target.addr(), request))
        .await
        .expect("closed promptly")
        .expect("no socket error but a reset");
    assert!(
        answer.is_empty(),
        "wrote {:?}",
        String::from_utf8_lossy(&answer)
    );
}

#[tokio::test]
async fn stall_holds_the_request_then_closes() {
    let target = target();
    let request = "GET /health?stall=1&stall_for=200ms HTTP/1.1\r\nhost: target\r\n\r\n";
    let started = Instant::now();
    let answer = tokio::time::timeout(HANG_GUARD, raw_exchange(target.addr(), request))
        .await
        .expect("the stall ends")
        .expect("no socket error but a reset");
    assert!(
        started.elapsed() >= Duration::from_millis(200),
        "{:?}",
        started.elapsed()
    );
    assert!(
        answer.is_empty(),
        "wrote {:?}",
        String::from_utf8_lossy(&answer)
    );

    let mut client = Client::connect(target.addr()).await;
    let result = tokio::time::timeout(
        HANG_GUARD,
        client.send("GET", "/health?stall&stall_for=50ms", &[], ""),
    )
    .await
    .expect("the stall ends");
    assert!(result.is_err(), "expected no response, got {result:?}");
}

#[tokio::test]
async fn bad_knob_values_are_400() {
    let target = target();
    let mut client = Client::connect(target.addr()).await;
    for query in ["latency=fast", "error=2", "close=yes", "stall_for=2h"] {
        let reply = client.get(&format!("/health?{query}"), &[]).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{query}");
        assert!(
            reply.json()["error"]
                .as_str()
                .is_some_and(|e| e.contains("invalid"))
        );
    }
}

#[tokio::test]
async fn configured_faults_apply_to_everything_but_metrics() {
    let faults = Faults {
        error_ratio: 1.0,
        latency: Latency::Fixed(Duration::from_millis(5)),
        ..Faults::default()
    };
    let target = Target::start(Config {
        faults,
        ..Config::default()
    })
    .expect("starts");
    let mut client = Client::connect(target.addr()).await;
    assert_eq!(
        client.get("/health", &[]).await.status,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(
        client.get("/health?error=0", &[]).await.status,
        StatusCode::OK
    );
    assert_eq!(client.get("/metrics", &[]).await.status, StatusCode::OK);
    assert_eq!(
        client.get("/metrics?close=1", &[]).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn work_queues_for_a_fixed_pool_of_workers() {
    // Two workers, 100 ms of work each: four concurrent requests cannot all finish in one
    // round; the last two wait for a worker, so the batch takes two rounds.
    let target = Target::start(Config {
        workers: 2,
        ..Config::default()
    })
    .expect("target");
    let started = Instant::now();
    let mut handles = Vec::new();
    for _ in 0..4 {
        let addr = target.addr();
        handles.push(tokio::spawn(async move {
            let mut client = Client::connect(addr).await;
            let reply = client.get("/health?work=100ms", &[]).await;
            (reply.status, started.elapsed())
        }));
    }
    let mut finished = Vec::new();
    for handle in handles {
        let (status, at) = handle.await.expect("join");
        assert_eq!(status, StatusCode::OK);
        finished.push(at);
    }
    finished.sort();
    assert!(finished[1] < Duration::from_millis(190), "{finished:?}");
    assert!(finished[3] >= Duration::from_millis(200), "{finished:?}");
}
