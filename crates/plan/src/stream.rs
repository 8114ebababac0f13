//! Streams a user holds beside its requests: what to open, how long to hold it, and how
//! messages sent between paired users are expected on it; a WebSocket's own messages.

use std::time::Duration;

use crate::request::Header;
use crate::template::Template;

/// What protocol a stream speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamKind {
    /// Server-sent events: a `GET` answered with `text/event-stream`.
    Sse,
    /// A WebSocket: an HTTP/1.1 upgrade, then messages both ways.
    WebSocket,
}

impl StreamKind {
    pub fn as_str(self) -> &'static str {
        match self {
            StreamKind::Sse => "sse",
            StreamKind::WebSocket => "websocket",
        }
    }

    /// The name steps.csv's `Type` column and summary.json's `kind` give the protocol.
    pub fn label(self) -> &'static str {
        match self {
            StreamKind::Sse => "SSE",
            StreamKind::WebSocket => "WS",
        }
    }
}

/// Messages a WebSocket stream sends while it is open: the first as it opens, then one every
/// `every`. A `${msg_id}` in the body is a correlation id: its echo (a message holding the
/// same id) gives the message's round trip.
#[derive(Clone, Debug)]
pub struct StreamSend {
    pub every: Duration,
    pub body: Template,
}

/// A stream every user of a closed-model step opens, on its own connection, and holds.
#[derive(Clone, Debug)]
pub struct Stream {
    /// Unique among the plan's streams; names its figures and thresholds.
    pub name: String,
    pub kind: StreamKind,
    /// Path (and query) appended to the base URL's prefix, rendered per user per connection.
    pub path: Template,
    pub headers: Vec<Header>,
    /// Close the stream after this long and reconnect (with `Last-Event-ID`); `None` holds it
    /// for the whole step.
    pub hold: Option<Duration>,
    /// A message sent to this stream's user and not seen on it within this long is lost.
    pub expect_within: Duration,
    /// Users 2k and 2k+1 are partners: a message id (`${msg_id}`) that user 2k sends is
    /// expected on user 2k+1's stream, and the other way round. Partners share a load thread.
    pub pairs: bool,
    /// WebSocket streams only: what to send, and how often.
    pub send: Option<StreamSend>,
}
