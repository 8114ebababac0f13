//! Streams held beside requests, against real loopback servers: paired users' end-to-end
//! latency through the demo target's fan-out delay, lost messages counted exactly as the
//! target drops them, and a stream the server closes counted as a disconnect and re-opened
//! with `Last-Event-ID`.

mod common;
mod net_common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use stampede_engine::Options;
use stampede_plan::{
    BaseUrl, Flow, Header, HttpBase, Load, Plan, Stream, StreamKind, Template, Think,
};
use stampede_target::{Config, Latency, Streams, Target};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const MS: fn(u64) -> Duration = Duration::from_millis;

fn template(text: &str) -> Template {
    // Tests write `{vu}`-style markers; the parser is not in the engine's reach, so build the
    // parts by hand.
    use stampede_plan::{Part, Var};
    let mut parts = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        parts.push(Part::Lit(rest[..start].to_owned()));
        let end = rest[start..].find('}').expect("closed") + start;
        parts.push(Part::Var(match &rest[start + 2..end] {
            "vu" => Var::Vu,
            "pair" => Var::Pair,
            "partner" => Var::Partner,
            "msg_id" => Var::MsgId,
            other => panic!("no variable {other}"),
        }));
        rest = &rest[end + 1..];
    }
    parts.push(Part::Lit(rest.to_owned()));
    parts.retain(|p| !matches!(p, Part::Lit(t) if t.is_empty()));
    Template::from_parts(parts)
}

fn key() -> Header {
    Header {
        name: "x-api-key".into(),
        value: Template::literal("demo-key"),
        secret: true,
    }
}

fn demo(streams: Streams) -> Target {
    Target::start(Config {
        streams,
        seed: Some(7),
        ..Config::default()
    })
    .expect("demo target")
}

/// `users` paired users, each following its own conversation `u-VU` and posting a message
/// with a `${msg_id}` to its partner's every 20 ms, after a first wait that lets every
/// stream open.
fn paired_plan(target: &Target, users: u32, hold: Duration) -> Plan {
    let mut wait = request("wait", "/health");
    wait.think = Think::Fixed(MS(200));
    wait.weight = 0;
    let mut post = request("post", "");
    post.method = "POST".into();
    post.path = template("/conversations/u-${partner}/messages");
    post.body = Some(template(r#"{"text":"hi","m":"${msg_id}"}"#));
    post.headers = vec![key()];
    post.think = Think::Fixed(MS(20));
    let mut step = step(Load::Closed { users }, hold);
    step.think = None;
    let mut plan = plan(vec![wait, post], vec![step]);
    plan.flows = vec![Flow {
        name: "talk".into(),
        weight: 1,
        steps: vec![0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
    }];
    plan.interval = MS(250);
    plan.grace = Duration::from_secs(3);
    plan.base_url = BaseUrl::Http(HttpBase {
        host: "127.0.0.1".into(),
        port: target.addr().port(),
        path_prefix: String::new(),
    });
    plan.streams = vec![Stream {
        name: "inbox".into(),
        kind: StreamKind::Sse,
        path: template("/stream?conversation=u-${vu}"),
        headers: vec![key()],
        hold: None,
        expect_within: Duration::from_secs(1),
        pairs: true,
        send: None,
    }];
    plan
}

fn target_options(target: &Target, threads: usize) -> Options {
    options(target.addr(), threads)
}

fn counter(metrics: &str, name: &str) -> u64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in /metrics"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn end_to_end_latency_reads_the_targets_fanout_delay() {
    let target = demo(Streams {
        fanout_delay: Latency::Fixed(MS(50)),
        ..Streams::default()
    });
    for threads in [1, 2] {
        let plan = paired_plan(&target, 4, MS(1500));
        let (_, rec) = run_recorded(&plan, &target_options(&target, threads)).await;
        let stats = rec.step_stats(0);
        let inbox = &stats.streams[0];
        let posted = stats.requests[1].succeeded;
        assert!(posted >= 40, "threads {threads}: {posted} posted");
        // Every message posted was expected (its partner's stream was open) but those a
        // flow sends after the step ended, when the partner may have closed its stream (one
        // per user at most); every message expected was seen in time.
        assert!(inbox.expected + 4 >= posted, "threads {threads}");
        assert_eq!(inbox.e2e.count(), inbox.expected, "threads {threads}");
        assert_eq!((inbox.lost, inbox.disconnects), (0, 0), "threads {threads}");
        let p50 = inbox.e2e.quantile_us(0.5);
        assert!(
            (50_000..=55_000).contains(&p50),
            "threads {threads}: p50 {p50} us"
        );
        assert_eq!(
            (inbox.opened, inbox.reconnects),
            (4, 0),
            "threads {threads}"
        );
        // Four users, each holding its inbox for the whole step, over every load thread.
        assert_eq!(rec.steps[0].stream_peaks, [4], "threads {threads}");
        assert_eq!(inbox.connect.count(), 4);
        assert_eq!(inbox.first_event.count(), 4);
        assert!(inbox.events >= inbox.expected && inbox.events <= posted);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_messages_are_exactly_the_deliveries_the_target_dropped() {
    let target = demo(Streams {
        drop_ratio: 0.25,
        ..Streams::default()
    });
    let plan = paired_plan(&target, 4, MS(1500));
    let (_, rec) = run_recorded(&plan, &target_options(&target, 2)).await;
    let stats = rec.step_stats(0);
    let inbox = &stats.streams[0];
    let dropped = counter(
        &net_common::metrics(&target).await,
        "stampede_target_deliveries_dropped_total",
    );
    let posted = stats.requests[1].succeeded;
    assert!(dropped > 0 && dropped < posted, "{dropped} of {posted}");
    assert_eq!(inbox.lost, dropped);
    assert_eq!(inbox.e2e.count() + inbox.lost, inbox.expected);
}

/// A server that answers each stream with one event, `id: N` for its N-th connection (or, when
/// `silent`, with its head alone), and closes it; it notes each stream request's
/// `Last-Event-ID`.
async fn closing_server(silent: bool) -> (std::net::SocketAddr, Arc<Mutex<Vec<Option<String>>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let log = log.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
                if !head.contains("accept: text/event-stream") {
                    let _ = socket
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                        .await;
                    return;
                }
                let last = head
                    .lines()
                    .find_map(|l| l.strip_prefix("last-event-id: "))
                    .map(str::to_owned);
                let n = {
                    let mut seen = log.lock().expect("lock");
                    seen.push(last);
                    seen.len()
                };
                let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n";
                let reply = if silent {
                    head.to_owned()
                } else {
                    format!("{head}retry: 20\n\nid: {n}\ndata: x\n\n")
                };
                let _ = socket.write_all(reply.as_bytes()).await;
            });
        }
    });
    (addr, seen)
}

/// The SSE stream of `closing_server`, held by one user for `hold`.
fn sse_plan(hold: Duration) -> Plan {
    let mut health = request("health", "/health");
    health.think = Think::Fixed(MS(100));
    let mut plan = plan(vec![health], vec![step(Load::Closed { users: 1 }, hold)]);
    plan.interval = MS(100);
    plan.streams = vec![Stream {
        name: "events".into(),
        kind: StreamKind::Sse,
        path: Template::literal("/events"),
        headers: vec![],
        hold: None,
        expect_within: Duration::from_secs(1),
        pairs: false,
        send: None,
    }];
    plan
}

#[tokio::test]
async fn a_stream_the_server_closes_is_a_disconnect_reopened_with_last_event_id() {
    let (addr, seen) = closing_server(false).await;
    let (_, rec) = run_recorded(&sse_plan(MS(400)), &options(addr, 1)).await;
    let stats = rec.step_stats(0);
    let events = &stats.streams[0];
    let seen = seen.lock().expect("lock").clone();
    // 400 ms at one reconnect per 20 ms `retry:`.
    assert!(seen.len() >= 5, "{seen:?}");
    assert_eq!(seen[0], None);
    for (n, last) in seen.iter().enumerate().skip(1) {
        assert_eq!(last.as_deref(), Some(n.to_string().as_str()), "{seen:?}");
    }
    // The step may end between the server reading the last request and its head arriving:
    // that attempt counts as a reconnect, not as an opened stream.
    let seen = seen.len() as u64;
    assert!(events.opened == seen || events.opened + 1 == seen, "{seen}");
    let attempts = events.reconnects + 1;
    assert!(attempts == events.opened || attempts == events.opened + 1);
    assert!(events.disconnects >= events.opened - 1);
    assert!(events.disconnects <= events.opened);
    assert!(events.events >= events.disconnects && events.events <= events.opened);
}

#[tokio::test]
async fn a_stream_closed_before_a_byte_is_not_reopened_in_a_tight_loop() {
    // Re-opened at once (no `retry:` came), this would be hundreds of connections in 400 ms.
    let (addr, seen) = closing_server(true).await;
    let (_, rec) = run_recorded(&sse_plan(MS(400)), &options(addr, 1)).await;
    let events = &rec.step_stats(0).streams[0];
    assert_eq!(seen.lock().expect("lock").len(), 1);
    assert_eq!((events.opened, events.disconnects), (1, 1), "{events:?}");
    assert_eq!((events.reconnects, events.events), (0, 0), "{events:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_held_for_a_while_reopens_counted_and_loses_nothing() {
    let target = demo(Streams::default());
    let mut plan = paired_plan(&target, 4, MS(1500));
    plan.streams[0].hold = Some(MS(150));
    let (_, rec) = run_recorded(&plan, &target_options(&target, 2)).await;
    let inbox = &rec.step_stats(0).streams[0];
    // About 1.3 s of 150 ms holds for each of four users.
    assert!(inbox.reconnects >= 4 * 6, "{inbox:?}");
    assert_eq!(inbox.disconnects, 0);
    assert!(inbox.expected >= 40, "{}", inbox.expected);
    assert_eq!((inbox.lost, inbox.e2e.count()), (0, inbox.expected));
}
