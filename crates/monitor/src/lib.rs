//! Watching the target while it is loaded: its CPU and resident memory, from /proc for a local
//! process and from a Prometheus endpoint for anything that exposes one.
//!
//! Knows nothing of the engine: a [`Watch`] implements the metrics crate's `Probe`, and the
//! engine asks it for a sample at the end of every interval. Limits are not judged here; the
//! engine's one live judge does that, on the samples that travel in the interval events.
//!
//! A failed scrape or a vanished process is logged and sampled as "unknown", never fatal: a
//! monitor must not be what breaks a run.

mod proc;
mod scrape;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::Duration;

use stampede_metrics::{MonitorSample, Probe};
use stampede_plan::{BaseUrl, HttpBase, MetricsUrl, Plan};
use tokio::time::Instant;

use proc::ProcWatch;
use scrape::Scrape;

/// The embedded target names its runtime threads so (see `stampede-target`), which is how its
/// CPU use is told apart from the load generator's in our shared process.
const TARGET_THREADS: &str = "stampede-target";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read the pid-file {}", path.display())]
    PidFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the pid-file {} holds no PID", path.display())]
    NoPid { path: PathBuf },
    #[error("the target process {pid} named by [monitor] is not running")]
    NotRunning { pid: u32 },
}

impl Error {
    /// What to do about it, for the command line's `hint:` line.
    pub fn hint(&self) -> &'static str {
        match self {
            Error::PidFile { .. } => {
                "start the target first; `pid-file` in [monitor] is relative to the scenario file"
            }
            Error::NoPid { .. } => "the file should hold one number, the target's process id",
            Error::NotRunning { .. } => {
                "start the target first, or fix `pid` / `pid-file` (processes are read from /proc, so on Linux only)"
            }
        }
    }
}

/// Watches the target during a run.
pub struct Watch {
    name: String,
    process: Option<ProcWatch>,
    scrape: Option<Scrape>,
    start: Instant,
}

impl Watch {
    /// What the plan asks to watch: its `[monitor]`, or the embedded target when `builtin` is
    /// its address. `None` when there is nothing to watch. Fails when the process to watch is
    /// not running, since a run whose guard is missing should not start.
    pub fn new(plan: &Plan, builtin: Option<SocketAddr>) -> Result<Option<Watch>, Error> {
        let monitor = plan.monitor.clone().unwrap_or_default();
        let (mut process, mut scrape) = (None, None);
        match builtin {
            Some(addr) if monitor.process.is_none() && monitor.metrics.is_none() => {
                // The target shares our process: its threads' CPU is its own, and its /metrics
                // reports the process's RSS (the load generator's included).
                process = Some(ProcWatch::new(std::process::id(), Some(TARGET_THREADS)));
                let url = MetricsUrl {
                    server: HttpBase {
                        host: addr.ip().to_string(),
                        port: addr.port(),
                        path_prefix: String::new(),
                    },
                    path: "/metrics".to_owned(),
                };
                scrape = Some(Scrape::new(url, &monitor.rss_series, None, plan.interval));
            }
            _ => {
                if let Some(named) = &monitor.process {
                    process = Some(ProcWatch::new(proc::resolve_pid(named)?, None));
                }
                if let Some(url) = &monitor.metrics {
                    scrape = Some(Scrape::new(
                        url.clone(),
                        &monitor.rss_series,
                        Some(&monitor.cpu_seconds_series),
                        plan.interval,
                    ));
                }
            }
        }
        if process.is_none() && scrape.is_none() {
            return Ok(None);
        }
        let name = match (&process, &scrape, &plan.base_url) {
            (Some(p), _, BaseUrl::Builtin) if p.threads.is_some() => "the demo target".to_owned(),
            (Some(p), _, _) => format!("PID {}", p.pid),
            (None, Some(s), _) => s.url.url(),
            (None, None, _) => unreachable!("checked above"),
        };
        Ok(Some(Watch {
            name,
            process,
            scrape,
            start: Instant::now(),
        }))
    }

    /// Offsets count from `start`, the run's start.
    pub fn starting_at(mut self, start: Instant) -> Watch {
        self.start = start;
        self
    }

    /// What is watched, in words: "the demo target", "PID 4242 and http://127.0.0.1:9100/metrics".
    pub fn describe(&self) -> String {
        let mut parts = vec![self.name.clone()];
        if let (Some(_), Some(scrape)) = (&self.process, &self.scrape) {
            parts.push(scrape.url.url());
        }
        parts.join(" and ")
    }

    /// One sample of the target; a value /proc gives wins over the scrape's.
    pub async fn read(&mut self) -> MonitorSample {
        let (mut cpu, mut rss) = match &mut self.process {
            Some(process) => process.read(Instant::now()),
            None => (None, None),
        };
        if let Some(scrape) = &mut self.scrape {
            let (scraped_cpu, scraped_rss) = scrape.read().await;
            cpu = cpu.or(scraped_cpu);
            rss = rss.or(scraped_rss);
        }
        MonitorSample {
            source: 0,
            offset: Instant::now().saturating_duration_since(self.start),
            cpu_percent: cpu,
            rss_bytes: rss,
        }
    }
}

impl Probe for Watch {
    fn sources(&self) -> Vec<String> {
        vec![self.name.clone()]
    }

    fn sample(
        &mut self,
        _offset: Duration,
    ) -> Pin<Box<dyn Future<Output = Vec<MonitorSample>> + '_>> {
        Box::pin(async move { vec![self.read().await] })
    }
}
