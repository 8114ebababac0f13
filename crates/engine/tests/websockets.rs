//! WebSocket streams against real loopback servers: every message sent with a correlation id
//! comes back as an echo whose round trip is counted (N sends, N echoes, as the demo target
//! counts them), over plain TCP and TLS; a WebSocket the server closes is a disconnect,
//! re-opened; one held for a while re-opens and loses no echo at the end of each hold.

mod common;
mod net_common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use common::*;
use futures_util::{SinkExt as _, StreamExt as _};
use stampede_plan::{
    BaseUrl, HttpBase, Load, Part, Plan, Stream, StreamKind, StreamSend, Template, Think, Var,
};
use stampede_target::Target;
use tokio::net::TcpListener;

const MS: fn(u64) -> Duration = Duration::from_millis;

/// `{"id":"${msg_id}","text":"hi"}`, built by hand: the parser is not in the engine's reach.
fn correlated_body() -> Template {
    Template::from_parts(vec![
        Part::Lit(r#"{"id":""#.into()),
        Part::Var(Var::MsgId),
        Part::Lit(r#"","text":"hi"}"#.into()),
    ])
}

/// `users` users, each holding a WebSocket on `/ws` that sends a correlated message every
/// 40 ms, beside a slow request loop, for `hold`.
fn ws_plan(port: u16, users: u32, hold: Duration) -> Plan {
    let mut health = request("health", "/health");
    health.think = Think::Fixed(MS(200));
    let mut plan = plan(vec![health], vec![step(Load::Closed { users }, hold)]);
    plan.interval = MS(250);
    plan.base_url = BaseUrl::Http(HttpBase {
        host: "127.0.0.1".into(),
        port,
        path_prefix: String::new(),
    });
    plan.streams = vec![Stream {
        name: "chat".into(),
        kind: StreamKind::WebSocket,
        path: Template::literal("/ws"),
        headers: vec![],
        hold: None,
        expect_within: Duration::from_secs(2),
        pairs: false,
        send: Some(StreamSend {
            every: MS(40),
            body: correlated_body(),
        }),
    }];
    plan
}

fn counter(metrics: &str, name: &str) -> u64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in /metrics"))
}

async fn round_trips_are_counted_exactly(target: &Target, tls: bool) {
    let mut plan = ws_plan(target.addr().port(), 3, MS(800));
    if tls {
        plan.tls = Some(net_common::trusting(target));
    }
    let (_, rec) = run_recorded(&plan, &net_common::net_options(&plan, target)).await;
    let stats = rec.step_stats(0);
    let chat = &stats.streams[0];
    let received = counter(
        &net_common::metrics(target).await,
        "stampede_target_ws_messages_received_total",
    );
    // Every message sent reached the target and came back as its echo, in time.
    assert!(chat.sent >= 3 * 5, "tls {tls}: {chat:?}");
    assert_eq!(chat.sent, received, "tls {tls}");
    assert_eq!(chat.rtt.count(), chat.sent, "tls {tls}");
    assert_eq!(chat.events, chat.sent, "tls {tls}");
    assert_eq!((chat.lost, chat.disconnects), (0, 0), "tls {tls}");
    assert_eq!((chat.opened, chat.reconnects), (3, 0), "tls {tls}");
    assert_eq!(chat.connect.count(), 3);
    assert_eq!(chat.first_event.count(), 3);
    assert_eq!(rec.steps[0].stream_peaks, [3], "tls {tls}");
    // The intervals carry the open gauge: all three held through the middle of the step.
    assert!(
        rec.intervals.iter().any(|i| i.streams_open == [3]),
        "tls {tls}"
    );
    assert!(rec.intervals.iter().all(|i| i.streams_open.len() == 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_message_sent_comes_back_as_a_counted_round_trip() {
    round_trips_are_counted_exactly(&net_common::target(false), false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wss_websocket_is_upgraded_over_tls() {
    round_trips_are_counted_exactly(&net_common::target(true), true).await;
}

/// A WebSocket server that echoes each connection's first message and then closes it; it
/// counts the connections it upgraded.
async fn closing_ws_server() -> (std::net::SocketAddr, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let upgraded = Arc::new(AtomicU64::new(0));
    let count = upgraded.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let count = count.clone();
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(socket).await else {
                    return;
                };
                count.fetch_add(1, Ordering::Relaxed);
                if let Some(Ok(message)) = ws.next().await {
                    let _ = ws.send(message).await;
                }
                let _ = ws.close(None).await;
            });
        }
    });
    (addr, upgraded)
}

#[tokio::test]
async fn a_websocket_the_server_closes_is_a_disconnect_reopened() {
    let (addr, upgraded) = closing_ws_server().await;
    let mut plan = ws_plan(addr.port(), 1, MS(300));
    plan.streams[0].send = Some(StreamSend {
        every: Duration::from_secs(10),
        body: correlated_body(),
    });
    let (_, rec) = run_recorded(&plan, &options(addr, 1)).await;
    let chat = &rec.step_stats(0).streams[0];
    let upgraded = upgraded.load(Ordering::Relaxed);
    assert!(chat.opened >= 2, "{chat:?}");
    // The step may end while an upgrade is under way: counted as a reconnect, not opened.
    assert!(upgraded == chat.opened || upgraded == chat.opened + 1);
    let attempts = chat.reconnects + 1;
    assert!(attempts == chat.opened || attempts == chat.opened + 1);
    assert!(chat.disconnects + 1 >= chat.opened && chat.disconnects <= chat.opened);
    // Each connection's one message came back before the server closed it.
    assert_eq!(chat.rtt.count(), chat.sent);
    assert_eq!(chat.lost, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_held_for_a_while_reopens_and_waits_for_its_echoes() {
    let target = net_common::target(false);
    let mut plan = ws_plan(target.addr().port(), 2, MS(800));
    plan.streams[0].hold = Some(MS(150));
    let (_, rec) = run_recorded(&plan, &net_common::net_options(&plan, &target)).await;
    let chat = &rec.step_stats(0).streams[0];
    // About 800 ms of 150 ms holds for each of two users, none ended by the server.
    assert!(chat.reconnects >= 2 * 3, "{chat:?}");
    assert_eq!(chat.disconnects, 0);
    // A hold's end stops the sending and waits for the echoes out: none is lost.
    assert_eq!((chat.lost, chat.rtt.count()), (0, chat.sent), "{chat:?}");
}
