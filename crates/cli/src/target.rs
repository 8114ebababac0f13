//! `stampede target`: the embedded demo server, standalone.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use stampede_target::{Config, Latency};

use crate::exit;

/// Run the embedded demo target until Ctrl-C.
#[derive(Debug, clap::Args)]
pub struct TargetCmd {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Runtime worker threads.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Added latency per request: `20ms`, or a range `10ms..50ms`.
    #[arg(long)]
    latency: Option<String>,
    /// Fraction of requests answered 500 (0..1).
    #[arg(long, default_value_t = 0.0)]
    error_ratio: f64,
    /// Requests per second allowed per API key on POST /events before 429 (0: unlimited).
    #[arg(long, default_value_t = 1000)]
    rate_limit: u32,
}

impl TargetCmd {
    pub fn run(self) -> anyhow::Result<u8> {
        let mut config = Config {
            threads: self.threads.max(1),
            rate_limit_per_s: self.rate_limit,
            ..Config::default()
        };
        config.faults.error_ratio = self.error_ratio;
        if let Some(text) = &self.latency {
            config.faults.latency =
                parse_latency(text).with_context(|| format!("bad --latency `{text}`"))?;
        }
        tracing::info!(listen = %self.listen, "demo target serving; Ctrl-C to stop");
        stampede_target::run_blocking(self.listen, config).context("demo target failed")?;
        Ok(exit::PASSED)
    }
}

fn parse_latency(text: &str) -> anyhow::Result<Latency> {
    let one = |s: &str| -> anyhow::Result<Duration> { Ok(humantime::parse_duration(s.trim())?) };
    Ok(match text.split_once("..") {
        Some((lo, hi)) => Latency::Range(one(lo)?, one(hi)?),
        None => Latency::Fixed(one(text)?),
    })
}
