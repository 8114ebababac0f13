//! `stampede target`: the embedded demo server, standalone.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use stampede_target::{Config, Latency, Streams, Target, TlsConfig};

use crate::exit;
use crate::output;

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
    #[arg(long, value_parser = parse_latency)]
    latency: Option<Latency>,
    /// Fraction of requests answered 500 (0..1).
    #[arg(long, default_value_t = 0.0, value_parser = parse_ratio)]
    error_ratio: f64,
    /// Requests per second allowed per API key on POST /events before 429 (0: unlimited).
    #[arg(long, default_value_t = 1000)]
    rate_limit: u32,
    /// Requests per second allowed across every route but /metrics before 429 (0: unlimited).
    #[arg(long, value_name = "N")]
    rate_limit_all: Option<u32>,
    /// Serve HTTPS (HTTP/2 and HTTP/1.1 by ALPN) with a CA and certificate generated at start
    /// for localhost, 127.0.0.1 and ::1. The CA is written to --cert-out, else printed on
    /// stdout, for a scenario's ca-file.
    #[arg(long)]
    tls: bool,
    /// Serve HTTPS with this PEM certificate chain instead of a generated one (needs --key).
    #[arg(long, value_name = "PATH", requires = "key")]
    cert: Option<PathBuf>,
    /// The PEM private key of --cert.
    #[arg(long, value_name = "PATH", requires = "cert")]
    key: Option<PathBuf>,
    /// Where to write the PEM that clients should trust (with --tls or --cert).
    #[arg(long, value_name = "PATH")]
    cert_out: Option<PathBuf>,
    /// Time between `: heartbeat` comments on each GET /stream.
    #[arg(long, default_value = "15s", value_parser = humantime::parse_duration)]
    heartbeat: Duration,
    /// Delay of each delivery of a posted message to a stream: `50ms`, or `10ms..100ms`.
    #[arg(long, value_parser = parse_latency)]
    fanout_delay: Option<Latency>,
    /// Fraction of deliveries to streams discarded (0..1), counted as dropped.
    #[arg(long, default_value_t = 0.0, value_parser = parse_ratio)]
    drop_ratio: f64,
    /// Events queued per stream (and messages per websocket) before the consumer is cut off.
    #[arg(long, default_value_t = 1024, value_name = "N")]
    stream_buffer: usize,
    /// Messages each conversation keeps to replay after Last-Event-ID.
    #[arg(long, default_value_t = 256, value_name = "N")]
    replay: usize,
    /// Most streams and websockets open at once; past it, 503.
    #[arg(long, default_value_t = 100_000, value_name = "N")]
    max_streams: usize,
    /// Seed of the target's random draws (faults, fan-out delays and drops), to repeat a run.
    #[arg(long)]
    seed: Option<u64>,
}

impl TargetCmd {
    pub fn run(self) -> anyhow::Result<u8> {
        let tls = match (&self.cert, &self.key) {
            (Some(cert), Some(key)) => Some(TlsConfig::Files {
                cert: cert.clone(),
                key: key.clone(),
            }),
            _ if self.tls => Some(TlsConfig::Generated),
            _ => None,
        };
        if tls.is_none() && self.cert_out.is_some() {
            anyhow::bail!(
                "--cert-out needs --tls (or --cert and --key): plain HTTP has no certificate"
            );
        }
        let mut config = Config {
            threads: self.threads.max(1),
            rate_limit_per_s: self.rate_limit,
            rate_limit_all_per_s: self.rate_limit_all,
            tls,
            streams: Streams {
                heartbeat: self.heartbeat,
                fanout_delay: self.fanout_delay.unwrap_or_default(),
                drop_ratio: self.drop_ratio,
                buffer: self.stream_buffer,
                replay: self.replay,
                max_open: self.max_streams,
            },
            seed: self.seed,
            ..Config::default()
        };
        config.faults.error_ratio = self.error_ratio;
        if let Some(latency) = self.latency {
            config.faults.latency = latency;
        }
        let target = Target::start_on(self.listen, config).context("demo target failed")?;
        // Results go to stdout: the PEM is what `stampede target --tls > ca.pem` keeps.
        if let Some(pem) = target.certificate_pem() {
            match &self.cert_out {
                Some(path) => target
                    .write_certificate(path)
                    .context("cannot write --cert-out")?,
                None => output::print(pem)?,
            }
        }
        tracing::info!(url = %target.base_url(), "demo target serving; Ctrl-C to stop");
        target.serve_until_signal().context("demo target failed")?;
        Ok(exit::PASSED)
    }
}

fn parse_latency(text: &str) -> Result<Latency, String> {
    let one = |s: &str| humantime::parse_duration(s.trim()).map_err(|err| err.to_string());
    Ok(match text.split_once("..") {
        Some((lo, hi)) => Latency::Range(one(lo)?, one(hi)?),
        None => Latency::Fixed(one(text)?),
    })
}

fn parse_ratio(text: &str) -> Result<f64, String> {
    text.parse::<f64>()
        .ok()
        .filter(|ratio| (0.0..=1.0).contains(ratio))
        .ok_or_else(|| format!("`{text}` is not a fraction between 0 and 1"))
}
