//! Starting, counting and shutting down.

use std::time::{Duration, Instant};

use stampede_target::{Config, Error, Target};
use tokio::net::TcpStream;

use crate::client::{Client, target};

#[tokio::test]
async fn shutdown_is_prompt_and_the_port_stops_accepting() {
    let target = Target::start(Config {
        threads: 2,
        ..Config::default()
    })
    .expect("starts");
    let addr = target.addr();
    assert!(addr.ip().is_loopback());
    assert_ne!(addr.port(), 0);
    // An open keep-alive connection must not hold shutdown up.
    let mut client = Client::connect(addr).await;
    client.get("/health", &[]).await;

    let started = Instant::now();
    target.shutdown();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "still accepting on {addr}"
    );
}

#[tokio::test]
async fn requests_served_counts_every_routed_request() {
    let target = target();
    let mut client = Client::connect(target.addr()).await;
    client.get("/health", &[]).await;
    client.get("/nope", &[]).await;
    let _ = client.send("GET", "/health?close=1", &[], "").await;
    assert_eq!(target.requests_served(), 3);
}

#[test]
fn a_taken_port_is_a_bind_error() {
    let first = target();
    let err = Target::start_on(first.addr(), Config::default()).expect_err("the port is taken");
    assert!(
        matches!(err, Error::Bind { addr, .. } if addr == first.addr()),
        "{err:?}"
    );
    assert!(
        err.to_string().starts_with("cannot listen on 127.0.0.1:"),
        "{err}"
    );
}

#[test]
fn dropping_the_target_shuts_it_down() {
    let addr = {
        let target = target();
        target.addr()
    };
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "still accepting on {addr}"
    );
}

#[tokio::test]
async fn a_failed_start_inside_a_runtime_is_an_error_not_a_panic() {
    let first = target();
    assert!(Target::start_on(first.addr(), Config::default()).is_err());
    // Starting and dropping a target from async code must not drop a runtime here.
    drop(target());
}

#[test]
fn the_target_can_be_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Target>();
    assert_send_sync::<Error>();
}
