//! What the target serves and which faults it injects; the defaults are a friendly demo.

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
