//! Closed model against real loopback servers: counts agree with the server, failures are data.

mod common;

use std::time::Duration;

use common::*;
use stampede_metrics::Outcome;
use stampede_plan::Load;
use tokio::io::AsyncWriteExt;

#[tokio::test]
async fn bounded_run_reports_exactly_what_the_server_served() {
    let server = counting_server(Duration::ZERO, 200).await;
    let mut step = step(Load::Closed { users: 5 }, Duration::from_secs(30));
    step.iterations_per_user = Some(40);
    let plan = plan(vec![request("a", "/a"), request("b", "/b")], vec![step]);
    let (outcome, rec) = run_recorded(&plan, &options(server.addr, 2)).await;
    assert_eq!(outcome, stampede_metrics::RunEnding::Completed);
    assert!(rec.run_ended);
    let total = rec.step_stats(0).aggregate();
    assert_eq!(total.requests(), 200);
    assert_eq!(server.served(), 200);
    assert_eq!(total.outcomes.get(Outcome::Status2xx), 200);
    assert_eq!(total.failed, 0);
    assert_eq!(total.latency.count(), 200);
    assert_eq!(rec.step_stats(0).iterations, 200);
    // Intervals add up to the step: nothing lost or counted twice between shards.
    let from_intervals: u64 = rec
        .intervals
        .iter()
        .map(|i| i.stats.aggregate().requests())
        .sum();
    assert_eq!(from_intervals, 200);
}

#[tokio::test]
async fn a_closed_port_is_counted_as_refused() {
    // Bind then drop, so the port is very likely closed.
    let addr = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr")
    };
    let mut step = step(Load::Closed { users: 2 }, Duration::from_secs(10));
    step.iterations_per_user = Some(5);
    let plan = plan(vec![request("a", "/")], vec![step]);
    let (_, rec) = run_recorded(&plan, &options(addr, 1)).await;
    let total = rec.step_stats(0).aggregate();
    assert_eq!(total.outcomes.get(Outcome::Refused), 10);
    assert_eq!(total.failed, 10);
}

/// A server that reads the request and then closes the socket without a word.
async fn closing_server() -> std::net::SocketAddr {
    raw_server(|stream: tokio::net::TcpStream| async move {
        // SO_LINGER 0 turns the close into a TCP reset. (Deprecated because a non-zero
        // linger blocks on drop; zero never does.)
        #[allow(deprecated)]
        let _ = stream.set_linger(Some(Duration::ZERO));
        drop(stream);
    })
    .await
}

#[tokio::test]
async fn a_server_that_resets_gives_reset_outcomes_and_reconnects() {
    let addr = closing_server().await;
    let mut step = step(Load::Closed { users: 1 }, Duration::from_secs(10));
    step.iterations_per_user = Some(4);
    let plan = plan(vec![request("a", "/")], vec![step]);
    let (_, rec) = run_recorded(&plan, &options(addr, 1)).await;
    let stats = &rec.step_stats(0);
    let total = stats.aggregate();
    assert_eq!(
        total.outcomes.get(Outcome::Reset),
        4,
        "{:?}",
        total.outcomes
    );
    assert_eq!(stats.reconnects, 3);
}

/// A server that answers with bytes that are not HTTP.
#[tokio::test]
async fn garbage_instead_of_http_is_other() {
    let addr = raw_server(|mut stream: tokio::net::TcpStream| async move {
        let _ = stream.write_all(b"SSH-2.0-OpenSSH_9.6\r\n\r\n").await;
    })
    .await;
    let mut step = step(Load::Closed { users: 1 }, Duration::from_secs(10));
    step.iterations_per_user = Some(3);
    let plan = plan(vec![request("a", "/")], vec![step]);
    let (_, rec) = run_recorded(&plan, &options(addr, 1)).await;
    let total = rec.step_stats(0).aggregate();
    assert_eq!(
        total.outcomes.get(Outcome::Other),
        3,
        "{:?}",
        total.outcomes
    );
}

#[tokio::test]
async fn unexpected_statuses_fail_and_are_tallied() {
    let server = counting_server(Duration::ZERO, 503).await;
    let mut step = step(Load::Closed { users: 1 }, Duration::from_secs(10));
    step.iterations_per_user = Some(7);
    let plan = plan(vec![request("a", "/")], vec![step]);
    let (_, rec) = run_recorded(&plan, &options(server.addr, 1)).await;
    let total = rec.step_stats(0).aggregate();
    assert_eq!(total.outcomes.get(Outcome::Status5xx), 7);
    assert_eq!(total.failed, 7);
    assert_eq!(
        total.failures.iter().collect::<Vec<_>>(),
        vec![(stampede_metrics::FailureKey::Status(503), 7)]
    );
}

#[tokio::test]
async fn a_slow_loris_response_times_out() {
    // Headers at once, then one body byte every 100 ms of a body that never completes in time.
    let addr = raw_server(|mut stream: tokio::net::TcpStream| async move {
        let _ = stream
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n")
            .await;
        for _ in 0..100 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if stream.write_all(b"x").await.is_err() {
                return;
            }
        }
    })
    .await;
    let mut req = request("a", "/");
    req.timeout = Duration::from_millis(300);
    let mut step = step(Load::Closed { users: 2 }, Duration::from_secs(10));
    step.iterations_per_user = Some(2);
    let plan = plan(vec![req], vec![step]);
    let (_, rec) = run_recorded(&plan, &options(addr, 1)).await;
    let total = rec.step_stats(0).aggregate();
    assert_eq!(
        total.outcomes.get(Outcome::Timeout),
        4,
        "{:?}",
        total.outcomes
    );
    // Timed-out requests are measured at their timeout, not dropped from the percentiles.
    assert!(total.latency.quantile_us(0.5) >= 300_000);
}

#[tokio::test]
async fn a_429_storm_is_rate_limited_with_retry_after_seen() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let service = hyper::service::service_fn(|_req| async {
                    let response = hyper::Response::builder()
                        .status(429)
                        .header("retry-after", "1")
                        .body(http_body_util::Full::new(bytes::Bytes::from_static(
                            b"slow down",
                        )))
                        .expect("response");
                    Ok::<_, std::convert::Infallible>(response)
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    let mut step = step(Load::Closed { users: 3 }, Duration::from_secs(10));
    step.iterations_per_user = Some(10);
    let plan = plan(vec![request("a", "/")], vec![step]);
    let (_, rec) = run_recorded(&plan, &options(addr, 1)).await;
    let stats = &rec.step_stats(0);
    let total = stats.aggregate();
    assert_eq!(total.outcomes.get(Outcome::RateLimited), 30);
    assert_eq!(total.retry_after_seen, 30);
    assert_eq!(total.failed, 30);
    // Keep-alive held: the 429s came over the same three connections.
    assert_eq!(stats.reconnects, 0);
}
