//! A small server-sent events reader over one HTTP/1.1 connection, enough to follow
//! `GET /stream`: it yields events and comments as they arrive and says how the stream ended.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Longest a test waits for the next item of a stream; reached only when the target
/// misbehaves, so a broken stream fails the test instead of hanging it.
pub const STREAM_GUARD: Duration = Duration::from_secs(10);

/// One parsed server-sent event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub id: Option<String>,
    pub event: Option<String>,
    pub data: String,
}

impl Event {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.data).expect("the data is JSON")
    }

    pub fn id(&self) -> u64 {
        self.id
            .as_deref()
            .and_then(|id| id.parse().ok())
            .expect("a numeric id")
    }
}

/// What the stream gave next.
#[derive(Debug, PartialEq, Eq)]
pub enum Item {
    Event(Event),
    /// A comment line, without its leading `:` and space (`heartbeat`).
    Comment(String),
    /// The body ended cleanly.
    End,
    /// The body was cut off (an error while reading it).
    Broken,
}

/// An open event stream.
pub struct EventReader {
    body: Incoming,
    buffered: String,
    pub status: StatusCode,
    pub headers: HeaderMap,
    /// The last `id:` seen, as a browser keeps it, including from a block with no data.
    pub last_id: Option<String>,
}

impl EventReader {
    /// Opens `path` on a fresh connection with `headers`.
    pub async fn open(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> EventReader {
        let stream = TcpStream::connect(addr).await.expect("connects");
        let (mut sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .expect("handshake");
        tokio::spawn(connection);
        let mut request = Request::get(path).header("host", "target");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(Empty::<Bytes>::new()).expect("a request");
        let response = sender.send_request(request).await.expect("a response");
        let (parts, body) = response.into_parts();
        EventReader {
            body,
            buffered: String::new(),
            status: parts.status,
            headers: parts.headers,
            last_id: None,
        }
    }

    /// The next event or comment, or how the stream ended. Panics past `STREAM_GUARD`.
    /// A block with an `id:` and no data sets [`EventReader::last_id`] and is not an item,
    /// as the SSE spec has a client do.
    pub async fn next(&mut self) -> Item {
        loop {
            let item = tokio::time::timeout(STREAM_GUARD, self.read_item())
                .await
                .expect("the stream gives something before the guard");
            match item {
                Item::Event(event) if event.data.is_empty() && event.event.is_none() => {
                    self.last_id = event.id.or(self.last_id.take());
                }
                Item::Event(event) => {
                    self.last_id = event.id.clone().or(self.last_id.take());
                    return Item::Event(event);
                }
                other => return other,
            }
        }
    }

    /// The next event, skipping comments. Panics when the stream ends first.
    pub async fn next_event(&mut self) -> Event {
        loop {
            match self.next().await {
                Item::Event(event) => return event,
                Item::Comment(_) => continue,
                other => panic!("expected an event, got {other:?}"),
            }
        }
    }

    async fn read_item(&mut self) -> Item {
        loop {
            if let Some(at) = self.buffered.find("\n\n") {
                let block: String = self.buffered.drain(..at + 2).collect();
                return parse_block(&block);
            }
            match self.body.frame().await {
                None => return Item::End,
                Some(Err(_)) => return Item::Broken,
                Some(Ok(frame)) => {
                    if let Some(data) = frame.data_ref() {
                        let text = std::str::from_utf8(data).expect("UTF-8 events");
                        self.buffered.push_str(text);
                    }
                }
            }
        }
    }
}

fn parse_block(block: &str) -> Item {
    let lines: Vec<&str> = block.lines().filter(|line| !line.is_empty()).collect();
    if lines.iter().all(|line| line.starts_with(':')) {
        let text = lines.join("\n");
        return Item::Comment(text.trim_start_matches(':').trim().to_owned());
    }
    let mut event = Event {
        id: None,
        event: None,
        data: String::new(),
    };
    let mut data_lines = Vec::new();
    for line in lines {
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "id" => event.id = Some(value.to_owned()),
            "event" => event.event = Some(value.to_owned()),
            "data" => data_lines.push(value),
            _ => {}
        }
    }
    event.data = data_lines.join("\n");
    Item::Event(event)
}
