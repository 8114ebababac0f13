//! Watching the target while it is loaded: its CPU and resident memory each interval, from
//! /proc for a local process and from a Prometheus endpoint for anything that exposes one.
//!
//! Runs beside the engine on the same runtime. A warning level is logged the first time it is
//! passed; a stop level stops the run as a finished sweep (`StopReason::SweepStopped`): the
//! steps so far are the result. The engine ends the current step early on any stop, so the step
//! that found the limit is reported cut short.
//!
//! A failed scrape or a vanished process is logged and sampled as "unknown", never fatal: a
//! monitor must not be what breaks a run. The samples are kept, thinned to a bounded number, for
//! the reporter to chart later.

use std::cell::Cell;
use std::path::Path;
use std::rc::Rc;
use std::time::Duration;

use anyhow::{Context as _, anyhow};
use http_body_util::{BodyExt as _, Empty, Limited};
use hyper::body::Bytes;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use stampede_engine::StopReason;
use stampede_metrics::MonitorSample;
use stampede_scenario::{
    BaseUrl, HttpBase, MetricsUrl, Monitor, MonitorLimit, MonitorProcess, Plan, format_bytes,
};
use tokio::net::TcpStream;
use tokio::sync::{oneshot, watch};
use tokio::time::{Instant, MissedTickBehavior};

use crate::output::Hinted;

/// The embedded target names its runtime threads so (see `stampede-target`), which is how its
/// CPU use is told apart from the load generator's in our shared process.
const TARGET_THREADS: &str = "stampede-target";

/// Clock ticks per second in /proc/<pid>/stat: USER_HZ, 100 in Linux's user-space ABI on every
/// architecture. Asking sysconf would need `unsafe`, which the workspace forbids.
const USER_HZ: f64 = 100.0;

/// Samples kept at most; past that every other one is dropped, so a 24-hour soak keeps its
/// whole shape in constant memory.
const KEPT_SAMPLES: usize = 4096;

/// A metrics page larger than this is not a metrics page.
const MAX_SCRAPE_BYTES: usize = 4 << 20;

/// Watches the target during a run.
pub struct Watcher {
    sampler: Sampler,
    judge: Judge,
    kept: Kept,
    interval: Duration,
    /// The latest sample, for the progress display.
    latest: Rc<Cell<Option<MonitorSample>>>,
}

impl Watcher {
    /// What the plan asks to watch: its `[monitor]`, or the embedded target when `builtin` is
    /// its address. `None` when there is nothing to watch. Fails when the process to watch is
    /// not running, since a run whose guard is missing should not start.
    pub fn new(
        plan: &Plan,
        builtin: Option<std::net::SocketAddr>,
        latest: Rc<Cell<Option<MonitorSample>>>,
    ) -> anyhow::Result<Option<Watcher>> {
        let monitor = plan.monitor.clone().unwrap_or_default();
        let mut sampler = Sampler::default();
        match builtin {
            Some(addr) if monitor.process.is_none() && monitor.metrics.is_none() => {
                // The target shares our process: its threads' CPU is its own, and its /metrics
                // reports the process's RSS (the load generator's included).
                sampler.process = Some(ProcWatch::new(std::process::id(), Some(TARGET_THREADS)));
                let url = MetricsUrl {
                    server: HttpBase {
                        host: addr.ip().to_string(),
                        port: addr.port(),
                        path_prefix: String::new(),
                    },
                    path: "/metrics".to_owned(),
                };
                sampler.scrape = Some(Scrape::new(url, &monitor.rss_series, None, plan.interval));
            }
            _ => {
                if let Some(process) = &monitor.process {
                    sampler.process = Some(ProcWatch::new(resolve_pid(process)?, None));
                }
                if let Some(url) = &monitor.metrics {
                    sampler.scrape = Some(Scrape::new(
                        url.clone(),
                        &monitor.rss_series,
                        Some(&monitor.cpu_seconds_series),
                        plan.interval,
                    ));
                }
            }
        }
        if sampler.process.is_none() && sampler.scrape.is_none() {
            return Ok(None);
        }
        tracing::info!(
            "watching the target: {}",
            describe(&sampler, &monitor, plan)
        );
        Ok(Some(Watcher {
            sampler,
            judge: Judge::new(&monitor),
            kept: Kept::default(),
            interval: plan.interval,
            latest,
        }))
    }

    /// Samples every interval from `start` until `done`, and stops the run through `stop`
    /// when a stop limit is passed. Returns the samples kept.
    pub async fn run(
        self,
        start: Instant,
        stop: watch::Sender<Option<StopReason>>,
        mut done: oneshot::Receiver<()>,
    ) -> Vec<MonitorSample> {
        let Watcher {
            mut sampler,
            mut judge,
            mut kept,
            interval,
            latest,
        } = self;
        let mut ticker = tokio::time::interval_at(start + interval, interval);
        // A slow scrape delays the next sample rather than firing a burst of them.
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        // The first reading gives CPU its baseline.
        let mut next_is_baseline = true;
        loop {
            let take = async {
                if !next_is_baseline {
                    ticker.tick().await;
                }
                sampler.read(start).await
            };
            let sample = tokio::select! {
                _ = &mut done => break,
                sample = take => sample,
            };
            next_is_baseline = false;
            latest.set(Some(sample));
            kept.push(sample);
            if let Some(reason) = judge.judge(&sample) {
                tracing::warn!("stopping the run: {reason}");
                stop.send_if_modified(|current| {
                    // An interrupt already on its way says more than a limit.
                    let idle = current.is_none();
                    if idle {
                        *current = Some(StopReason::SweepStopped(reason));
                    }
                    idle
                });
            }
        }
        kept.samples
    }
}

fn describe(sampler: &Sampler, monitor: &Monitor, plan: &Plan) -> String {
    let mut parts = Vec::new();
    if let Some(process) = &sampler.process {
        parts.push(match (process.threads, &plan.base_url) {
            (Some(_), BaseUrl::Builtin) => "the embedded target's threads".to_owned(),
            _ => format!("PID {}", process.pid),
        });
    }
    if let Some(scrape) = &sampler.scrape {
        parts.push(scrape.url.url());
    }
    let mut text = parts.join(" and ");
    let limits: Vec<String> = [
        ("cpu", monitor.cpu_percent, percent as fn(f64) -> String),
        ("rss", monitor.rss_bytes, format_bytes),
    ]
    .into_iter()
    .flat_map(|(name, limit, show)| {
        [("warn", limit.warn), ("stop", limit.stop)]
            .into_iter()
            .filter_map(move |(level, v)| v.map(|v| format!("{name} {level} {}", show(v))))
    })
    .collect();
    if !limits.is_empty() {
        text.push_str(&format!("; limits: {}", limits.join(", ")));
    }
    text
}

fn percent(value: f64) -> String {
    format!("{value:.0}%")
}

/// The PID named by `pid` or read from `pid-file`, checked to be running.
fn resolve_pid(process: &MonitorProcess) -> anyhow::Result<u32> {
    let pid = match process {
        MonitorProcess::Pid(pid) => *pid,
        MonitorProcess::PidFile(path) => {
            let text = std::fs::read_to_string(path).map_err(|err| {
                Hinted::error(
                    format!("cannot read the pid-file {}: {err}", path.display()),
                    "start the target first; `pid-file` in [monitor] is relative to the scenario file",
                )
            })?;
            text.trim().parse::<u32>().map_err(|_| {
                Hinted::error(
                    format!("the pid-file {} holds no PID", path.display()),
                    "the file should hold one number, the target's process id",
                )
            })?
        }
    };
    if !Path::new(&format!("/proc/{pid}/stat")).exists() {
        return Err(Hinted::error(
            format!("the target process {pid} named by [monitor] is not running"),
            "start the target first, or fix `pid` / `pid-file` (processes are read from /proc, so on Linux only)",
        ));
    }
    Ok(pid)
}

/// Where samples come from; a value /proc gives wins over the scrape's.
#[derive(Default)]
struct Sampler {
    process: Option<ProcWatch>,
    scrape: Option<Scrape>,
}

impl Sampler {
    async fn read(&mut self, start: Instant) -> MonitorSample {
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
            offset: Instant::now().saturating_duration_since(start),
            cpu_percent: cpu,
            rss_bytes: rss,
        }
    }
}

/// A process read from /proc: all of it, or only its threads of one name.
struct ProcWatch {
    pid: u32,
    threads: Option<&'static str>,
    last: Option<(Instant, u64)>,
    gone: bool,
}

impl ProcWatch {
    fn new(pid: u32, threads: Option<&'static str>) -> ProcWatch {
        ProcWatch {
            pid,
            threads,
            last: None,
            gone: false,
        }
    }

    /// CPU since the last call and RSS (of the whole process; a thread has no RSS of its own,
    /// so with a thread filter RSS is left to the scrape).
    fn read(&mut self, now: Instant) -> (Option<f64>, Option<u64>) {
        let ticks = match self.threads {
            Some(name) => thread_ticks(self.pid, name),
            None => stat_ticks(&format!("/proc/{}/stat", self.pid)),
        };
        let rss = match self.threads {
            Some(_) => None,
            None => vm_rss(self.pid),
        };
        let cpu = match (ticks, self.last) {
            (Some(ticks), Some((then, before))) => {
                let wall = now.saturating_duration_since(then).as_secs_f64();
                (wall > 0.0).then(|| ticks.saturating_sub(before) as f64 / USER_HZ / wall * 100.0)
            }
            _ => None,
        };
        self.last = ticks.map(|t| (now, t));
        if ticks.is_none() && !self.gone {
            tracing::warn!(
                "cannot read the target process {} any more: CPU and memory unknown from here on",
                self.pid
            );
            self.gone = true;
        }
        (cpu, rss)
    }
}

/// utime + stime of one /proc stat file.
fn stat_ticks(path: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    parse_stat_ticks(&text)
}

fn parse_stat_ticks(text: &str) -> Option<u64> {
    // The command name is in parentheses and may hold spaces or parentheses itself: the fields
    // proper start after the last `)`. There, state is proc(5)'s field 3, utime 14, stime 15.
    let (_, fields) = text.rsplit_once(')')?;
    let mut fields = fields.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// utime + stime summed over the process's threads called `name`; `None` when there are none.
fn thread_ticks(pid: u32, name: &str) -> Option<u64> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut total = None;
    for task in tasks.flatten() {
        let dir = task.path();
        let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
        if comm.trim_end() != name {
            continue;
        }
        // A thread that ended since the listing is simply not counted.
        if let Some(ticks) = stat_ticks(&dir.join("stat").to_string_lossy()) {
            total = Some(total.unwrap_or(0) + ticks);
        }
    }
    total
}

/// VmRSS from /proc/<pid>/status, in bytes.
fn vm_rss(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_vm_rss(&text)
}

fn parse_vm_rss(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// A Prometheus endpoint, scraped once per sample.
struct Scrape {
    url: MetricsUrl,
    rss_series: String,
    cpu_series: Option<String>,
    timeout: Duration,
    last_cpu: Option<(Instant, f64)>,
    failing: bool,
}

impl Scrape {
    fn new(
        url: MetricsUrl,
        rss_series: &str,
        cpu_series: Option<&str>,
        interval: Duration,
    ) -> Scrape {
        Scrape {
            url,
            rss_series: rss_series.to_owned(),
            cpu_series: cpu_series.map(str::to_owned),
            // Short, so a stuck endpoint cannot hold samples back for long.
            timeout: interval.clamp(Duration::from_millis(250), Duration::from_secs(2)),
            last_cpu: None,
            failing: false,
        }
    }

    async fn read(&mut self) -> (Option<f64>, Option<u64>) {
        let text = match tokio::time::timeout(self.timeout, get(&self.url)).await {
            Ok(Ok(text)) => text,
            Ok(Err(err)) => return self.failed(&format!("{err:#}")),
            Err(_) => {
                let why = format!(
                    "no answer within {}",
                    humantime::format_duration(self.timeout)
                );
                return self.failed(&why);
            }
        };
        if self.failing {
            tracing::info!("scraping {} works again", self.url.url());
            self.failing = false;
        }
        let now = Instant::now();
        let rss = series_value(&text, &self.rss_series)
            .filter(|v| *v >= 0.0)
            .map(|v| v as u64);
        let cpu = self.cpu_series.as_deref().and_then(|series| {
            let seconds = series_value(&text, series)?;
            let previous = self.last_cpu.replace((now, seconds));
            let (then, before) = previous?;
            let wall = now.saturating_duration_since(then).as_secs_f64();
            // A counter that went down means the target restarted: no rate this time.
            (wall > 0.0 && seconds >= before).then(|| (seconds - before) / wall * 100.0)
        });
        (cpu, rss)
    }

    /// Logs the first failure of a streak at warn level and the rest at debug, so a cron mail
    /// is not a page of the same line.
    fn failed(&mut self, why: &str) -> (Option<f64>, Option<u64>) {
        if self.failing {
            tracing::debug!("cannot scrape {}: {why}", self.url.url());
        } else {
            tracing::warn!(
                "cannot scrape {}: {why}; trying again each interval",
                self.url.url()
            );
            self.failing = true;
        }
        self.last_cpu = None;
        (None, None)
    }
}

/// One GET over a fresh HTTP/1.1 connection; the body as text.
async fn get(url: &MetricsUrl) -> anyhow::Result<String> {
    let stream = TcpStream::connect((url.server.host.as_str(), url.server.port))
        .await
        .context("cannot connect")?;
    let (mut sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
    // Aborted when this function returns or is dropped by the timeout.
    let driver = AbortOnDrop(tokio::spawn(async move {
        let _ = connection.await;
    }));
    let request = hyper::Request::get(url.path.as_str())
        .header(hyper::header::HOST, url.server.authority())
        .header(hyper::header::ACCEPT, "text/plain")
        .header(hyper::header::CONNECTION, "close")
        .body(Empty::<Bytes>::new())?;
    let response = sender.send_request(request).await?;
    let status = response.status();
    if !status.is_success() {
        return Err(anyhow!("status {status}"));
    }
    let body = Limited::new(response.into_body(), MAX_SCRAPE_BYTES)
        .collect()
        .await
        .map_err(|err| anyhow!("cannot read the body: {err}"))?
        .to_bytes();
    drop(driver);
    Ok(String::from_utf8_lossy(&body).into_owned())
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The value of a series in Prometheus text: a bare name matches its first series, a name with
/// labels (`name{pod="a"}`) matches exactly that series as written.
fn series_value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .find_map(|line| {
            let (key, rest) = match line.find('{') {
                Some(open) => {
                    let close = open + line[open..].find('}')?;
                    line.split_at(close + 1)
                }
                None => line.split_once(char::is_whitespace)?,
            };
            let name = key.split('{').next().unwrap_or(key);
            let matches = if series.contains('{') {
                key == series
            } else {
                name == series
            };
            if !matches {
                return None;
            }
            rest.split_whitespace()
                .next()?
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
        })
}

/// Warns once per limit and stops once.
struct Judge {
    cpu: MonitorLimit,
    rss: MonitorLimit,
    warned: [bool; 2],
    stopped: bool,
}

impl Judge {
    fn new(monitor: &Monitor) -> Judge {
        Judge {
            cpu: monitor.cpu_percent,
            rss: monitor.rss_bytes,
            warned: [false; 2],
            stopped: false,
        }
    }

    /// The reason to stop, the first time a stop limit is passed.
    fn judge(&mut self, sample: &MonitorSample) -> Option<String> {
        let readings = [
            (
                "CPU",
                sample.cpu_percent,
                self.cpu,
                percent as fn(f64) -> String,
            ),
            (
                "RSS",
                sample.rss_bytes.map(|b| b as f64),
                self.rss,
                format_bytes,
            ),
        ];
        let mut stop = None;
        for (index, (name, value, limit, show)) in readings.into_iter().enumerate() {
            let Some(value) = value else { continue };
            if let Some(warn) = limit.warn
                && value >= warn
                && !self.warned[index]
            {
                self.warned[index] = true;
                tracing::warn!(
                    "target {name} {} passed the warning level {}",
                    show(value),
                    show(warn)
                );
            }
            if let Some(level) = limit.stop
                && value >= level
                && !self.stopped
                && stop.is_none()
            {
                stop = Some(format!(
                    "target {name} {} reached the stop limit {}",
                    show(value),
                    show(level)
                ));
            }
        }
        if stop.is_some() {
            self.stopped = true;
        }
        stop
    }
}

/// The samples kept: all of them up to [`KEPT_SAMPLES`], then every second, fourth, ... one.
#[derive(Default)]
struct Kept {
    samples: Vec<MonitorSample>,
    seen: u64,
    every: u64,
}

impl Kept {
    fn push(&mut self, sample: MonitorSample) {
        let every = self.every.max(1);
        if self.seen.is_multiple_of(every) {
            self.samples.push(sample);
            if self.samples.len() >= KEPT_SAMPLES {
                let mut index = 0;
                self.samples.retain(|_| {
                    index += 1;
                    index % 2 == 1
                });
                self.every = every * 2;
            }
        }
        self.seen += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_count_from_after_the_command_name() {
        let stat =
            "4242 (my (odd) server) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 4 0 1 2 3";
        assert_eq!(parse_stat_ticks(stat), Some(300));
        assert_eq!(parse_stat_ticks("garbage"), None);
    }

    #[test]
    fn rss_comes_from_vmrss_in_kib() {
        let status = "Name:\tpython3\nVmPeak:\t  9000 kB\nVmRSS:\t   2048 kB\nThreads:\t1\n";
        assert_eq!(parse_vm_rss(status), Some(2048 * 1024));
        assert_eq!(parse_vm_rss("Name:\tx\n"), None);
    }

    #[test]
    fn prometheus_series_by_name_or_with_labels() {
        let text = "# HELP process_resident_memory_bytes Resident memory.\n\
                    # TYPE process_resident_memory_bytes gauge\n\
                    process_resident_memory_bytes 1.5e+09\n\
                    app_cpu_seconds_total{pod=\"a\"} 12.5 1700000000\n\
                    app_cpu_seconds_total{pod=\"b\"} 7\n\
                    process_resident_memory_bytes_max 9\n\
                    bad NaN\n";
        assert_eq!(
            series_value(text, "process_resident_memory_bytes"),
            Some(1.5e9)
        );
        assert_eq!(series_value(text, "app_cpu_seconds_total"), Some(12.5));
        assert_eq!(
            series_value(text, "app_cpu_seconds_total{pod=\"b\"}"),
            Some(7.0)
        );
        assert_eq!(series_value(text, "bad"), None);
        assert_eq!(series_value(text, "missing"), None);
    }

    #[test]
    fn limits_warn_once_and_stop_once() {
        let mut judge = Judge::new(&Monitor {
            cpu_percent: MonitorLimit {
                warn: Some(70.0),
                stop: Some(80.0),
            },
            rss_bytes: MonitorLimit {
                warn: None,
                stop: Some(1e9),
            },
            ..Monitor::default()
        });
        let sample = |cpu, rss| MonitorSample {
            offset: Duration::ZERO,
            cpu_percent: cpu,
            rss_bytes: rss,
        };
        assert_eq!(judge.judge(&sample(Some(75.0), Some(5))), None);
        assert!(judge.warned[0]);
        assert_eq!(judge.judge(&sample(None, None)), None);
        assert_eq!(
            judge
                .judge(&sample(Some(50.0), Some(2_000_000_000)))
                .as_deref(),
            Some("target RSS 2 GB reached the stop limit 1 GB")
        );
        assert_eq!(judge.judge(&sample(Some(95.0), Some(2_000_000_000))), None);
    }

    #[test]
    fn kept_samples_stay_bounded_and_span_the_run() {
        let mut kept = Kept::default();
        for n in 0..(KEPT_SAMPLES as u64 * 5) {
            kept.push(MonitorSample {
                offset: Duration::from_secs(n),
                cpu_percent: None,
                rss_bytes: Some(n),
            });
        }
        assert!(kept.samples.len() < KEPT_SAMPLES);
        assert!(kept.samples.len() > KEPT_SAMPLES / 4);
        assert_eq!(kept.samples[0].rss_bytes, Some(0));
        let last = kept.samples.last().and_then(|s| s.rss_bytes).unwrap();
        assert!(last > KEPT_SAMPLES as u64 * 4, "{last}");
        assert!(kept.samples.windows(2).all(|w| w[0].offset < w[1].offset));
    }
}
