//! One measurement of each kind: a closed-model run (http or TLS), an open-model run, the
//! 10,000-user scale run, the cost of a request name and the memory soak. Each starts a
//! generator through the runner and turns its samples into a result row. Streams are in
//! `streams`.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use super::nginx::Nginx;
use super::results::{ClosedRow, NamesResult, OpenRow, ScaleResult, SoakResult};
use super::runner::{self, Finished};
use super::scenario::Load;
use super::stats;
use super::summary::StampedeReport;
use super::tools::{OwnReport, Tool, Toolbox};

pub struct Bench {
    pub toolbox: Toolbox,
    pub nginx: Nginx,
    pub ticks_per_second: u64,
    /// Open-file limit given to nginx and to every generator.
    pub nofile: u64,
    pub logs: PathBuf,
}

const MIB: f64 = 1024.0;

impl Bench {
    /// Runs `tool` and measures the steady-state window between the two samples taken at
    /// [`runner::steady_offsets`]: the figures both the closed and the open model report.
    fn steady(
        &self,
        tool: Tool,
        load: Load,
        duration: Duration,
        label: &str,
    ) -> Result<(Finished, OwnReport, runner::Window), String> {
        let (finished, own) = self.run(
            tool,
            load,
            duration,
            label,
            &runner::steady_offsets(duration),
        )?;
        let window = runner::window(
            &finished.samples[0],
            &finished.samples[1],
            self.ticks_per_second,
        )
        .map_err(|e| format!("{label}: {e}"))?;
        Ok((finished, own, window))
    }

    fn run(
        &self,
        tool: Tool,
        load: Load,
        duration: Duration,
        label: &str,
        offsets: &[Duration],
    ) -> Result<(Finished, OwnReport), String> {
        self.run_at(tool, load, duration, label, offsets, &self.nginx.url())
    }

    /// Runs `tool` with `load` against `url`, sampling at `offsets`, and reads the tool's own
    /// report.
    pub fn run_at(
        &self,
        tool: Tool,
        load: Load,
        duration: Duration,
        label: &str,
        offsets: &[Duration],
        url: &str,
    ) -> Result<(Finished, OwnReport), String> {
        let launch = self.toolbox.launch(tool, load, duration, label, url)?;
        let since = SystemTime::now();
        let finished = runner::run(&launch, &self.nginx, offsets, self.nofile, &self.logs)?;
        let own = self
            .toolbox
            .own_report(tool, label, &finished.stdout, since)
            .map_err(|e| {
                format!(
                    "{label}: {e} (its output: {})",
                    finished.stdout_path.display()
                )
            })?;
        if own.errors > 0 {
            eprintln!(
                "bench: warning: {label} reports {} failed request(s)",
                own.errors
            );
        }
        Ok((finished, own))
    }

    /// N connections sending as fast as answers come, against nginx's http or TLS server.
    pub fn closed(
        &self,
        tool: Tool,
        connections: u32,
        tls: bool,
        rep: u32,
        duration: Duration,
    ) -> Result<ClosedRow, String> {
        let scheme = if tls { "https" } else { "http" };
        let label = format!("{}-{scheme}-c{connections}-rep{rep}", tool.name());
        let load = Load::Closed { connections };
        let url = if tls {
            self.nginx.tls_url()
        } else {
            self.nginx.url()
        };
        let offsets = runner::steady_offsets(duration);
        let (finished, own) = self.run_at(tool, load, duration, &label, &offsets, &url)?;
        let window = runner::window(
            &finished.samples[0],
            &finished.samples[1],
            self.ticks_per_second,
        )
        .map_err(|e| format!("{label}: {e}"))?;
        Ok(ClosedRow {
            tool,
            connections,
            tls,
            rep,
            rps: window.rps,
            cpu_us_per_req: window.cpu_us_per_req,
            rss_mb: finished.peak_rss_kib as f64 / MIB,
            p50_ms: own.p50_ms,
            p99_ms: own.p99_ms,
            nginx_busy: window.nginx_busy,
            tls_handshake_ms: own.stampede.and_then(|s| s.tls_handshake_p50_ms),
        })
    }

    pub fn open(
        &self,
        tool: Tool,
        rate: u32,
        rep: u32,
        duration: Duration,
    ) -> Result<OpenRow, String> {
        let label = format!("{}-q{rate}-rep{rep}", tool.name());
        let (finished, own, window) = self.steady(tool, Load::Open { rate }, duration, &label)?;
        let stampede: Option<&StampedeReport> = own.stampede.as_ref();
        if stampede.is_some_and(|s| !s.from_scheduled) {
            eprintln!("bench: warning: {label}: stampede's latency is not from the scheduled send");
        }
        Ok(OpenRow {
            tool,
            target_rate: rate,
            achieved_rps: window.rps,
            own_rate: stampede
                .and_then(|s| s.achieved_rate)
                .or(Some(own.requests_per_sec)),
            cpu_us_per_req: window.cpu_us_per_req,
            rss_mb: finished.peak_rss_kib as f64 / MIB,
            // oha runs with --latency-correction: its figures are from the scheduled send too.
            p50_ms: own.p50_ms,
            p99_ms: own.p99_ms,
            p50_sent_ms: stampede.and_then(|s| s.p50_sent_ms),
            dropped: stampede.map_or(0, |s| s.dropped),
        })
    }

    /// `users` stampede users thinking 1 s between requests for 20 s; connections are
    /// counted by nginx at 10 s and 18 s, once every user has had time to connect.
    pub fn scale(&self, users: u32) -> Result<ScaleResult, String> {
        let duration = Duration::from_secs(20);
        let load = Load::Thinking {
            users,
            think: Duration::from_secs(1),
        };
        let offsets = [Duration::from_secs(10), Duration::from_secs(18)];
        let (finished, _) = self.run(Tool::Stampede, load, duration, "stampede-scale", &offsets)?;
        let [start, end] = [&finished.samples[0], &finished.samples[1]];
        let window = runner::window(start, end, self.ticks_per_second)?;
        // Less the stub_status connection asking.
        let connected = start
            .nginx
            .active_connections
            .min(end.nginx.active_connections);
        Ok(ScaleResult {
            users,
            connected: connected.saturating_sub(1),
            peak_rss_kib: finished.peak_rss_kib,
            rps: window.rps,
        })
    }

    /// The same open-model load over `few` and over `many` request names: the peak RSS
    /// difference is what the extra names cost.
    pub fn names(
        &self,
        rate: u32,
        few: u32,
        many: u32,
        duration: Duration,
    ) -> Result<NamesResult, String> {
        let mut runs = [(few, 0), (many, 0)];
        for (names, peak_rss_kib) in &mut runs {
            let label = format!("stampede-names{names}");
            let load = Load::Names {
                rate,
                names: *names,
            };
            let (finished, _) = self.run(Tool::Stampede, load, duration, &label, &[])?;
            *peak_rss_kib = finished.peak_rss_kib;
        }
        Ok(NamesResult { rate, runs })
    }

    /// stampede at `rate` for `minutes` as the `soak` or the `throughput` kind, its RSS
    /// sampled every 10 s. The first five minutes (allocator and buffers warming up; the
    /// first third of a shorter run) are left out of the fit.
    pub fn soak(&self, kind: &'static str, rate: u32, minutes: u64) -> Result<SoakResult, String> {
        let duration = Duration::from_secs(minutes * 60);
        let offsets: Vec<Duration> = (1..minutes * 6)
            .map(|i| Duration::from_secs(i * 10))
            .collect();
        let load = match kind {
            "soak" => Load::Soak { rate },
            _ => Load::Open { rate },
        };
        let label = format!("stampede-soak-{kind}");
        let (finished, own) = self.run(Tool::Stampede, load, duration, &label, &offsets)?;
        let points: Vec<(f64, f64)> = finished
            .samples
            .iter()
            .filter_map(|s| Some((s.at.as_secs_f64(), s.memory?.rss_kib as f64 / MIB)))
            .collect();
        let settle_s = (duration.as_secs_f64() / 3.0).min(300.0);
        let settled: Vec<(f64, f64)> = points.iter().copied().filter(|p| p.0 >= settle_s).collect();
        let pool = own.stampede.map(|r| r.series_users).unwrap_or_default();
        // The point that holds the settle instant (points start at their offset), and the last.
        let at_settle = pool.iter().rev().find(|p| p.0 <= settle_s).or(pool.first());
        let users = at_settle.zip(pool.last()).map(|(a, b)| (a.1, b.1));
        Ok(SoakResult {
            users,
            kind,
            rate,
            slope_mib_per_hour: stats::slope(&settled).map(|s| s * 3600.0),
            points,
            settle_s,
        })
    }
}
