//! A virtual user: its connection, its state (captures, iteration, `${seq}`, random stream, a
//! pending 429 backoff), and the one function on the per-request path, [`User::execute`],
//! which records exactly one outcome per request with its phases.
//!
//! Knows nothing of schedules: the shard decides when a user runs; the user decides only how
//! long a 429 holds it.

use std::pin::pin;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::header::RETRY_AFTER;
use http::{HeaderName, HeaderValue};
use http_body_util::Full;
use stampede_metrics::sample::{self, BODY_SAMPLE_BYTES};
use stampede_metrics::{FailureKey, Outcome, RequestStats};
use stampede_plan::{On429, Think};
use tokio::time::Instant;

use crate::backoff;
use crate::build::{self, Ctx, build};
use crate::conn::{Client, Driver, Refusal, Sender, Sending, WriteClock};
use crate::debug;
use crate::exchange::{Failed, Received, exchange, exchange_lean};
use crate::inflight::InFlight;
use crate::rng::Rng;
use crate::verdict;
use crate::workload::{Ledger, Workload};

/// A live connection; dropping it tears the connection down at once (its [`Driver`]).
struct Conn {
    sender: Sender,
    driver: Driver,
    /// When the connection last started writing a request: where `waiting` begins.
    writes: WriteClock,
}

pub(crate) struct User {
    /// The user's number over the whole run, from 0.
    pub(crate) id: u64,
    conn: Option<Conn>,
    /// Set once the user has had a connection, so a later re-open counts as a reconnect.
    connected_before: bool,
    pub(crate) iteration: u64,
    pub(crate) setup_done: bool,
    captures: Vec<String>,
    /// Which `[data]` row this iteration reads: the draws `DataSet::row` chooses from.
    row_seq: u64,
    row_random: u64,
    rng: Rng,
    /// `${seq}`: this user's own counter, 0, 1, 2..
    seq: u64,
    /// After a 429 with `on-429 = "backoff"`: no request before this.
    backoff_until: Option<Instant>,
    /// Reused buffers: rendered URI and body, received body (all of it, or the start).
    text: String,
    /// The templated headers of the request being sent (lean client), kept for the capacity.
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Vec<u8>,
    /// The `${msg_id}`s of the request being built.
    msg_ids: Vec<u64>,
}

impl User {
    /// What this user has captured so far (a token its streams send too).
    pub(crate) fn captures(&self) -> &[String] {
        &self.captures
    }

    pub(crate) fn new(id: u64, captures: usize) -> User {
        User {
            id,
            conn: None,
            connected_before: false,
            iteration: 0,
            setup_done: false,
            captures: vec![String::new(); captures],
            row_seq: 0,
            row_random: 0,
            rng: Rng::new(id.wrapping_mul(0x2545_f491_4f6c_dd1d) ^ 0x5851_f42d),
            seq: 0,
            backoff_until: None,
            text: String::new(),
            headers: Vec::new(),
            body: Vec::new(),
            msg_ids: Vec::new(),
        }
    }

    /// Runs the plan's setup requests once (a login that captures a token).
    pub(crate) async fn setup(&mut self, work: &Workload) {
        if self.setup_done {
            return;
        }
        self.setup_done = true;
        for &id in &work.plan.setup {
            self.execute(work, id, None, Ledger::Setup).await;
        }
    }

    /// One iteration: a request picked by weight, or a flow walked step by step. Returns the
    /// think time to wait before the next iteration.
    pub(crate) async fn iterate(
        &mut self,
        work: &Workload,
        scheduled: Option<Instant>,
        think_override: Option<Think>,
    ) -> Duration {
        let plan = &work.plan;
        if plan.data.is_some() {
            // One row per iteration, so a flow's requests all see the same user record.
            self.row_seq = work.next_data_seq();
            self.row_random = self.rng.next_u64();
        }
        let mut last = None;
        // The iteration counts where its last request was measured (a warm-up or the step).
        let mut counted = Ledger::Step;
        if plan.flows.is_empty() {
            let id = work.pick(&mut self.rng);
            counted = self.execute(work, id, scheduled, Ledger::Step).await;
            last = Some(id);
        } else {
            let flow = &plan.flows[work.pick(&mut self.rng)];
            for (n, &id) in flow.steps.iter().enumerate() {
                if n > 0 {
                    let think = self
                        .think(think_override.unwrap_or(plan.requests[flow.steps[n - 1]].think));
                    if !think.is_zero() {
                        tokio::time::sleep(think).await;
                    }
                }
                // Only the flow's first request was scheduled; the rest are due when they are
                // sent, so in the open model every request has a corrected latency and the
                // headline figure covers them all.
                let at = if n == 0 {
                    scheduled
                } else {
                    scheduled.map(|_| Instant::now())
                };
                counted = self.execute(work, id, at, Ledger::Step).await;
                last = Some(id);
                if work.stopping() {
                    break;
                }
            }
        }
        self.iteration += 1;
        work.ledger(counted).iterations += 1;
        match last {
            Some(id) => self.think(think_override.unwrap_or(plan.requests[id].think)),
            None => Duration::ZERO,
        }
    }

    fn think(&mut self, think: Think) -> Duration {
        match think {
            Think::None => Duration::ZERO,
            Think::Fixed(d) => d,
            Think::Range(lo, hi) => {
                let span = hi.saturating_sub(lo).as_micros() as u64;
                lo + Duration::from_micros(self.rng.below(span.saturating_add(1)))
            }
        }
    }

    /// Sends one request and records exactly one outcome for it, in the ledger it returns.
    /// Never fails: whatever the target does is data, and a request cancelled at the end of
    /// the grace period is recorded as abandoned by its [`InFlight`] guard.
    pub(crate) async fn execute(
        &mut self,
        work: &Workload,
        id: usize,
        scheduled: Option<Instant>,
        ledger: Ledger,
    ) -> Ledger {
        // A 429 with `on-429 = "backoff"` holds the user's next request, whatever it is.
        if !self.wait_backoff(work).await {
            return ledger;
        }
        let ledger = work.route(ledger);
        // From here the request is in flight: if the end of the grace period cancels it, the
        // guard records it as abandoned.
        let flight = InFlight::new(work, id, ledger, scheduled);
        // Latency counts from here: a request that must open a connection first waits for
        // it, as a client would, and the phases say how much of it that was.
        let started = Instant::now();
        if let Err(refusal) = self.ready_connection(work, id, ledger).await {
            flight.land();
            self.record_refusal(work, id, ledger, (started, scheduled), refusal);
            return ledger;
        }
        // The connection is held here for the exchange, and given back only when it went well:
        // after a failure its state is unknown, and the next request starts afresh.
        let Some(mut conn) = self.conn.take() else {
            flight.land();
            return ledger;
        };
        let h2 = conn.sender.is_http2();
        // The request lives only in this block: handed to the connection here, it is not kept
        // in this future across the exchange (nor is the debug form, boxed, which is rare).
        let (sending, sent, debug) = {
            let number = work.debug.as_ref().and_then(|d| d.claim());
            let (sending, debug) = match (number, conn.sender.lean()) {
                // The lean client takes the request's parts: no `http::Request` to build.
                (None, Some(lean)) if let Some(body) = self.render_parts(work, id) => {
                    let prepared = &work.prepared[id];
                    let rendered = self.headers.iter().map(|(name, value)| (name, value));
                    let headers = prepared.headers.iter().chain(rendered);
                    lean.start(&prepared.method, &self.text, headers, &body);
                    (Sending::Lean(lean), None)
                }
                _ => {
                    let (built, body) = self.build(work, id, h2);
                    let debug = number.map(|number| {
                        Box::new(debug_request(work, id, number, (&built, &body), h2))
                    });
                    (conn.sender.send(built, &body), debug)
                }
            };
            conn.writes.reset();
            let sent = Instant::now();
            if !self.msg_ids.is_empty() {
                let mut stats = work.ledger(Ledger::Step);
                work.mailbox.sent(self.id, &self.msg_ids, sent, &mut stats);
            }
            (sending, sent, debug)
        };
        let keep = if work.prepared[id].keep_body {
            usize::MAX
        } else if debug.is_some() {
            debug::KEEP_BYTES
        } else {
            BODY_SAMPLE_BYTES
        };
        let timeout = work.plan.requests[id].timeout;
        let result = match sending {
            Sending::Lean(lean) => {
                // Headers only where something reads them: a header capture or the debug form.
                let headers = work.prepared[id].reads_headers || debug.is_some();
                exchange_lean(lean, &mut self.body, (keep, headers), timeout).await
            }
            Sending::Hyper(sending) => {
                let driver = &mut conn.driver;
                exchange((pin!(sending), driver), &mut self.body, keep, timeout).await
            }
        };
        let timing = Timing {
            started,
            scheduled,
            sent,
            first_write: conn.writes.first_write(),
            done: Instant::now(),
        };
        flight.land();
        let response = match result {
            Ok(received) => {
                self.conn = Some(conn);
                self.record_response(work, id, ledger, &received, &timing);
                Ok(received)
            }
            Err(failed) => {
                let detail = failed.broke.detail();
                record_failure(work, id, ledger, &timing, &failed, || detail.clone());
                Err(detail)
            }
        };
        // The response's debug form (every header as text, the body made printable) only for
        // an exchange the debug output claimed: it cost every request a few allocations.
        if let (Some(mut exchange), Some(listener)) = (debug, &work.debug) {
            exchange.response =
                response.map(|received| debug_response(&received, &self.body, timing.done - sent));
            listener.emit(&exchange);
        }
        ledger
    }

    /// Sleeps out the last 429's Retry-After. False when the step ended meanwhile: the user
    /// then starts nothing new.
    async fn wait_backoff(&mut self, work: &Workload) -> bool {
        let Some(until) = self.backoff_until.take() else {
            return true;
        };
        tokio::select! {
            () = tokio::time::sleep_until(until) => true,
            () = work.stopped() => false,
        }
    }

    /// A connection ready for a request: the current one, or a new one (counted as a reconnect
    /// when it replaces one that broke, its connect and TLS times recorded against request
    /// `id`).
    async fn ready_connection(
        &mut self,
        work: &Workload,
        id: usize,
        ledger: Ledger,
    ) -> Result<(), Refusal> {
        if let Some(conn) = &mut self.conn {
            if conn.driver.drive(pin!(conn.sender.ready())).await.is_ok() {
                return Ok(());
            }
            self.conn = None;
        }
        if self.connected_before {
            work.ledger(Ledger::Step).reconnects += 1;
        }
        let opened = work
            .connector
            .connect(work.plan.connect_timeout, Client::Lean)
            .await?;
        self.connected_before = true;
        {
            let mut stats = work.ledger(ledger);
            if opened.sender.is_http2() {
                stats.connections.http2 += 1;
            } else {
                stats.connections.http1 += 1;
            }
            let phases = &mut stats.requests[id].phases;
            if let Some(connecting) = opened.connecting {
                phases.connecting.record(connecting);
            }
            if let Some(tls) = opened.tls {
                phases.tls_handshaking.record(tls);
            }
        }
        let conn = self.conn.insert(Conn {
            sender: opened.sender,
            driver: opened.driver,
            writes: opened.writes,
        });
        let ready = conn.driver.drive(pin!(conn.sender.ready())).await;
        ready.map_err(|err| Refusal {
            outcome: err.outcome(),
            detail: format!("the connection closed at once: {}", err.detail()),
        })
    }

    /// A request that never went out: no connection.
    fn record_refusal(
        &mut self,
        work: &Workload,
        id: usize,
        ledger: Ledger,
        (started, scheduled): (Instant, Option<Instant>),
        refusal: Refusal,
    ) {
        let now = Instant::now();
        {
            let mut stats = work.ledger(ledger);
            let entry = &mut stats.requests[id];
            entry.outcomes.bump(refusal.outcome);
            entry.failed += 1;
            let key = FailureKey::Transport(refusal.outcome);
            entry.failures.bump(key);
            if entry.samples.wants(key) {
                entry
                    .samples
                    .keep(key, sample::escaped(&refusal.detail, BODY_SAMPLE_BYTES));
            }
            entry.latency.record(now - started);
            if let Some(at) = scheduled {
                entry.corrected.record(now - at);
            }
        }
        if let Some(listener) = &work.debug
            && let Some(number) = listener.claim()
        {
            let request = &work.plan.requests[id];
            listener.emit(&debug::Exchange {
                number,
                request: request.name.clone(),
                method: request.method.clone(),
                target: String::new(),
                version: "",
                headers: Vec::new(),
                body: String::new(),
                response: Err(refusal.detail),
            });
        }
    }

    /// Counts a complete response: outcome, latency and phases, checks, the verdict, captures,
    /// and the backoff a 429 asks for.
    fn record_response(
        &mut self,
        work: &Workload,
        id: usize,
        ledger: Ledger,
        received: &Received,
        timing: &Timing,
    ) {
        let request = &work.plan.requests[id];
        let prepared = &work.prepared[id];
        let status = received.parts.status.as_u16();
        let latency = timing.done - timing.started;
        let json = prepared
            .parse_json
            .then(|| serde_json::from_slice::<serde_json::Value>(&self.body).ok())
            .flatten();
        let response = verdict::Response {
            status,
            latency,
            headers: &received.parts.headers,
            body: &self.body,
            json: json.as_ref(),
        };
        let mut stats = work.ledger(ledger);
        let entry = &mut stats.requests[id];
        entry.latency.record(latency);
        if let Some(at) = timing.scheduled {
            entry.corrected.record(timing.done - at);
        }
        let went_out = timing.first_write.unwrap_or(timing.sent);
        entry.phases.waiting.record(received.head - went_out);
        entry.phases.receiving.record(timing.done - received.head);
        let outcome = Outcome::from_status(status);
        entry.outcomes.bump(outcome);
        entry.body_bytes += received.bytes;
        let limited = outcome == Outcome::RateLimited;
        if limited && received.parts.headers.contains_key(RETRY_AFTER) {
            entry.retry_after_seen += 1;
        }
        let failed_check = verdict::checks(&work.plan, prepared, id, &response, entry);
        if !request.expect.contains(status) {
            fail(entry, FailureKey::Status(status), || {
                sample::printable(&self.body, BODY_SAMPLE_BYTES)
            });
        } else if let Some(check) = failed_check {
            fail(entry, FailureKey::Check(check.index), || check.value);
        } else if !limited {
            entry.succeeded += 1;
        }
        verdict::captures(&work.plan, id, &response, &mut self.captures, entry);
        if let (true, On429::Backoff { max }) = (limited, work.plan.options_for(id).on_429) {
            let wait = backoff::wait(&received.parts.headers, SystemTime::now(), max);
            entry.record_backoff(wait);
            self.backoff_until = Some(timing.done + wait);
        }
    }

    /// Renders request `id` with this user's state as parts for the lean client: the target
    /// into `text`, the templated headers into `headers`; the body is handed back. `None` when
    /// it needs a whole request ([`build::render_parts`]).
    fn render_parts(&mut self, work: &Workload, id: usize) -> Option<Bytes> {
        self.templating(work, |ctx, text, headers| {
            build::render_parts(ctx, id, text, headers)
        })
    }

    /// Builds request `id` with this user's state.
    fn build(
        &mut self,
        work: &Workload,
        id: usize,
        h2: bool,
    ) -> (http::Request<Full<Bytes>>, Bytes) {
        self.templating(work, |ctx, text, _| build(ctx, id, text, h2))
    }

    /// Runs `render` with what templates see of this user (its `${msg_id}`s cleared) and its
    /// reused buffers.
    fn templating<R>(
        &mut self,
        work: &Workload,
        render: impl FnOnce(&mut Ctx<'_>, &mut String, &mut Vec<(HeaderName, HeaderValue)>) -> R,
    ) -> R {
        let mut ctx = Ctx {
            work,
            vu: self.id,
            iteration: self.iteration,
            rng: &mut self.rng,
            captures: &self.captures,
            row: (self.row_seq, self.row_random),
            seq: &mut self.seq,
            msg_ids: &mut self.msg_ids,
        };
        ctx.msg_ids.clear();
        render(&mut ctx, &mut self.text, &mut self.headers)
    }
}

/// The request half of a debug exchange, secrets redacted.
fn debug_request(
    work: &Workload,
    id: usize,
    number: usize,
    (built, body): (&http::Request<Full<Bytes>>, &Bytes),
    h2: bool,
) -> debug::Exchange {
    let prepared = &work.prepared[id];
    debug::Exchange {
        number,
        request: work.plan.requests[id].name.clone(),
        method: built.method().to_string(),
        target: if prepared.secret_target {
            debug::REDACTED.to_owned()
        } else {
            built.uri().to_string()
        },
        version: if h2 { "HTTP/2" } else { "HTTP/1.1" },
        headers: debug::headers(built.headers()),
        body: if prepared.secret_body {
            debug::REDACTED.to_owned()
        } else {
            debug::body(body)
        },
        response: Err(String::new()),
    }
}

/// When an exchange's parts happened.
struct Timing {
    /// Before the connection was made ready (opened, when it had to be).
    started: Instant,
    /// When it was due (open model).
    scheduled: Option<Instant>,
    /// When the request was handed to the connection.
    sent: Instant,
    /// When its first byte was written.
    first_write: Option<Instant>,
    done: Instant,
}

/// Counts a failure under `key`, with a sample of the first.
fn fail(entry: &mut RequestStats, key: FailureKey, sample: impl FnOnce() -> String) {
    entry.failed += 1;
    entry.failures.bump(key);
    if entry.samples.wants(key) {
        entry.samples.keep(key, sample());
    }
}

/// An exchange that broke after the request went out.
fn record_failure(
    work: &Workload,
    id: usize,
    ledger: Ledger,
    timing: &Timing,
    failed: &Failed,
    detail: impl FnOnce() -> String,
) {
    let mut stats = work.ledger(ledger);
    let entry = &mut stats.requests[id];
    entry.latency.record(timing.done - timing.started);
    if let Some(at) = timing.scheduled {
        entry.corrected.record(timing.done - at);
    }
    // The head arrived before the body broke: time to first byte still happened.
    if let Some(head) = failed.head {
        let went_out = timing.first_write.unwrap_or(timing.sent);
        entry.phases.waiting.record(head - went_out);
    }
    let outcome = failed.broke.outcome();
    entry.outcomes.bump(outcome);
    fail(entry, FailureKey::Transport(outcome), || {
        sample::escaped(&detail(), BODY_SAMPLE_BYTES)
    });
}

/// The response half of a debug exchange.
fn debug_response(received: &Received, body: &[u8], elapsed: Duration) -> debug::DebugResponse {
    debug::DebugResponse {
        status: received.parts.status.as_u16(),
        headers: debug::headers(&received.parts.headers),
        body: debug::body(body),
        elapsed,
    }
}
