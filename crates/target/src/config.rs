//! What the target serves and which faults it injects; the defaults are a friendly demo.
//!
//! Plain data: nothing here opens a file or a socket. Certificate files named by
//! [`TlsConfig::Files`] are read when the target starts.

use std::path::PathBuf;
use std::time::Duration;

/// Environment variable that `Config::default()` reads for the webhook secret.
pub const WEBHOOK_SECRET_ENV: &str = "STAMPEDE_DEMO_WEBHOOK_SECRET";

/// How the target is run. `Config::default()` is what `stampede target` serves.
#[derive(Debug, Clone)]
pub struct Config {
    /// Runtime worker threads; 0 is taken as 1.
    pub threads: usize,
    /// Faults applied to every request except `/metrics`.
    pub faults: Faults,
    /// Keys accepted as `Authorization: Bearer <key>` or `X-API-Key: <key>`.
    pub api_keys: Vec<String>,
    /// Secret of the `X-Hub-Signature-256` HMAC checked by `POST /webhooks/{name}`.
    pub webhook_secret: String,
    /// Token-bucket rate of `POST /events` per API key or token; burst is one second's
    /// worth; 0 means unlimited.
    pub rate_limit_per_s: u32,
    /// Events kept in memory; the oldest is evicted first; 0 is taken as 1.
    pub store_capacity: usize,
    /// Simulated server workers for the `work` fault: at most this many requests are "being
    /// worked on" at once, the rest queue. With `work = S`, the target's capacity is
    /// `workers / S` requests per second, so a sweep past it shows a real knee; 0 is taken as 1.
    pub workers: usize,
    /// One token bucket shared by every request except `/metrics`: past it, `429` with
    /// `Retry-After` in whole seconds (at least 1). Burst is one second's worth. `None` (or
    /// `Some(0)`) leaves every route unlimited but `POST /events`, as before.
    pub rate_limit_all_per_s: Option<u32>,
    /// Serve HTTPS instead of plain HTTP (HTTP/1.1 and HTTP/2 by ALPN either way).
    pub tls: Option<TlsConfig>,
    /// Server-sent events, conversations and WebSockets.
    pub streams: Streams,
    /// Seed of the draws the target makes (faults, fan-out delays and drops), so a test can
    /// repeat them; `None` draws a fresh seed at start.
    pub seed: Option<u64>,
}

impl Default for Config {
    fn default() -> Self {
        // An empty variable is treated as unset: an empty HMAC key is almost surely a
        // mistake in a shell profile, not a choice.
        let webhook_secret = std::env::var(WEBHOOK_SECRET_ENV)
            .ok()
            .filter(|secret| !secret.is_empty())
            .unwrap_or_else(|| "demo-webhook-secret".into());
        Config {
            threads: 1,
            faults: Faults::default(),
            api_keys: vec!["demo-key".into()],
            webhook_secret,
            rate_limit_per_s: 1000,
            store_capacity: 10_000,
            workers: 8,
            rate_limit_all_per_s: None,
            tls: None,
            streams: Streams::default(),
            seed: None,
        }
    }
}

/// Faults injected into requests. Ratios are fractions in `0.0..=1.0`; all are off by
/// default. Each request may override them with query parameters (see the crate docs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Faults {
    /// Extra time before answering.
    pub latency: Latency,
    /// Fraction of requests answered `500`.
    pub error_ratio: f64,
    /// Fraction of requests held unanswered for `stall_for`, after which the connection is
    /// closed.
    pub stall_ratio: f64,
    /// How long a stalled request is held; a stall always ends.
    pub stall_for: Duration,
    /// Fraction of requests whose connection is closed without writing any response.
    pub close_ratio: f64,
    /// Service time each request spends holding one of the `workers`: a capacity limit that
    /// queues requests (latency climbs, throughput plateaus) instead of just slowing them.
    pub work: Duration,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            latency: Latency::None,
            error_ratio: 0.0,
            stall_ratio: 0.0,
            stall_for: Duration::from_secs(30),
            close_ratio: 0.0,
            work: Duration::ZERO,
        }
    }
}

/// Extra time the target waits before answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Latency {
    /// Answer at once.
    #[default]
    None,
    /// Always wait this long.
    Fixed(Duration),
    /// Wait a uniformly drawn time between the two bounds (in either order).
    Range(Duration, Duration),
}

/// Where the TLS certificate comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsConfig {
    /// A fresh CA and a leaf for `localhost`, `127.0.0.1` and `::1`, signed by it, made at
    /// start; the CA's PEM is `Target::certificate_pem()`, for clients to trust.
    Generated,
    /// A PEM certificate chain (leaf first) and its PEM private key (PKCS#8, PKCS#1 or SEC1).
    Files { cert: PathBuf, key: PathBuf },
}

/// Knobs of `GET /stream` (server-sent events), `POST /conversations/{id}/messages` and
/// `GET /ws`. Every queue they use is bounded by these numbers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Streams {
    /// Time between `: heartbeat` comments on each open event stream.
    pub heartbeat: Duration,
    /// Delay added to each delivery of a posted message to a stream, drawn per delivery.
    pub fanout_delay: Latency,
    /// Fraction of deliveries discarded (counted as dropped), in `0.0..=1.0`.
    pub drop_ratio: f64,
    /// Events (or WebSocket messages) queued for one stream; a consumer whose queue is full
    /// is disconnected and counted as a slow consumer. For an event stream that closes its
    /// connection, so over HTTP/2 the connection's other streams go with it. 0 is taken as 1.
    pub buffer: usize,
    /// Messages each conversation keeps to replay after `Last-Event-ID`; 0 is taken as 1.
    pub replay: usize,
    /// Most event streams and WebSockets open at once (together); past it, `503`.
    pub max_open: usize,
}

impl Default for Streams {
    fn default() -> Self {
        Streams {
            heartbeat: Duration::from_secs(15),
            fanout_delay: Latency::None,
            drop_ratio: 0.0,
            buffer: 1024,
            replay: 256,
            max_open: 100_000,
        }
    }
}
