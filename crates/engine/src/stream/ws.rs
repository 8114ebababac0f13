//! A WebSocket stream: the HTTP/1.1 upgrade over a connection we opened (so connect and TLS
//! time are ours), then messages both ways until the hold ends, the step ends or the server
//! closes it.
//!
//! Messages sent on the stream's `send` schedule may carry a correlation id (`${msg_id}`);
//! the message that comes back holding the same id is its echo, and the time between is its
//! round trip. An echo not back within `expect-within` is lost, as a paired message is. At
//! the end of a hold (or of the step) sending stops and the stream waits for the echoes still
//! out, up to their deadline, so a round trip in flight is neither cut short nor miscounted.

use std::collections::HashMap;
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use http::HeaderValue;
use stampede_plan::Template;
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

use super::{End, Holder, until};
use crate::build::Ctx;
use crate::mailbox::{Arrival, message_id};
use crate::wire::Io;

/// Largest message (and frame) read, so a server cannot make one stream buffer without
/// bound.
const MAX_MESSAGE_BYTES: usize = 1 << 20;

/// How long a closing handshake may take before the connection is simply dropped.
const CLOSE_WAIT: Duration = Duration::from_millis(250);

/// What woke the stream's loop.
enum Wake {
    Message(Option<Result<Message, tokio_tungstenite::tungstenite::Error>>),
    Send,
    Hold,
    Stop,
    Drained,
}

/// The stream's own messages awaiting their echo: correlation id → when it was sent.
#[derive(Default)]
struct Echoes(HashMap<u64, Instant>);

impl Echoes {
    /// The latest instant an echo still out may arrive and count.
    fn last_deadline(&self, within: Duration) -> Option<Instant> {
        self.0.values().max().map(|&sent| sent + within)
    }

    /// Forgets the echoes past their deadline at `now`; returns how many.
    fn expire(&mut self, now: Instant, within: Duration) -> u64 {
        let before = self.0.len();
        self.0.retain(|_, &mut sent| sent + within >= now);
        (before - self.0.len()) as u64
    }
}

impl Holder<'_> {
    /// Opens the WebSocket, reads and sends until it should close; says why it ended.
    pub(super) async fn open_websocket(&mut self) -> End {
        let work = self.work;
        let began = Instant::now();
        self.attempt();
        let Ok(io) = work.connector.connect_io(work.plan.connect_timeout).await else {
            self.stats().failed_opens += 1;
            return End::Refused;
        };
        let Some(request) = self.upgrade_request() else {
            self.stats().failed_opens += 1;
            return End::Refused;
        };
        let config = WebSocketConfig::default()
            .max_message_size(Some(MAX_MESSAGE_BYTES))
            .max_frame_size(Some(MAX_MESSAGE_BYTES));
        let sent = Instant::now();
        let upgrade = tokio_tungstenite::client_async_with_config(request, io, Some(config));
        let handshake = tokio::select! {
            handshake = tokio::time::timeout(work.plan.connect_timeout, upgrade) => handshake,
            () = self.ending() => return End::Stopped,
        };
        let Ok(Ok((socket, _))) = handshake else {
            self.stats().failed_opens += 1;
            return End::Refused;
        };
        let _open = self.opened(began);
        self.exchange(socket, sent).await
    }

    /// Sends and reads on an open WebSocket; `sent` is when its upgrade went out.
    async fn exchange(&mut self, mut socket: WebSocketStream<Box<dyn Io>>, sent: Instant) -> End {
        let work = self.work;
        let stream = &work.plan.streams[self.index];
        let within = stream.expect_within;
        let hold_until = stream.hold.map(|h| Instant::now() + h);
        let mut next_send = stream.send.as_ref().map(|_| Instant::now());
        let mut echoes = Echoes::default();
        let mut first = true;
        // Anything from the server at all, a ping too: a stream closed before it is silent.
        let mut heard = false;
        let mut closing = None;
        let mut body = String::new();
        loop {
            if closing.is_some() && echoes.0.is_empty() {
                break;
            }
            let open = closing.is_none();
            let drained = echoes.last_deadline(within).filter(|_| !open);
            // Timers first: a server that never stops sending must not starve the hold, the
            // end of the step or our own sends.
            let wake = tokio::select! {
                biased;
                () = until(hold_until), if open => Wake::Hold,
                () = self.ending(), if open => Wake::Stop,
                () = until(next_send), if open => Wake::Send,
                () = until(drained), if !open => Wake::Drained,
                message = socket.next() => Wake::Message(message),
            };
            heard |= matches!(wake, Wake::Message(Some(Ok(_))));
            match wake {
                Wake::Message(Some(Ok(Message::Text(text)))) => {
                    self.received(text.as_str(), &mut echoes, (sent, &mut first));
                }
                Wake::Message(Some(Ok(Message::Binary(bytes)))) => {
                    let text = Utf8Bytes::try_from(bytes).unwrap_or_default();
                    self.received(text.as_str(), &mut echoes, (sent, &mut first));
                }
                // Pings are answered by tungstenite as it reads; pongs need nothing.
                Wake::Message(Some(Ok(
                    Message::Ping(_) | Message::Pong(_) | Message::Frame(_),
                ))) => {}
                // A close from the server, an error or the end: the server ended it.
                Wake::Message(_) => return self.disconnected(&echoes, heard),
                Wake::Send => {
                    let Some(send) = &stream.send else {
                        continue;
                    };
                    let expired = echoes.expire(Instant::now(), within);
                    self.stats().lost += expired;
                    body.clear();
                    let mut ids = Vec::new();
                    self.render(&send.body, &mut body, &mut ids);
                    let at = Instant::now();
                    let message = Message::text(body.as_str());
                    let sending =
                        tokio::time::timeout(work.plan.connect_timeout, socket.send(message));
                    if !matches!(sending.await, Ok(Ok(()))) {
                        return self.disconnected(&echoes, heard);
                    }
                    self.stats().sent += 1;
                    echoes.0.extend(ids.into_iter().map(|id| (id, at)));
                    next_send = next_send.map(|next| (next + send.every).max(Instant::now()));
                }
                Wake::Hold => closing = Some(End::Held),
                Wake::Stop => closing = Some(End::Stopped),
                Wake::Drained => {
                    let expired = echoes.expire(Instant::now(), within);
                    self.stats().lost += expired;
                    // Any left are a clock's rounding away from their deadline: lost too.
                    self.stats().lost += echoes.0.len() as u64;
                    echoes.0.clear();
                }
            }
            if closing.is_none() && self.over() {
                closing = Some(End::Stopped);
            }
        }
        let _ = tokio::time::timeout(CLOSE_WAIT, socket.close(None)).await;
        closing.unwrap_or(End::Stopped)
    }

    /// The server or the network ended the stream: the echoes still out cannot come back.
    /// `heard`: the server had sent something on it (else it is [`End::Silent`]).
    fn disconnected(&self, echoes: &Echoes, heard: bool) -> End {
        let mut stats = self.stats();
        stats.disconnects += 1;
        stats.lost += echoes.0.len() as u64;
        if heard {
            End::Disconnected
        } else {
            End::Silent
        }
    }

    /// Counts a message that arrived now: an echo of ours, a partner's message, or another.
    fn received(&mut self, text: &str, echoes: &mut Echoes, (sent, first): (Instant, &mut bool)) {
        let now = Instant::now();
        let within = self.work.plan.streams[self.index].expect_within;
        let id = message_id(text);
        let echo = id.and_then(|id| echoes.0.remove(&id));
        let arrival = match echo {
            Some(at) if now - at <= within => Some(Ok(now - at)),
            Some(_) => Some(Err(())),
            None => None,
        };
        let paired = match (arrival, self.paired) {
            (None, true) => self.work.mailbox.arrived(self.user, text, now),
            _ => Arrival::Other,
        };
        let mut stats = self.stats();
        stats.events += 1;
        if std::mem::take(first) {
            stats.first_event.record(now - sent);
        }
        match (arrival, paired) {
            (Some(Ok(rtt)), _) => stats.rtt.record(rtt),
            (Some(Err(())), _) | (_, Arrival::Late) => stats.lost += 1,
            (None, Arrival::OnTime(latency)) => stats.e2e.record(latency),
            (None, Arrival::Other) => {}
        }
    }

    /// Renders `template` for this user into `out`; the `${msg_id}`s it drew go to `ids`.
    fn render(&mut self, template: &Template, out: &mut String, ids: &mut Vec<u64>) {
        let mut ctx = Ctx {
            work: self.work,
            vu: self.user,
            iteration: 0,
            rng: &mut self.rng,
            captures: &self.captures,
            row: (0, 0),
            seq: &mut self.seq,
            msg_ids: ids,
        };
        template.render_into(&mut ctx, out);
    }

    /// The upgrade request: `ws://` (or `wss://`) and the rendered path, with the stream's
    /// headers; `None` when the rendered path makes no URI (the scenario's fault, counted as a
    /// failed open rather than crash the run).
    fn upgrade_request(&mut self) -> Option<Request> {
        let work = self.work;
        let stream = &work.plan.streams[self.index];
        let mut ids = Vec::new();
        let mut path = String::from(&*work.prefix);
        self.render(&stream.path, &mut path, &mut ids);
        let scheme = if work.connector.is_tls() { "wss" } else { "ws" };
        let mut request = format!("{scheme}://{}{path}", work.origin.authority)
            .into_client_request()
            .ok()?;
        for header in &stream.headers {
            let mut value = String::new();
            self.render(&header.value, &mut value, &mut ids);
            if let (Ok(name), Ok(mut value)) = (
                http::HeaderName::from_bytes(header.name.as_bytes()),
                HeaderValue::from_str(&value),
            ) {
                value.set_sensitive(header.secret);
                request.headers_mut().append(name, value);
            }
        }
        Some(request)
    }
}
