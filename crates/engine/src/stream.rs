//! A stream holder: one of a user's streams, on its own connection (as a browser opens one
//! beside its requests), opened, read and re-opened until the step ends.
//!
//! Server-sent events are a `GET` with `Accept: text/event-stream` over our own hyper
//! connection, so connect time and time to first event are measured here, not by a library;
//! a WebSocket (`ws`) is an upgrade over our own connection too. A stream is held for its `hold` and then re-opened with `Last-Event-ID`, or held
//! for the whole step; one the server ends meanwhile is an unexpected disconnect, counted and
//! re-opened at once (after the server's `retry:` if it sent one). Knows nothing of the shard:
//! it sees the [`Workload`] and whether its user has left.

use std::cell::{Cell, RefMut};
use std::time::Duration;

use bytes::Bytes;
use http::header::{ACCEPT, HOST};
use http::{HeaderValue, Uri};
use http_body_util::{BodyExt, Full};
use stampede_metrics::StreamStats;
use stampede_plan::StreamKind;
use tokio::sync::Notify;
use tokio::time::{Instant, sleep_until};

use crate::build::{Ctx, absolute};
use crate::conn::{Client, Sender, Sending};
use crate::mailbox::Arrival;
use crate::rng::Rng;
use crate::sse::{Item, Parser};
use crate::workload::{Ledger, Workload};

mod ws;

/// How long to wait before trying again after a stream could not be opened or was closed before
/// it said anything (unless the server asked for longer with `retry:`), so a refusing target is
/// not hammered in a tight loop.
const REFUSED_WAIT: Duration = Duration::from_secs(1);

/// Set when the user that owns the streams leaves the step (a ramp-down, its iterations done).
#[derive(Default)]
pub(crate) struct Leaving {
    gone: Cell<bool>,
    wake: Notify,
}

impl Leaving {
    pub(crate) fn leave(&self) {
        self.gone.set(true);
        self.wake.notify_waiters();
    }

    fn gone(&self) -> bool {
        self.gone.get()
    }

    async fn wait(&self) {
        let wake = self.wake.notified();
        if self.gone() {
            return;
        }
        wake.await;
    }
}

/// Why one opening of a stream ended.
enum End {
    /// The step ended or the user left (and nothing more is expected on the stream).
    Stopped,
    /// Its hold was over: re-open.
    Held,
    /// The server or the network ended it: counted, re-open.
    Disconnected,
    /// The server ended it before sending a byte (an SSE comment, a WebSocket ping count):
    /// counted as a disconnect, and waited for as a refusal, since re-opening at once would
    /// spin against a server that closes every stream it accepts.
    Silent,
    /// No stream came of the attempt: counted, wait, try again.
    Refused,
}

/// What a holder keeps across re-openings.
struct Holder<'a> {
    work: &'a Workload,
    index: usize,
    user: u64,
    captures: Vec<String>,
    leaving: &'a Leaving,
    /// Told when a stream opens (true) and closes (false): the open-streams gauge.
    open: &'a dyn Fn(bool),
    paired: bool,
    parser: Parser,
    /// The server's `retry:`, the wait before re-opening.
    retry: Duration,
    opened_before: bool,
    /// Messages are expected on the stream: set once it first opened, since the server
    /// subscribes it then (before that, nothing sent could reach it, not even by a replay).
    listening: bool,
    rng: Rng,
    seq: u64,
}

/// Holds stream `index` of the plan for user `user` until the step ends or the user leaves.
pub(crate) async fn hold(
    work: &Workload,
    index: usize,
    user: u64,
    captures: Vec<String>,
    leaving: &Leaving,
    open: &dyn Fn(bool),
) {
    let paired = work.mailbox.paired() == Some(index);
    let mut holder = Holder {
        work,
        index,
        user,
        captures,
        leaving,
        open,
        paired,
        parser: Parser::new(),
        retry: Duration::ZERO,
        opened_before: false,
        listening: false,
        rng: Rng::new(user.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ index as u64),
        seq: 0,
    };
    let kind = work.plan.streams[index].kind;
    while !holder.over() {
        let end = match kind {
            StreamKind::Sse => holder.open_and_read().await,
            StreamKind::WebSocket => holder.open_websocket().await,
        };
        let wait = match end {
            End::Stopped => break,
            End::Held | End::Disconnected => holder.retry,
            End::Refused | End::Silent => holder.retry.max(REFUSED_WAIT),
        };
        if !wait.is_zero() {
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = work.stopped() => {}
                () = leaving.wait() => {}
            }
        }
    }
    if holder.listening {
        work.mailbox.listen(user, false);
    }
}

impl<'a> Holder<'a> {
    fn stats(&self) -> RefMut<'_, StreamStats> {
        let index = self.index;
        RefMut::map(self.work.ledger(Ledger::Step), |s| &mut s.streams[index])
    }

    /// The step is over for this stream: the step ended or the user left, and no message
    /// sent to it is still awaited.
    fn over(&self) -> bool {
        (self.work.stopping() || self.leaving.gone())
            && (!self.paired || self.work.mailbox.waiting_until(self.user).is_none())
    }

    /// Resolves when the stream should close for good: the step ended or the user left, and
    /// the messages it still awaits are past their deadline.
    async fn ending(&self) {
        tokio::select! {
            () = self.work.stopped() => {}
            () = self.leaving.wait() => {}
        }
        if !self.paired {
            return;
        }
        while let Some(at) = self.work.mailbox.waiting_until(self.user)
            && at > Instant::now()
        {
            sleep_until(at).await;
        }
    }

    /// An attempt to open the stream: every one after the first is a counted reconnect.
    fn attempt(&mut self) {
        if self.opened_before {
            self.stats().reconnects += 1;
        }
        self.opened_before = true;
    }

    /// The stream opened `began` ago: counted with its connect time, held in the open-streams
    /// gauge until the guard drops, and a paired stream listens for its partner's messages.
    fn opened(&mut self, began: Instant) -> Opened<'a> {
        {
            let mut stats = self.stats();
            stats.opened += 1;
            stats.connect.record(Instant::now() - began);
        }
        if self.paired && !self.listening {
            self.listening = true;
            self.work.mailbox.listen(self.user, true);
        }
        Opened::new(self.open)
    }

    async fn open_and_read(&mut self) -> End {
        let work = self.work;
        let began = Instant::now();
        self.attempt();
        let Ok(opened) = work
            .connector
            .connect(work.plan.connect_timeout, Client::Hyper)
            .await
        else {
            self.stats().failed_opens += 1;
            return End::Refused;
        };
        // Dropping the driver tears the connection down, whichever way this returns.
        let mut driver = opened.driver;
        let mut sender = opened.sender;
        let request = self.request(sender.is_http2());
        let sent = Instant::now();
        let sending = std::pin::pin!(send(&mut sender, request));
        let head = tokio::select! {
            head = tokio::time::timeout(work.plan.connect_timeout, driver.drive(sending)) => head,
            () = self.ending() => return End::Stopped,
        };
        let response = match head {
            Ok(Some(response)) if response.status().is_success() => response,
            _ => {
                self.stats().failed_opens += 1;
                return End::Refused;
            }
        };
        let _open = self.opened(began);
        let hold_until = work.plan.streams[self.index]
            .hold
            .map(|h| Instant::now() + h);
        let mut body = response.into_body();
        let mut first = true;
        let mut heard = false;
        let mut items = Vec::new();
        loop {
            let mut next = body.frame();
            let frame = tokio::select! {
                biased;
                frame = driver.drive(std::pin::Pin::new(&mut next)) => frame,
                () = until(hold_until) => return End::Held,
                () = self.ending() => return End::Stopped,
            };
            let Some(Ok(frame)) = frame else {
                self.stats().disconnects += 1;
                return if heard {
                    End::Disconnected
                } else {
                    End::Silent
                };
            };
            let Ok(data) = frame.into_data() else {
                continue;
            };
            heard |= !data.is_empty();
            let now = Instant::now();
            if self.parser.feed(&data, &mut items).is_err() {
                // A line past the parser's bound: the stream cannot be read further.
                self.stats().disconnects += 1;
                return End::Disconnected;
            }
            self.count(&mut items, now, (sent, &mut first));
            if self.over() {
                return End::Stopped;
            }
        }
    }

    /// Counts what a chunk completed, which arrived at `now`.
    fn count(&mut self, items: &mut Vec<Item>, now: Instant, (sent, first): (Instant, &mut bool)) {
        for item in items.drain(..) {
            match item {
                Item::Event(event) => {
                    let arrival = if self.paired {
                        self.work.mailbox.arrived(self.user, &event.data, now)
                    } else {
                        Arrival::Other
                    };
                    let mut stats = self.stats();
                    stats.events += 1;
                    if std::mem::take(first) {
                        stats.first_event.record(now - sent);
                    }
                    match arrival {
                        Arrival::OnTime(latency) => stats.e2e.record(latency),
                        Arrival::Late => stats.lost += 1,
                        Arrival::Other => {}
                    }
                }
                Item::Retry(ms) => self.retry = Duration::from_millis(ms),
                Item::Comment => {}
            }
        }
    }

    /// The stream's `GET`, rendered for this user, with `Last-Event-ID` after the first.
    fn request(&mut self, h2: bool) -> http::Request<Full<Bytes>> {
        let work = self.work;
        let stream = &work.plan.streams[self.index];
        let mut msg_ids = Vec::new();
        let mut ctx = Ctx {
            work,
            vu: self.user,
            iteration: 0,
            rng: &mut self.rng,
            captures: &self.captures,
            row: (0, 0),
            seq: &mut self.seq,
            msg_ids: &mut msg_ids,
        };
        let mut target = String::from(&*work.prefix);
        stream.path.render_into(&mut ctx, &mut target);
        let mut request = http::Request::new(Full::new(Bytes::new()));
        let headers = request.headers_mut();
        for header in &stream.headers {
            let mut value = String::new();
            header.value.render_into(&mut ctx, &mut value);
            if let (Ok(name), Ok(mut value)) = (
                http::HeaderName::from_bytes(header.name.as_bytes()),
                HeaderValue::from_str(&value),
            ) {
                value.set_sensitive(header.secret);
                headers.append(name, value);
            }
        }
        headers.insert(ACCEPT, HeaderValue::from_static("text/event-stream"));
        if let Some(id) = self.parser.last_id()
            && let Ok(value) = HeaderValue::from_str(id)
        {
            headers.insert("last-event-id", value);
        }
        // A rendered path that is no URI is the scenario's fault; sent as "/" it fails at the
        // server, visibly, rather than crash the run.
        let uri = Uri::try_from(target).unwrap_or_else(|_| Uri::from_static("/"));
        *request.uri_mut() = if h2 {
            absolute(work, uri)
        } else {
            if let Ok(host) = HeaderValue::from_str(work.origin.authority.as_str()) {
                request.headers_mut().insert(HOST, host);
            }
            uri
        };
        request
    }
}

/// Sends the stream's request on a hyper connection: `None` when it could not (the lean
/// client, which streams no body, is never asked to hold a stream).
async fn send(
    sender: &mut Sender,
    request: http::Request<Full<Bytes>>,
) -> Option<http::Response<hyper::body::Incoming>> {
    sender.ready().await.ok()?;
    match sender.send(request, &[]) {
        Sending::Hyper(sending) => sending.await.ok(),
        Sending::Lean(_) => None,
    }
}

/// Resolves at `at`, or never.
async fn until(at: Option<Instant>) {
    match at {
        Some(at) => sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// An open stream, counted in the gauge until dropped (however the reading ends, an abort
/// at the end of the grace included).
struct Opened<'a>(&'a dyn Fn(bool));

impl<'a> Opened<'a> {
    fn new(open: &'a dyn Fn(bool)) -> Opened<'a> {
        open(true);
        Opened(open)
    }
}

impl Drop for Opened<'_> {
    fn drop(&mut self) {
        (self.0)(false);
    }
}
