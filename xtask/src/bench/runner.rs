//! Runs one generator pinned to CPU 1 and samples it and nginx at fixed offsets.
//!
//! Each sample pairs nginx's request counter with the generator's CPU ticks, read back to
//! back, so the steady-state window between two samples has requests and CPU time from the
//! same interval: ramp-up and tear-down are left out of both.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use super::nginx::{Nginx, StubStatus};
use super::procfs;

/// One generator invocation.
pub struct Launch {
    /// Names the log files, e.g. `wrk-c50-rep1`.
    pub label: String,
    pub program: PathBuf,
    pub args: Vec<String>,
    /// How long the tool is told to run; it gets this plus a grace period to exit.
    pub duration: Duration,
}

/// nginx and the generator at one moment.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// Since the generator was started.
    pub at: Duration,
    pub nginx: StubStatus,
    /// nginx's workers' CPU time, in clock ticks.
    pub nginx_cpu_ticks: u64,
    pub cpu_ticks: u64,
    pub memory: Option<procfs::Memory>,
}

/// A generator run that ended on its own.
pub struct Finished {
    pub samples: Vec<Sample>,
    /// The largest VmHWM seen while it lived.
    pub peak_rss_kib: u64,
    pub stdout: String,
    pub stdout_path: PathBuf,
}

/// How long a generator may overrun its planned duration (startup, draining, writing
/// results) before it is killed and the run fails.
const GRACE: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(100);

/// Starts `launch` under `prlimit` (open files for the 10,000-user run) and `taskset -c 1`.
/// Both exec the tool, so the PID we hold is the tool's own.
pub fn run(
    launch: &Launch,
    nginx: &Nginx,
    offsets: &[Duration],
    nofile: u64,
    logs: &Path,
) -> Result<Finished, String> {
    let stdout_path = logs.join(format!("{}.out", launch.label));
    let stderr_path = logs.join(format!("{}.err", launch.label));
    let create =
        |p: &Path| File::create(p).map_err(|e| format!("cannot create {}: {e}", p.display()));
    let child = Command::new("prlimit")
        .arg(format!("--nofile={nofile}:{nofile}"))
        .args(["taskset", "-c", "1"])
        .arg(&launch.program)
        .args(&launch.args)
        .stdin(Stdio::null())
        // To files, not pipes: an unread pipe that fills would stall the tool mid-run.
        .stdout(create(&stdout_path)?)
        .stderr(create(&stderr_path)?)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", launch.program.display()))?;
    let started = Instant::now();
    let mut guard = KillOnDrop(Some(child));
    let pid = guard.0.as_ref().map_or(0, Child::id);

    let mut samples = Vec::with_capacity(offsets.len());
    let mut peak_rss_kib = 0;
    loop {
        // A zombie has exited but is not yet reaped: its CPU time is final, its memory gone.
        if procfs::stat(pid)?.is_zombie() {
            break;
        }
        let memory = procfs::memory(pid);
        peak_rss_kib = peak_rss_kib.max(memory.map_or(0, |m| m.peak_rss_kib));
        if let Some(&offset) = offsets.get(samples.len())
            && started.elapsed() >= offset
        {
            let cpu_ticks = procfs::stat(pid)?.cpu_ticks;
            let at = started.elapsed();
            samples.push(Sample {
                at,
                nginx: nginx.status()?,
                nginx_cpu_ticks: nginx.worker_cpu_ticks(),
                cpu_ticks,
                memory,
            });
        }
        if started.elapsed() > launch.duration + GRACE {
            return Err(format!(
                "{} still running {} s after its planned end; killed (see {})",
                launch.label,
                GRACE.as_secs(),
                stderr_path.display()
            ));
        }
        let until_next = offsets
            .get(samples.len())
            .map(|o| o.saturating_sub(started.elapsed()));
        std::thread::sleep(until_next.map_or(POLL, |d| d.min(POLL)));
    }
    let status = guard.wait()?;
    let stdout = std::fs::read_to_string(&stdout_path).unwrap_or_default();
    // stampede exits 99 when a scenario threshold fails; the bench's scenarios have none, but
    // the run itself still happened.
    if !status.success() && status.code() != Some(99) {
        return Err(format!(
            "{} failed ({status}); see {}",
            launch.label,
            stderr_path.display()
        ));
    }
    if samples.len() < offsets.len() {
        return Err(format!(
            "{} ended after {:.1} s, before the sample at {:.1} s; see {}",
            launch.label,
            started.elapsed().as_secs_f64(),
            offsets[samples.len()].as_secs_f64(),
            stderr_path.display()
        ));
    }
    Ok(Finished {
        samples,
        peak_rss_kib,
        stdout,
        stdout_path,
    })
}

/// Kills the generator if the bench bails out while it runs, so no load outlives the bench.
struct KillOnDrop(Option<Child>);

impl KillOnDrop {
    fn wait(&mut self) -> Result<ExitStatus, String> {
        let mut child = self.0.take().expect("waited once");
        child
            .wait()
            .map_err(|e| format!("cannot wait for the generator: {e}"))
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Figures for the steady-state window between two samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    pub requests: u64,
    pub rps: f64,
    pub cpu_us_per_req: f64,
    /// The share of the window nginx's worker was on CPU: near 1, nginx was the limit.
    pub nginx_busy: f64,
}

/// The generator's CPU time between two samples, in seconds.
pub fn cpu_seconds(start: &Sample, end: &Sample, ticks_per_second: u64) -> f64 {
    end.cpu_ticks.saturating_sub(start.cpu_ticks) as f64 / ticks_per_second as f64
}

/// Requests nginx served and CPU the generator used between `start` and `end`. The `end`
/// sample's own stub_status request is in nginx's counter and is taken out.
pub fn window(start: &Sample, end: &Sample, ticks_per_second: u64) -> Result<Window, String> {
    let seconds = end.at.saturating_sub(start.at).as_secs_f64();
    let requests = end
        .nginx
        .requests
        .saturating_sub(start.nginx.requests)
        .saturating_sub(1);
    if requests == 0 || seconds <= 0.0 {
        return Err(format!(
            "nginx counted no requests in the {seconds:.1} s window"
        ));
    }
    let cpu_us = cpu_seconds(start, end, ticks_per_second) * 1e6;
    let nginx_ticks = end.nginx_cpu_ticks.saturating_sub(start.nginx_cpu_ticks);
    Ok(Window {
        requests,
        rps: requests as f64 / seconds,
        cpu_us_per_req: cpu_us / requests as f64,
        nginx_busy: nginx_ticks as f64 / ticks_per_second as f64 / seconds,
    })
}

/// The steady-state window of a `duration`-long run: the first 20 % (connecting, warming up)
/// and the last 10 % (stopping) are left out; 2 s to 9 s of a 10 s run.
pub fn steady_offsets(duration: Duration) -> [Duration; 2] {
    [duration.mul_f64(0.2), duration.mul_f64(0.9)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(at_ms: u64, requests: u64, cpu_ticks: u64) -> Sample {
        let nginx_cpu_ticks = cpu_ticks / 2;
        let nginx = StubStatus {
            active_connections: 51,
            accepts: 51,
            requests,
        };
        Sample {
            at: Duration::from_millis(at_ms),
            nginx,
            nginx_cpu_ticks,
            cpu_ticks,
            memory: None,
        }
    }

    #[test]
    fn window_divides_cpu_by_nginx_requests() {
        // 700,001 counted, one of them our own stub_status; 7 s at 100 ticks/s of CPU = 7 s.
        let w = window(
            &sample(2_000, 1_000, 200),
            &sample(9_000, 701_001, 900),
            100,
        )
        .unwrap();
        assert_eq!(w.requests, 700_000);
        assert!((w.rps - 100_000.0).abs() < 1e-6);
        assert!((w.cpu_us_per_req - 10.0).abs() < 1e-9);
        // nginx used half of that: 3.5 s of 7.
        assert!((w.nginx_busy - 0.5).abs() < 1e-9);
    }

    #[test]
    fn an_idle_window_is_an_error() {
        assert!(window(&sample(2_000, 10, 0), &sample(9_000, 11, 0), 100).is_err());
    }

    #[test]
    fn steady_window_trims_start_and_end() {
        let [start, end] = steady_offsets(Duration::from_secs(10));
        assert_eq!(
            (start, end),
            (Duration::from_secs(2), Duration::from_secs(9))
        );
        let [start, end] = steady_offsets(Duration::from_secs(5));
        assert_eq!(
            (start, end),
            (Duration::from_secs(1), Duration::from_millis(4_500))
        );
    }
}
