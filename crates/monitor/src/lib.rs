//! Watching the target while it is loaded: its CPU and resident memory, from /proc for a local
//! process and from a Prometheus endpoint for anything that exposes one.
//!
//! Knows nothing of the engine: a [`Watch`] implements the metrics crate's `Probe`, and the
//! engine asks it for a sample at the end of every interval. Limits are not judged here; the
//! engine's one live judge does that, on the samples that travel in the interval events.
//!
//! A monitor is checked once before the run ([`Watch::check`]): a process that is not running,
//! a scrape that is refused or is not Prometheus text, a series that is not there, each is an
//! error naming what and where, so a guard that cannot see stops nothing silently. After that a
//! failed scrape or a vanished process is logged and sampled as failed, never fatal: a monitor
//! must not be what breaks a run.

mod proc;
mod scrape;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::Duration;

use stampede_metrics::{MonitorSample, Probe};
use stampede_plan::{HttpBase, MetricsUrl, Monitor, MonitorProcess, Plan};
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
    /// `url` is already redacted: a query may carry a token.
    #[error("cannot scrape {url}: {why}")]
    Scrape { url: String, why: String },
    #[error("{url} does not answer with Prometheus text: {why}")]
    NotPrometheus { url: String, why: String },
    #[error("{url} has no series `{series}` (the {what})")]
    MissingSeries {
        url: String,
        series: String,
        what: &'static str,
    },
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
            Error::Scrape { .. } | Error::NotPrometheus { .. } => {
                "start the target first, or fix `metrics-url`; `required = false` in [monitor] \
                 runs without it"
            }
            Error::MissingSeries { .. } => {
                "name the series the endpoint has in [monitor] `series = { rss = .., cpu-seconds = .. }`"
            }
        }
    }
}

/// Watches the target during a run.
pub struct Watch {
    name: String,
    /// What it reads, in words ("PID 4242"), when `name` is a `[[monitor]]` name.
    what: String,
    /// The process as the plan names it, resolved again by [`Watch::check`] when it was not
    /// running at [`Watch::new`].
    named: Option<MonitorProcess>,
    process: Option<ProcWatch>,
    scrape: Option<Scrape>,
    required: bool,
    /// Left out at start: every sample is a failed one, read from nothing.
    absent: bool,
    start: Instant,
}

impl Watch {
    /// What one monitor asks to watch, or the embedded target when `builtin` is its address
    /// and the monitor names no source. `None` when there is nothing to watch. Reads nothing yet
    /// but the PID: [`Watch::check`] says whether the target can be read.
    pub fn new(
        monitor: &Monitor,
        interval: Duration,
        builtin: Option<SocketAddr>,
    ) -> Option<Watch> {
        let (mut process, mut scrape, mut named) = (None, None, None);
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
                scrape = Some(Scrape::new(url, &monitor.rss_series, None, interval));
            }
            _ => {
                if let Some(wanted) = &monitor.process {
                    process = proc::resolve_pid(wanted)
                        .ok()
                        .map(|pid| ProcWatch::new(pid, None));
                    named = Some(wanted.clone());
                }
                if let Some(url) = &monitor.metrics {
                    scrape = Some(Scrape::new(
                        url.clone(),
                        &monitor.rss_series,
                        Some(&monitor.cpu_seconds_series),
                        interval,
                    ));
                }
            }
        }
        let name = match (&process, &named, &scrape) {
            (Some(p), _, _) if p.threads.is_some() => "the demo target".to_owned(),
            (Some(p), _, _) => format!("PID {}", p.pid),
            (None, Some(MonitorProcess::Pid(pid)), _) => format!("PID {pid}"),
            (None, Some(MonitorProcess::PidFile(path)), _) => {
                format!("the process of {}", path.display())
            }
            (None, None, Some(s)) => scrape::redacted(&s.url),
            (None, None, None) => return None,
        };
        // A `[[monitor]]` name wins: it is how columns and limits name this one.
        let what = name.clone();
        let name = monitor.name.clone().unwrap_or(name);
        Some(Watch {
            name,
            what,
            named,
            process,
            scrape,
            required: monitor.required,
            absent: false,
            start: Instant::now(),
        })
    }

    /// Reads the target once, as the run will: the process is running, the scrape answers
    /// with Prometheus text holding the series asked for. The error names what failed and
    /// where (a metrics URL without its query, which may hold a token).
    pub async fn check(&mut self) -> Result<(), Error> {
        if self.process.is_none()
            && let Some(named) = &self.named
        {
            self.process = Some(ProcWatch::new(proc::resolve_pid(named)?, None));
        }
        let cpu_from_scrape = self.process.is_none();
        if let Some(scrape) = &mut self.scrape {
            scrape.check(cpu_from_scrape).await?;
        }
        Ok(())
    }

    /// Whether a failed [`Watch::check`] should stop the run rather than leave this out.
    pub fn required(&self) -> bool {
        self.required
    }

    /// Leaves the target unread: the run goes on and every sample says it failed, so the
    /// results show a monitor that was unavailable rather than a target at 0 %.
    pub fn leave_out(&mut self) {
        self.absent = true;
        self.process = None;
        self.scrape = None;
    }

    /// Offsets count from `start`, the run's start.
    pub fn starting_at(mut self, start: Instant) -> Watch {
        self.start = start;
        self
    }

    /// What is watched, in words: "the demo target", "PID 4242 and http://127.0.0.1:9100/metrics".
    pub fn describe(&self) -> String {
        let mut parts = vec![self.what.clone()];
        if let (Some(_), Some(scrape)) = (&self.process, &self.scrape) {
            parts.push(scrape::redacted(&scrape.url));
        }
        let what = parts.join(" and ");
        if self.name == self.what {
            what
        } else {
            format!("{} ({what})", self.name)
        }
    }

    /// One sample of the target; a value /proc gives wins over the scrape's. Failed when a
    /// source that should answer did not.
    pub async fn read(&mut self) -> MonitorSample {
        let mut failed = self.absent || (self.named.is_some() && self.process.is_none());
        let (mut cpu, mut rss) = match &mut self.process {
            Some(process) => {
                let read = process.read(Instant::now());
                failed |= process.failed();
                read
            }
            None => (None, None),
        };
        if let Some(scrape) = &mut self.scrape {
            let (scraped_cpu, scraped_rss) = scrape.read().await;
            failed |= scrape.missed();
            cpu = cpu.or(scraped_cpu);
            rss = rss.or(scraped_rss);
        }
        MonitorSample {
            source: 0,
            offset: Instant::now().saturating_duration_since(self.start),
            cpu_percent: cpu,
            rss_bytes: rss,
            failed,
        }
    }
}

/// Every monitor of a plan, sampled together: a sample's `source` is its monitor's index in
/// the plan, which is how the engine's judge finds its limits.
pub struct Watches(pub Vec<Watch>);

impl Watches {
    /// The plan's monitors, in plan order, or the embedded target alone when the plan names
    /// none (`builtin` is its address). `None` when there is nothing to watch, and when a
    /// monitor has no source but `builtin` is not given yet (the target is not started).
    pub fn new(plan: &Plan, builtin: Option<SocketAddr>) -> Option<Watches> {
        let default = [Monitor::default()];
        let monitors = if plan.monitors.is_empty() {
            &default[..]
        } else {
            &plan.monitors[..]
        };
        let watches: Option<Vec<Watch>> = monitors
            .iter()
            .map(|m| Watch::new(m, plan.interval, builtin))
            .collect();
        watches.filter(|w| !w.is_empty()).map(Watches)
    }

    /// Every monitor in words: "api (PID 4242), redis (http://127.0.0.1:9121/metrics)".
    pub fn describe(&self) -> String {
        let parts: Vec<String> = self.0.iter().map(Watch::describe).collect();
        parts.join(", ")
    }

    /// Offsets count from `start`, the run's start.
    pub fn starting_at(self, start: Instant) -> Watches {
        Watches(self.0.into_iter().map(|w| w.starting_at(start)).collect())
    }
}

impl Probe for Watches {
    fn sources(&self) -> Vec<String> {
        self.0.iter().map(|w| w.name.clone()).collect()
    }

    fn sample(
        &mut self,
        _offset: Duration,
    ) -> Pin<Box<dyn Future<Output = Vec<MonitorSample>> + '_>> {
        // All at once: one stuck endpoint must not use up the engine's wait for the others.
        let reads: Vec<_> = self.0.iter_mut().map(|w| Box::pin(w.read())).collect();
        Box::pin(async move {
            let read = join_all(reads).await;
            (0u16..)
                .zip(read)
                .map(|(source, sample)| MonitorSample { source, ..sample })
                .collect()
        })
    }
}

/// Every future to completion, polled together, results in order (the workspace has no
/// futures crate, and this is all of it that is needed).
async fn join_all<F: Future + Unpin>(mut futures: Vec<F>) -> Vec<F::Output> {
    let mut done: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, slot) in futures.iter_mut().zip(&mut done) {
            if slot.is_none() {
                match Pin::new(future).poll(cx) {
                    std::task::Poll::Ready(out) => *slot = Some(out),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    done.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests;
