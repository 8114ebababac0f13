//! Server-sent events and conversations: delivery, heartbeats, resume with `Last-Event-ID`,
//! `close_after`, the fan-out knobs (drop, delay), slow consumers and the cap on streams.

use std::time::{Duration, Instant};

use http::StatusCode;
use serde_json::json;
use stampede_target::{Config, Latency, Streams, Target};

use crate::client::{Client, KEY, api_key};
use crate::metrics::sample;
use crate::sse_client::{EventReader, Item};

fn target_with(streams: Streams) -> Target {
    Target::start(Config {
        streams,
        seed: Some(7),
        ..Config::default()
    })
    .expect("starts")
}

fn key() -> [(&'static str, &'static str); 1] {
    api_key()
}

/// Posts `body` to `conversation` and returns the message id.
async fn post(client: &mut Client, conversation: &str, body: &str) -> u64 {
    let path = format!("/conversations/{conversation}/messages");
    let reply = client.post(&path, &key(), body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    reply.json()["id"].as_u64().expect("a numeric id")
}

async fn metric(client: &mut Client, series: &str) -> f64 {
    let reply = client.get("/metrics", &[]).await;
    sample(reply.text(), series)
}

#[tokio::test]
async fn a_message_reaches_every_subscribed_stream_and_no_other() {
    let target = target_with(Streams::default());
    let addr = target.addr();
    let mut first = EventReader::open(addr, "/stream?conversation=room", &key()).await;
    let bearer = format!("Bearer {KEY}");
    let auth = [("authorization", bearer.as_str())];
    let mut second = EventReader::open(addr, "/stream?conversation=other,room", &auth).await;
    let mut elsewhere = EventReader::open(addr, "/stream?conversation=other", &key()).await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.headers["content-type"], "text/event-stream");

    let mut client = Client::connect(addr).await;
    let before_us = unix_micros();
    let reply = client
        .post(
            "/conversations/room/messages",
            &key(),
            r#"{"cid":"c-1","text":"hi"}"#,
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let posted = reply.json();
    let id = posted["id"].as_u64().expect("an id");
    let server_ts_us = posted["server_ts_us"].as_u64().expect("a timestamp");
    assert!(server_ts_us >= before_us && server_ts_us <= unix_micros());

    let expected = json!({
        "id": id,
        "conversation": "room",
        "server_ts_us": server_ts_us,
        "body": { "cid": "c-1", "text": "hi" },
    });
    for reader in [&mut first, &mut second] {
        let event = reader.next_event().await;
        assert_eq!(event.id(), id);
        assert_eq!(event.event.as_deref(), Some("message"));
        assert_eq!(event.json(), expected);
    }
    // The unsubscribed stream's next event is a later message to its own conversation.
    let later = post(&mut client, "other", r#"{"n":2}"#).await;
    assert_eq!(elsewhere.next_event().await.id(), later);
    assert_eq!(second.next_event().await.id(), later);
    assert_eq!(
        metric(&mut client, "stampede_target_messages_posted_total").await,
        2.0
    );
    assert_eq!(
        metric(&mut client, "stampede_target_sse_streams_open").await,
        3.0
    );
}

#[tokio::test]
async fn heartbeats_arrive_on_an_idle_stream() {
    let target = target_with(Streams {
        heartbeat: Duration::from_millis(20),
        ..Streams::default()
    });
    let mut stream = EventReader::open(target.addr(), "/stream", &key()).await;
    for _ in 0..2 {
        assert_eq!(stream.next().await, Item::Comment("heartbeat".into()));
    }
}

#[tokio::test]
async fn close_after_ends_the_stream_and_last_event_id_replays_the_rest() {
    let target = target_with(Streams::default());
    let addr = target.addr();
    let mut client = Client::connect(addr).await;
    let mut stream = EventReader::open(addr, "/stream?conversation=r&close_after=2", &key()).await;
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(post(&mut client, "r", &format!(r#"{{"n":{n}}}"#)).await);
    }
    assert_eq!(stream.next_event().await.id(), ids[0]);
    let last_seen = stream.next_event().await.id();
    assert_eq!(last_seen, ids[1]);
    assert_eq!(stream.next().await, Item::End, "closed after two events");

    let last = last_seen.to_string();
    let headers = [key()[0], ("last-event-id", last.as_str())];
    let mut resumed = EventReader::open(addr, "/stream?conversation=r", &headers).await;
    for &id in &ids[2..] {
        assert_eq!(resumed.next_event().await.id(), id, "replayed in order");
    }
    let live = post(&mut client, "r", "{}").await;
    assert_eq!(
        resumed.next_event().await.id(),
        live,
        "then live, nothing twice"
    );
    let replayed = "stampede_target_deliveries_replayed_total";
    assert_eq!(metric(&mut client, replayed).await, 3.0);
}

#[tokio::test]
async fn a_last_event_id_older_than_the_ring_is_a_reset() {
    let target = target_with(Streams {
        replay: 2,
        ..Streams::default()
    });
    let addr = target.addr();
    let mut client = Client::connect(addr).await;
    let mut ids = Vec::new();
    for _ in 0..4 {
        ids.push(post(&mut client, "r", "{}").await);
    }
    let first = ids[0].to_string();
    let headers = [key()[0], ("last-event-id", first.as_str())];
    let mut stream = EventReader::open(addr, "/stream?conversation=r", &headers).await;
    let reset = stream.next_event().await;
    assert_eq!(reset.event.as_deref(), Some("reset"));
    assert_eq!(reset.id(), ids[3], "the reset says where the stream stands");
    assert_eq!(reset.json()["last_event_id"], ids[0]);
    let live = post(&mut client, "r", "{}").await;
    assert_eq!(
        stream.next_event().await.id(),
        live,
        "no replay after a reset"
    );
}

#[tokio::test]
async fn a_drop_ratio_of_one_delivers_nothing_and_counts_every_drop() {
    let target = target_with(Streams {
        drop_ratio: 1.0,
        ..Streams::default()
    });
    let addr = target.addr();
    let _stream = EventReader::open(addr, "/stream?conversation=r", &key()).await;
    let mut client = Client::connect(addr).await;
    for _ in 0..5 {
        post(&mut client, "r", "{}").await;
    }
    // Each delivery is dropped or queued when the message is posted, so the counters are
    // final once the posts are answered.
    assert_eq!(
        metric(&mut client, "stampede_target_deliveries_dropped_total").await,
        5.0
    );
    assert_eq!(
        metric(&mut client, "stampede_target_deliveries_sent_total").await,
        0.0
    );
}

#[tokio::test]
async fn a_drop_ratio_of_a_half_drops_about_half() {
    const MESSAGES: u64 = 200;
    let target = target_with(Streams {
        drop_ratio: 0.5,
        ..Streams::default()
    });
    let addr = target.addr();
    let mut stream = EventReader::open(addr, "/stream?conversation=r", &key()).await;
    let mut client = Client::connect(addr).await;
    for _ in 0..MESSAGES {
        post(&mut client, "r", "{}").await;
    }
    let dropped = metric(&mut client, "stampede_target_deliveries_dropped_total").await as u64;
    assert!((60..=140).contains(&dropped), "{dropped} of {MESSAGES}");
    // Everything not dropped arrives, in order.
    let mut previous = 0;
    for _ in 0..MESSAGES - dropped {
        let id = stream.next_event().await.id();
        assert!(id > previous, "{id} after {previous}");
        previous = id;
    }
}

#[tokio::test]
async fn the_fanout_delay_holds_each_delivery() {
    let delay = Duration::from_millis(50);
    let target = target_with(Streams {
        fanout_delay: Latency::Fixed(delay),
        ..Streams::default()
    });
    let addr = target.addr();
    let mut stream = EventReader::open(addr, "/stream?conversation=r", &key()).await;
    let mut client = Client::connect(addr).await;
    let started = Instant::now();
    let id = post(&mut client, "r", "{}").await;
    assert_eq!(stream.next_event().await.id(), id);
    assert!(started.elapsed() >= delay, "{:?}", started.elapsed());
}

#[tokio::test]
async fn streams_and_posts_need_credentials_and_valid_ids() {
    let target = target_with(Streams::default());
    let mut client = Client::connect(target.addr()).await;
    assert_eq!(
        client.get("/stream", &[]).await.status,
        StatusCode::UNAUTHORIZED
    );
    let reply = client.post("/conversations/r/messages", &[], "{}").await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    let reply = client
        .post("/conversations/a%20b/messages", &key(), "{}")
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let reply = client
        .post("/conversations/r/messages", &key(), "[1]")
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let reply = client.get("/stream?close_after=x", &key()).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let headers = [key()[0], ("last-event-id", "later")];
    assert_eq!(
        client.get("/stream", &headers).await.status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn streams_past_the_cap_are_503() {
    let target = target_with(Streams {
        max_open: 1,
        ..Streams::default()
    });
    let addr = target.addr();
    let open = EventReader::open(addr, "/stream", &key()).await;
    assert_eq!(open.status, StatusCode::OK);
    let mut client = Client::connect(addr).await;
    let refused = client.get("/stream", &key()).await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(refused.json()["error"].is_string());
}

fn unix_micros() -> u64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970");
    u64::try_from(since.as_micros()).expect("fits")
}

#[tokio::test]
async fn a_stream_that_stops_reading_is_cut_off_and_counted() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // One worker thread: the metrics read after the hang-up is served only once the
    // connection (and its stream) has been dropped.
    let target = Target::start(Config {
        threads: 1,
        streams: Streams {
            buffer: 4,
            ..Streams::default()
        },
        ..Config::default()
    })
    .expect("starts");
    let addr = target.addr();
    // A small receive window, and no reads past the response head: the target's writes
    // back up, then its queue for this stream fills.
    let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
    socket.set_recv_buffer_size(4096).expect("a small buffer");
    let mut slow = socket.connect(addr).await.expect("connects");
    let request = format!(
        "GET /stream?conversation=slow HTTP/1.1\r\nhost: target\r\nx-api-key: {KEY}\r\n\r\n"
    );
    slow.write_all(request.as_bytes()).await.expect("writes");
    let mut head = Vec::new();
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        assert_eq!(slow.read(&mut byte).await.expect("reads the head"), 1);
        head.push(byte[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&head)
    );

    let mut client = Client::connect(addr).await;
    let body = format!(r#"{{"pad":"{}"}}"#, "x".repeat(32 * 1024));
    let series = r#"stampede_target_slow_consumers_dropped_total{kind="sse"}"#;
    // Loopback buffers hold a few MiB; 1,000 messages of 32 KiB is far past them.
    let mut cut_off = false;
    for _batch in 0..125 {
        for _ in 0..8 {
            post(&mut client, "slow", &body).await;
        }
        if metric(&mut client, series).await >= 1.0 {
            cut_off = true;
            break;
        }
    }
    assert!(cut_off, "the slow stream was never cut off");
    assert_eq!(metric(&mut client, series).await, 1.0);

    // The target hangs up: the socket reaches its end once what was in flight is read.
    let mut sink = vec![0u8; 64 * 1024];
    let drained = tokio::time::timeout(crate::sse_client::STREAM_GUARD, async {
        loop {
            match slow.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(_) => continue,
            }
        }
    })
    .await;
    assert!(drained.is_ok(), "the connection stayed open");
    assert_eq!(
        metric(&mut client, "stampede_target_sse_streams_open").await,
        0.0
    );
    // The next message finds no subscriber: nothing queued, nothing more cut off.
    post(&mut client, "slow", "{}").await;
    assert_eq!(metric(&mut client, series).await, 1.0);
}

#[tokio::test]
async fn streams_work_over_http2_too() {
    use bytes::Bytes;
    use http_body_util::{BodyExt, Empty};
    use hyper::client::conn::http2;
    use hyper_util::rt::{TokioExecutor, TokioIo};

    let target = target_with(Streams::default());
    let addr = target.addr();
    let tcp = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connects");
    let (mut sender, connection) = http2::handshake(TokioExecutor::new(), TokioIo::new(tcp))
        .await
        .expect("an h2c connection");
    tokio::spawn(connection);
    let request = http::Request::get(format!("http://{addr}/stream?conversation=h2"))
        .header("x-api-key", KEY)
        .body(Empty::<Bytes>::new())
        .expect("a request");
    let response = sender.send_request(request).await.expect("a response");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.version(), http::Version::HTTP_2);
    let mut body = response.into_body();

    let mut client = Client::connect(addr).await;
    let id = post(&mut client, "h2", r#"{"over":"h2"}"#).await;
    // The position block (`id: 0`, nothing posted before the stream opened), then the event.
    let mut text = String::new();
    while !text.contains("event: message") || !text.ends_with("\n\n") {
        let frame = tokio::time::timeout(crate::sse_client::STREAM_GUARD, body.frame())
            .await
            .expect("an event before the guard")
            .expect("the stream is open")
            .expect("a frame");
        if let Some(data) = frame.data_ref() {
            text.push_str(std::str::from_utf8(data).expect("UTF-8"));
        }
    }
    assert!(
        text.starts_with(&format!("id: 0\n\nid: {id}\nevent: message\n")),
        "{text}"
    );
}

/// A stream opened without `Last-Event-ID` first gets the newest id alone (no event), so a
/// client that re-opens before any message reached it resumes from there, and a message
/// posted while it was away is replayed instead of lost.
#[tokio::test]
async fn a_fresh_stream_learns_where_to_resume_without_an_event() {
    let target = target_with(Streams {
        heartbeat: Duration::from_millis(20),
        ..Streams::default()
    });
    let addr = target.addr();
    let mut client = Client::connect(addr).await;
    let before = post(&mut client, "elsewhere", r#"{"n":0}"#).await;
    let mut first = EventReader::open(addr, "/stream?conversation=g", &key()).await;
    // The heartbeat comes after the position, and no event is dispatched for it.
    assert_eq!(first.next().await, Item::Comment("heartbeat".into()));
    assert_eq!(first.last_id.as_deref(), Some(before.to_string().as_str()));
    drop(first);

    let missed = post(&mut client, "g", r#"{"n":1}"#).await;
    let resume = before.to_string();
    let headers = [key()[0], ("last-event-id", resume.as_str())];
    let mut again = EventReader::open(addr, "/stream?conversation=g", &headers).await;
    assert_eq!(again.next_event().await.id(), missed, "replayed, not lost");
}
