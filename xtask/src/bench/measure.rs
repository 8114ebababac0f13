//! One measurement of each kind: a closed-model run, an open-model run, the 10,000-user scale
//! run and the memory soak. Each starts a generator through the runner and turns its samples
//! into a result row.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use super::nginx::Nginx;
use super::results::{ClosedRow, OpenRow, ScaleResult, SoakResult};
use super::runner::{self, Finished};
use super::stats;
use super::tools::{Load, OwnReport, Tool, Toolbox};

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
    /// Runs `tool` with `load`, sampling at `offsets`, and reads the tool's own report.
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
        let launch = self
            .toolbox
            .launch(tool, load, duration, label, &self.nginx.url())?;
        let since = SystemTime::now();
        let finished = runner::run(&launch, &self.nginx, offsets, self.nofile, &self.logs)?;
        let own = self
            .toolbox
            .own_report(tool, &finished.stdout, since)
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

    pub fn closed(
        &self,
        tool: Tool,
        connections: u32,
        rep: u32,
        duration: Duration,
    ) -> Result<ClosedRow, String> {
        let label = format!("{}-c{connections}-rep{rep}", tool.name());
        let load = Load::Closed { connections };
        let (finished, own, window) = self.steady(tool, load, duration, &label)?;
        Ok(ClosedRow {
            tool,
            connections,
            rep,
            rps: window.rps,
            cpu_us_per_req: window.cpu_us_per_req,
            rss_mb: finished.peak_rss_kib as f64 / MIB,
            p50_ms: own.p50_ms,
            p99_ms: own.p99_ms,
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
        Ok(OpenRow {
            tool,
            target_rate: rate,
            achieved_rps: window.rps,
            own_rate: own.achieved_rate.or(Some(own.requests_per_sec)),
            cpu_us_per_req: window.cpu_us_per_req,
            rss_mb: finished.peak_rss_kib as f64 / MIB,
            p99_ms: own.p99_corrected_ms.unwrap_or(own.p99_ms),
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

    /// stampede's `soak` kind at `rate` for ten minutes, its RSS sampled every 10 s. The first
    /// minute (allocator and buffers warming up) is left out of the fit.
    pub fn soak(&self, rate: u32) -> Result<SoakResult, String> {
        let duration = Duration::from_secs(600);
        let offsets: Vec<Duration> = (1..60).map(|i| Duration::from_secs(i * 10)).collect();
        let (finished, _) = self.run(
            Tool::Stampede,
            Load::Soak { rate },
            duration,
            "stampede-soak",
            &offsets,
        )?;
        let points: Vec<(f64, f64)> = finished
            .samples
            .iter()
            .filter_map(|s| Some((s.at.as_secs_f64(), s.memory?.rss_kib as f64 / MIB)))
            .collect();
        let warm: Vec<(f64, f64)> = points.iter().copied().filter(|p| p.0 >= 60.0).collect();
        Ok(SoakResult {
            rate,
            slope_mib_per_hour: stats::slope(&warm).map(|s| s * 3600.0),
            points,
        })
    }
}
