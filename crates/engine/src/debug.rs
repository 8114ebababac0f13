//! `--http-debug`: the first N exchanges of a run, as plain data handed to a listener, with
//! every secret redacted before it leaves the engine.
//!
//! Redacted: the credential headers (`Authorization`, `Proxy-Authorization`, `Cookie`,
//! `Set-Cookie`, `X-API-Key`), every header the scenario marks secret or whose value came from
//! `${env:..}` (the engine marks those sensitive), the request target and body when a value from
//! `${env:..}` is in them, and the HMAC signature header. Response bodies come from the target
//! and are shown as they are, truncated. Knows nothing of terminals: the listener prints.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use http::HeaderMap;
use stampede_metrics::sample;

/// What a redacted value reads as.
pub const REDACTED: &str = "<redacted>";

/// How much of each body an exchange shows.
const BODY_BYTES: usize = 1024;

/// Header names whose values are credentials, whatever they hold.
const SECRET_HEADERS: [&str; 5] = [
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
];

/// One request as sent and what came back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exchange {
    /// The exchange's number in the run, from 1.
    pub number: usize,
    /// The scenario's name for the request.
    pub request: String,
    pub method: String,
    /// Path and query as sent (absolute for HTTP/2), or [`REDACTED`]; empty when no
    /// connection could be opened (then `response` says why).
    pub target: String,
    /// `HTTP/1.1` or `HTTP/2`; empty when no connection could be opened.
    pub version: &'static str,
    pub headers: Vec<(String, String)>,
    /// The body, printable and truncated, or [`REDACTED`].
    pub body: String,
    /// The response, or what went wrong instead.
    pub response: Result<DebugResponse, String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DebugResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// Printable and truncated.
    pub body: String,
    /// From the request going out to the end of the body.
    pub elapsed: Duration,
}

/// Hands the first `limit` exchanges of a run to `listener`, from whichever load thread made
/// them. Off the per-request path once the limit is reached: one atomic load.
#[derive(Clone)]
pub struct HttpDebug {
    limit: usize,
    taken: Arc<AtomicUsize>,
    listener: Arc<dyn Fn(&Exchange) + Send + Sync>,
}

impl std::fmt::Debug for HttpDebug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HttpDebug(first {})", self.limit)
    }
}

impl HttpDebug {
    pub fn new(limit: usize, listener: impl Fn(&Exchange) + Send + Sync + 'static) -> HttpDebug {
        HttpDebug {
            limit,
            taken: Arc::new(AtomicUsize::new(0)),
            listener: Arc::new(listener),
        }
    }

    /// The next exchange's number, while fewer than `limit` were taken.
    pub(crate) fn claim(&self) -> Option<usize> {
        if self.taken.load(Ordering::Relaxed) >= self.limit {
            return None;
        }
        let taken = self.taken.fetch_add(1, Ordering::Relaxed);
        (taken < self.limit).then_some(taken + 1)
    }

    pub(crate) fn emit(&self, exchange: &Exchange) {
        (self.listener)(exchange);
    }
}

/// Header pairs with secrets replaced by [`REDACTED`].
pub(crate) fn headers(map: &HeaderMap) -> Vec<(String, String)> {
    map.iter()
        .map(|(name, value)| {
            let secret = value.is_sensitive() || SECRET_HEADERS.contains(&name.as_str());
            let shown = if secret {
                REDACTED.to_owned()
            } else {
                sample::printable(value.as_bytes(), BODY_BYTES)
            };
            (name.as_str().to_owned(), shown)
        })
        .collect()
}

/// A body as shown: printable, truncated.
pub(crate) fn body(bytes: &[u8]) -> String {
    sample::printable(bytes, BODY_BYTES)
}

/// How much of a response body the debug output needs kept.
pub(crate) const KEEP_BYTES: usize = BODY_BYTES + 1;

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn credentials_and_sensitive_values_are_redacted() {
        let mut map = HeaderMap::new();
        map.insert("authorization", HeaderValue::from_static("Bearer tok"));
        map.insert("x-api-key", HeaderValue::from_static("k"));
        map.insert("set-cookie", HeaderValue::from_static("s=1"));
        let mut secret = HeaderValue::from_static("from-env");
        secret.set_sensitive(true);
        map.insert("x-custom", secret);
        map.insert("accept", HeaderValue::from_static("*/*"));
        let shown = headers(&map);
        for (name, value) in &shown {
            let expected = if name == "accept" { "*/*" } else { REDACTED };
            assert_eq!(value, expected, "{name}");
        }
    }

    #[test]
    fn only_the_first_exchanges_are_claimed() {
        let debug = HttpDebug::new(2, |_| {});
        let claimed: Vec<_> = (0..5).map(|_| debug.claim()).collect();
        assert_eq!(claimed, [Some(1), Some(2), None, None, None]);
    }
}
