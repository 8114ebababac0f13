//! Test fixtures: plans built in code and small hyper servers on 127.0.0.1:0 that count what
//! they serve, so a test can compare the server's count with the engine's.

#![allow(dead_code)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use stampede_engine::{Connector, Options};
use stampede_metrics::{Event, IntervalSnapshot, StatsSet, StepEnd, StepInfo};
use stampede_plan::{BaseUrl, Kind, Load, Plan, Request, StatusSet, Step, Template, Think};
use tokio::net::TcpListener;

pub fn request(name: &str, path: &str) -> Request {
    Request {
        name: name.into(),
        method: "GET".into(),
        path: Template::literal(path),
        query: vec![],
        headers: vec![],
        body: None,
        weight: 1,
        think: Think::None,
        timeout: Duration::from_secs(5),
        expect: StatusSet::success(),
        checks: vec![],
        captures: vec![],
        sign: None,
    }
}

pub fn step(load: Load, hold: Duration) -> Step {
    Step {
        label: "step".into(),
        load,
        ramp: Duration::ZERO,
        ramp_from: 0,
        ramp_down: Duration::ZERO,
        warmup: Duration::ZERO,
        hold,
        cooldown: Duration::ZERO,
        think: None,
        iterations_per_user: None,
    }
}

pub fn plan(requests: Vec<Request>, steps: Vec<Step>) -> Plan {
    Plan {
        name: "test".into(),
        kind: Kind::Smoke,
        description: String::new(),
        base_url: BaseUrl::Builtin,
        requests,
        flows: vec![],
        setup: vec![],
        steps,
        captures: vec![],
        interval: Duration::from_secs(1),
        grace: Duration::from_secs(2),
        connect_timeout: Duration::from_secs(2),
        thresholds: vec![],
        ceiling_factor: 0.8,
        ..Plan::default()
    }
}

pub fn options(addr: SocketAddr, threads: usize) -> Options {
    Options {
        connector: Connector::Tcp(addr),
        authority: addr.to_string(),
        path_prefix: String::new(),
        base_url: format!("http://{addr}"),
        threads,
        http_debug: None,
        segment: stampede_engine::Share::WHOLE,
        start_at: None,
    }
}

/// Everything a run emitted, owned.
#[derive(Default)]
pub struct Recorded {
    pub steps_started: Vec<StepInfo>,
    pub intervals: Vec<IntervalSnapshot>,
    pub steps: Vec<StepEnd>,
    pub run_ended: bool,
    /// The setup requests' statistics, from `RunEnded`.
    pub setup: Option<StatsSet>,
}

impl Recorded {
    pub fn record(&mut self, event: &Event<'_>) {
        match event {
            Event::StepStarted(info) => self.steps_started.push((*info).clone()),
            Event::Interval(snapshot) => self.intervals.push((*snapshot).clone()),
            Event::StepEnded(end) => self.steps.push((*end).clone()),
            Event::RunEnded(end) => {
                self.run_ended = true;
                self.setup = Some(end.setup.clone());
            }
            Event::RunStarted(_) | Event::Alert(_) => {}
        }
    }

    /// A step's figures: the sum of its measured (post-warm-up) intervals, as every listener
    /// computes them.
    pub fn step_stats(&self, step: usize) -> StatsSet {
        let mut total = StatsSet::default();
        for interval in self
            .intervals
            .iter()
            .filter(|i| i.step == step && !i.warmup)
        {
            total.add(&interval.stats);
        }
        total
    }

    /// Everything a step measured, warm-up included: where every arrival of the step ends.
    pub fn step_all(&self, step: usize) -> StatsSet {
        let mut total = StatsSet::default();
        for interval in self.intervals.iter().filter(|i| i.step == step) {
            total.add(&interval.stats);
        }
        total
    }

    /// A step's warm-up intervals only.
    pub fn step_warmup(&self, step: usize) -> StatsSet {
        let mut total = StatsSet::default();
        for interval in self.intervals.iter().filter(|i| i.step == step && i.warmup) {
            total.add(&interval.stats);
        }
        total
    }
}

/// Serves every connection accepted on `listener` over HTTP/1.1 until the test ends, answering
/// each request with what `respond` returns (the request itself is never needed here).
fn serve<F, Fut>(listener: TcpListener, respond: F)
where
    F: Fn() -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = hyper::Response<Full<Bytes>>> + Send + 'static,
{
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let respond = respond.clone();
            tokio::spawn(async move {
                let service = service_fn(move |_req| {
                    let answer = respond();
                    async move { Ok::<_, Infallible>(answer.await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
}

fn ok() -> hyper::Response<Full<Bytes>> {
    hyper::Response::new(Full::new(Bytes::from_static(b"ok")))
}

/// A server that answers 200 "ok" (after `delay`), counting requests.
pub struct CountingServer {
    pub addr: SocketAddr,
    pub served: Arc<AtomicU64>,
}

impl CountingServer {
    pub fn served(&self) -> u64 {
        self.served.load(Ordering::SeqCst)
    }
}

pub async fn counting_server(delay: Duration, status: u16) -> CountingServer {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    let served = Arc::new(AtomicU64::new(0));
    let counter = served.clone();
    serve(listener, move || {
        let counter = counter.clone();
        async move {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            counter.fetch_add(1, Ordering::SeqCst);
            let mut response = ok();
            *response.status_mut() = hyper::StatusCode::from_u16(status).expect("status");
            response
        }
    });
    CountingServer { addr, served }
}

/// A server for the in-memory connector: each connection is one side of a duplex pipe, served
/// by hyper on the current runtime, so a test can run under tokio's paused clock.
pub fn memory_connector(served: Arc<AtomicU64>) -> Connector {
    Connector::Memory(Arc::new(move || {
        let (client, server) = tokio::io::duplex(64 * 1024);
        let counter = served.clone();
        tokio::spawn(async move {
            let service = service_fn(move |_req| {
                let counter = counter.clone();
                async move {
                    counter.fetch_add(1, Ordering::SeqCst);
                    Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from_static(b"ok"))))
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(server), service)
                .await;
        });
        client
    }))
}

pub fn memory_options(connector: Connector) -> Options {
    Options {
        connector,
        authority: "memory".into(),
        path_prefix: String::new(),
        base_url: "memory".into(),
        threads: 0,
        http_debug: None,
        segment: stampede_engine::Share::WHOLE,
        start_at: None,
    }
}

/// A server that answers at once, except that every request arriving in `[from, to)` after
/// its start is held until `to`: the whole server stalls for a while, as in a GC pause.
pub async fn stalling_server(from: Duration, to: Duration) -> CountingServer {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    let served = Arc::new(AtomicU64::new(0));
    let counter = served.clone();
    let start = tokio::time::Instant::now();
    serve(listener, move || {
        let counter = counter.clone();
        async move {
            let now = start.elapsed();
            if now >= from && now < to {
                tokio::time::sleep_until(start + to).await;
            }
            counter.fetch_add(1, Ordering::SeqCst);
            ok()
        }
    });
    CountingServer { addr, served }
}

/// A blocking server, one OS thread per connection, that answers every request exactly `delay`
/// after reading it. `std::thread::sleep` uses high-resolution timers, so the delay is precise
/// to tens of microseconds, unlike a tokio timer's millisecond wheel: a test of the engine's
/// measurement then measures the engine, not the fixture.
pub fn precise_delay_server(delay: Duration) -> SocketAddr {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            std::thread::spawn(move || {
                let _ = stream.set_nodelay(true);
                let mut writer = stream.try_clone().expect("clone stream");
                let mut reader = BufReader::new(stream);
                let mut line = String::new();
                loop {
                    // Read one request head (GET, no body) up to the blank line.
                    let mut got_request = false;
                    loop {
                        line.clear();
                        match reader.read_line(&mut line) {
                            Ok(0) | Err(_) => return,
                            Ok(_) if line == "\r\n" => break,
                            Ok(_) => got_request = true,
                        }
                    }
                    if !got_request {
                        return;
                    }
                    std::thread::sleep(delay);
                    let reply = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
                    if writer.write_all(reply).is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

/// A server that answers at once and notes when each request arrived, to check how evenly a
/// schedule spreads them.
pub struct ArrivalServer {
    pub addr: SocketAddr,
    pub arrivals: Arc<std::sync::Mutex<Vec<tokio::time::Instant>>>,
}

pub async fn arrival_server() -> ArrivalServer {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    let arrivals = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = arrivals.clone();
    serve(listener, move || {
        log.lock()
            .expect("arrivals")
            .push(tokio::time::Instant::now());
        async { ok() }
    });
    ArrivalServer { addr, arrivals }
}

/// Runs `plan` to its end with no stop signal, recording every event.
pub async fn run_recorded(
    plan: &Plan,
    options: &Options,
) -> (stampede_metrics::RunEnding, Recorded) {
    let (_stop_tx, stop) = tokio::sync::watch::channel(None);
    let mut rec = Recorded::default();
    let outcome = stampede_engine::run(plan, options, stop, |e| rec.record(e))
        .await
        .expect("run");
    (outcome, rec)
}

/// A raw TCP server on 127.0.0.1:0: each connection's first read (the request) is taken, then
/// `misbehave` does what the test needs with the socket (reset it, send garbage, trickle).
pub async fn raw_server<F, Fut>(misbehave: F) -> SocketAddr
where
    F: Fn(tokio::net::TcpStream) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    use tokio::io::AsyncReadExt;
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let misbehave = misbehave.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                let _ = stream.read(&mut buf).await;
                misbehave(stream).await;
            });
        }
    });
    addr
}

/// A server on 127.0.0.1:0 that accepts, reads the request and never answers.
pub async fn hung_server() -> SocketAddr {
    raw_server(|stream: tokio::net::TcpStream| async move {
        // Hold the socket open far longer than any test runs.
        tokio::time::sleep(Duration::from_secs(3600)).await;
        drop(stream);
    })
    .await
}

/// An in-memory server that reads every request and never answers, for the paused clock.
pub fn hung_memory_connector() -> Connector {
    use tokio::io::AsyncReadExt;
    Connector::Memory(Arc::new(|| {
        let (client, mut server) = tokio::io::duplex(64 * 1024);
        tokio::spawn(async move {
            let mut buf = [0u8; 1024];
            while matches!(server.read(&mut buf).await, Ok(n) if n > 0) {}
        });
        client
    }))
}

/// Runs `plan` with a stop sent `after` its start (by the clock the test runs on).
pub async fn run_stopped_after(
    plan: &Plan,
    options: &Options,
    after: Duration,
) -> (stampede_metrics::RunEnding, Recorded) {
    let (tx, stop) = tokio::sync::watch::channel(None);
    tokio::spawn(async move {
        tokio::time::sleep(after).await;
        let _ = tx.send(Some(stampede_engine::StopReason::Interrupted));
        // Keep the sender alive: a dropped one is not a stop.
        tokio::time::sleep(Duration::from_secs(100 * 365 * 24 * 3600)).await;
    });
    let mut rec = Recorded::default();
    let outcome = stampede_engine::run(plan, options, stop, |e| rec.record(e))
        .await
        .expect("run");
    (outcome, rec)
}

/// Asserts that every arrival of every step of an open-model run is accounted for.
pub fn assert_nothing_lost(rec: &Recorded) {
    for step in 0..rec.steps.len() {
        let all = rec.step_all(step);
        assert_eq!(
            all.scheduled,
            all.iterations + all.abandoned + all.dropped,
            "step {step}: scheduled {} != completed {} + abandoned {} + dropped {}",
            all.scheduled,
            all.iterations,
            all.abandoned,
            all.dropped
        );
    }
}
