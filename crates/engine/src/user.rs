//! A virtual user: its connection, its state (captures, iteration, random stream), and the one
//! function on the per-request path, [`User::execute`].

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use hmac::{Hmac, Mac};
use http::header::RETRY_AFTER;
use http::{HeaderValue, Uri};
use http_body_util::{BodyExt, Full};
use sha2::Sha256;
use stampede_metrics::{FailureKey, Outcome};
use stampede_plan::{CaptureFrom, Check, Context, Request, Think};
use tokio::task::AbortHandle;
use tokio::time::Instant;

use crate::conn::{Sender, classify};
use crate::inflight::InFlight;
use crate::rng::Rng;
use crate::workload::{Ledger, Workload};

/// A live connection; dropping it tears the connection down at once (a timed-out request
/// must not leave a socket behind waiting for a server that stalls).
struct Conn {
    sender: Sender,
    driver: AbortHandle,
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.driver.abort();
    }
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
    /// Reused buffers: rendered URI and body, received body.
    text: String,
    body: Vec<u8>,
}

impl User {
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
            text: String::new(),
            body: Vec::new(),
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
        let request = &work.plan.requests[id];
        let ledger = work.route(ledger);
        let flight = InFlight::new(work, id, ledger, scheduled);
        if let Err((outcome, started)) = self.ready_connection(work).await {
            {
                flight.land();
                let now = Instant::now();
                let mut stats = work.ledger(ledger);
                let entry = &mut stats.requests[id];
                entry.outcomes.bump(outcome);
                entry.failed += 1;
                entry.failures.bump(FailureKey::Transport(outcome));
                entry.latency.record_us(micros(now - started));
                if let Some(at) = scheduled {
                    entry.corrected.record_us(micros(now - at));
                }
                return ledger;
            }
        };
        let built = self.build(work, id);
        let sender = &mut self
            .conn
            .as_mut()
            .expect("ready_connection left a connection")
            .sender;
        let body_buf = &mut self.body;
        let sent = Instant::now();
        let exchange = async {
            let response = sender.send_request(built).await.map_err(|e| classify(&e))?;
            let (parts, mut body) = response.into_parts();
            let mut bytes = 0u64;
            let keep = work.prepared[id].keep_body;
            if keep {
                body_buf.clear();
            }
            while let Some(frame) = body.frame().await {
                let frame = frame.map_err(|e| classify(&e))?;
                if let Some(data) = frame.data_ref() {
                    bytes += data.len() as u64;
                    if keep {
                        body_buf.extend_from_slice(data);
                    }
                }
            }
            Ok::<_, Outcome>((parts, bytes))
        };
        let result = match tokio::time::timeout(request.timeout, exchange).await {
            Ok(result) => result,
            Err(_) => Err(Outcome::Timeout),
        };
        let done = Instant::now();
        let latency = done - sent;

        flight.land();
        let mut stats = work.ledger(ledger);
        let entry = &mut stats.requests[id];
        entry.latency.record_us(micros(latency));
        if let Some(at) = scheduled {
            entry.corrected.record_us(micros(done - at));
        }
        match result {
            Err(outcome) => {
                // The connection's state is unknown after a failure: start afresh next time.
                self.conn = None;
                entry.outcomes.bump(outcome);
                entry.failed += 1;
                entry.failures.bump(FailureKey::Transport(outcome));
            }
            Ok((parts, bytes)) => {
                let status = parts.status.as_u16();
                let outcome = Outcome::from_status(status);
                entry.outcomes.bump(outcome);
                entry.body_bytes += bytes;
                if outcome == Outcome::RateLimited && parts.headers.contains_key(RETRY_AFTER) {
                    entry.retry_after_seen += 1;
                }
                if !request.expect.contains(status) {
                    entry.failed += 1;
                    entry.failures.bump(FailureKey::Status(status));
                } else if let Some(check) = self.failed_check(work, id, status, latency) {
                    entry.failed += 1;
                    entry.checks_failed += 1;
                    entry.failures.bump(FailureKey::Check(check as u16));
                }
                drop(stats);
                self.capture(request, &parts.headers);
            }
        }
        ledger
    }

    /// A connection ready for a request: the current one, or a new one (counted as a reconnect
    /// when it replaces one that broke). On failure, the outcome and when the attempt began.
    async fn ready_connection(&mut self, work: &Workload) -> Result<(), (Outcome, Instant)> {
        if let Some(conn) = &mut self.conn {
            if conn.sender.ready().await.is_ok() {
                return Ok(());
            }
            self.conn = None;
        }
        let started = Instant::now();
        if self.connected_before {
            work.ledger(Ledger::Step).reconnects += 1;
        }
        let (sender, driver) = work
            .connector
            .connect(work.plan.connect_timeout)
            .await
            .map_err(|outcome| (outcome, started))?;
        self.connected_before = true;
        let conn = self.conn.insert(Conn { sender, driver });
        conn.sender
            .ready()
            .await
            .map_err(|e| (classify(&e), started))?;
        Ok(())
    }

    /// Builds the request: static parts shared, templated parts rendered, body signed.
    fn build(&mut self, work: &Workload, id: usize) -> http::Request<Full<Bytes>> {
        let prepared = &work.prepared[id];
        let request = &work.plan.requests[id];
        let mut ctx = Ctx {
            work,
            vu: self.id,
            iteration: self.iteration,
            rng: &mut self.rng,
            captures: &self.captures,
            row: (self.row_seq, self.row_random),
        };

        let uri = match &prepared.uri {
            Some(uri) => uri.clone(),
            None => {
                self.text.clear();
                self.text.push_str(&work.prefix);
                request.path.render_into(&mut ctx, &mut self.text);
                for (key, value) in &request.query {
                    self.text
                        .push(if self.text.contains('?') { '&' } else { '?' });
                    encode_query(key, &mut self.text);
                    self.text.push('=');
                    let mut rendered = String::new();
                    value.render_into(&mut ctx, &mut rendered);
                    encode_query(&rendered, &mut self.text);
                }
                // A template that renders into an invalid URI is the scenario's fault, sent as "/"
                // would hide it; it fails at the server as a 4xx instead of crashing the run.
                Uri::try_from(self.text.as_str()).unwrap_or_else(|_| Uri::from_static("/"))
            }
        };
        let body = match &prepared.body {
            Some(bytes) => bytes.clone(),
            None => {
                let mut text = String::new();
                if let Some(template) = &request.body {
                    template.render_into(&mut ctx, &mut text);
                }
                Bytes::from(text)
            }
        };
        let mut headers = prepared.headers.clone();
        for (name, template) in &prepared.dynamic_headers {
            let mut value = String::new();
            template.render_into(&mut ctx, &mut value);
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.append(name.clone(), value);
            }
        }
        // HMAC accepts a key of any length, so `new_from_slice` cannot fail here.
        if let Some(sign) = &request.sign
            && let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&sign.secret)
        {
            mac.update(&body);
            let value = format!(
                "{}{}",
                sign.prefix,
                hex::encode(mac.finalize().into_bytes())
            );
            if let (Ok(name), Ok(mut value)) = (
                http::HeaderName::from_bytes(sign.header.as_bytes()),
                HeaderValue::from_str(&value),
            ) {
                value.set_sensitive(true);
                headers.insert(name, value);
            }
        }
        let mut built = http::Request::new(Full::new(body));
        *built.method_mut() = prepared.method.clone();
        *built.uri_mut() = uri;
        *built.headers_mut() = headers;
        built
    }

    /// The index of the first check the response fails, if any.
    fn failed_check(
        &self,
        work: &Workload,
        id: usize,
        status: u16,
        latency: Duration,
    ) -> Option<usize> {
        let request = &work.plan.requests[id];
        if request.checks.is_empty() {
            return None;
        }
        let prepared = &work.prepared[id];
        let json = if prepared.json_checks.is_empty() {
            None
        } else {
            serde_json::from_slice::<serde_json::Value>(&self.body).ok()
        };
        request
            .checks
            .iter()
            .enumerate()
            .position(|(index, check)| match check {
                Check::Status(set) => !set.contains(status),
                Check::MaxLatency(limit) => latency > *limit,
                Check::BodyContains(needle) => !contains(&self.body, needle.as_bytes()),
                Check::Json { pointer, .. } => {
                    let expected = prepared
                        .json_checks
                        .iter()
                        .find(|(i, _)| *i == index)
                        .map(|(_, v)| v);
                    json.as_ref().and_then(|j| j.pointer(pointer)) != expected
                }
            })
    }

    fn capture(&mut self, request: &Request, headers: &http::HeaderMap) {
        if request.captures.is_empty() {
            return;
        }
        let mut json = None;
        for capture in &request.captures {
            let value = match &capture.from {
                CaptureFrom::Header(name) => headers
                    .get(name.as_str())
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned),
                CaptureFrom::JsonPointer(pointer) => {
                    let parsed = json.get_or_insert_with(|| {
                        serde_json::from_slice::<serde_json::Value>(&self.body).ok()
                    });
                    parsed
                        .as_ref()
                        .and_then(|j| j.pointer(pointer))
                        .map(|v| match v {
                            serde_json::Value::String(s) => s.clone(),
                            other => other.to_string(),
                        })
                }
            };
            // A response without the value keeps the previous one: a user that lost its token
            // shows as 401s in the results, which is what happened.
            if let (Some(value), Some(slot)) = (value, self.captures.get_mut(capture.slot)) {
                *slot = value;
            }
        }
    }
}

/// The per-user state a template sees.
struct Ctx<'a> {
    work: &'a Workload,
    vu: u64,
    iteration: u64,
    rng: &'a mut Rng,
    captures: &'a [String],
    row: (u64, u64),
}

impl Context for Ctx<'_> {
    fn vu(&self) -> u64 {
        self.vu
    }
    fn iteration(&self) -> u64 {
        self.iteration
    }
    fn next_seq(&mut self) -> u64 {
        self.work.next_seq()
    }
    fn now_ms(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64)
    }
    fn rand(&mut self, lo: i64, hi: i64) -> i64 {
        self.rng.range_i64(lo, hi)
    }
    fn random_u128(&mut self) -> u128 {
        (u128::from(self.rng.next_u64()) << 64) | u128::from(self.rng.next_u64())
    }
    fn data(&self, column: usize) -> &str {
        match &self.work.plan.data {
            Some(data) => data
                .row(self.vu, self.row.0, self.row.1)
                .get(column)
                .map_or("", String::as_str),
            None => "",
        }
    }
    fn capture(&self, slot: usize) -> &str {
        self.captures.get(slot).map_or("", String::as_str)
    }
}

pub(crate) fn micros(d: Duration) -> u64 {
    d.as_micros().min(u128::from(u64::MAX)) as u64
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn encode_query(text: &str, out: &mut String) {
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push('%');
            out.push(
                char::from_digit(u32::from(byte >> 4), 16)
                    .unwrap_or('0')
                    .to_ascii_uppercase(),
            );
            out.push(
                char::from_digit(u32::from(byte & 15), 16)
                    .unwrap_or('0')
                    .to_ascii_uppercase(),
            );
        }
    }
}
