//! A process read from /proc: its CPU time (all of it, or only its threads of one name) and its
//! resident memory.

use std::path::Path;

use stampede_plan::MonitorProcess;
use tokio::time::Instant;

use crate::Error;

/// Clock ticks per second of /proc's CPU times, asked of `getconf CLK_TCK` once (calling
/// sysconf directly would need `unsafe`, which the workspace forbids). USER_HZ is 100 on every
/// architecture Linux supports today, so that is the answer when getconf cannot be run.
pub(crate) fn clock_ticks_per_second() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .filter(|out| out.status.success())
            .and_then(|out| {
                String::from_utf8_lossy(&out.stdout)
                    .trim()
                    .parse::<f64>()
                    .ok()
            })
            .filter(|ticks| *ticks > 0.0)
            .unwrap_or(100.0)
    })
}

/// The PID named by `pid` or read from `pid-file`, checked to be running.
pub(crate) fn resolve_pid(process: &MonitorProcess) -> Result<u32, Error> {
    let pid = match process {
        MonitorProcess::Pid(pid) => *pid,
        MonitorProcess::PidFile(path) => {
            let text = std::fs::read_to_string(path).map_err(|source| Error::PidFile {
                path: path.clone(),
                source,
            })?;
            text.trim()
                .parse::<u32>()
                .map_err(|_| Error::NoPid { path: path.clone() })?
        }
    };
    if !Path::new(&format!("/proc/{pid}/stat")).exists() {
        return Err(Error::NotRunning { pid });
    }
    Ok(pid)
}

/// A process read from /proc: all of it, or only its threads of one name.
pub(crate) struct ProcWatch {
    pub(crate) pid: u32,
    pub(crate) threads: Option<&'static str>,
    ticks_per_s: f64,
    last: Option<(Instant, u64)>,
    gone: bool,
}

impl ProcWatch {
    pub(crate) fn new(pid: u32, threads: Option<&'static str>) -> ProcWatch {
        ProcWatch {
            pid,
            threads,
            ticks_per_s: clock_ticks_per_second(),
            last: None,
            gone: false,
        }
    }

    /// Whether the last read found the process unreadable.
    pub(crate) fn failed(&self) -> bool {
        self.last.is_none()
    }

    /// CPU since the last call and RSS (of the whole process; a thread has no RSS of its own,
    /// so with a thread filter RSS is left to the scrape).
    pub(crate) fn read(&mut self, now: Instant) -> (Option<f64>, Option<u64>) {
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
                (wall > 0.0)
                    .then(|| ticks.saturating_sub(before) as f64 / self.ticks_per_s / wall * 100.0)
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
    fn this_process_reads_with_a_positive_tick_rate() {
        assert!(clock_ticks_per_second() >= 1.0);
        let mut own = ProcWatch::new(std::process::id(), None);
        let (_, rss) = own.read(Instant::now());
        assert!(rss.is_some_and(|b| b > 0), "{rss:?}");
        assert!(!own.gone);
    }

    #[test]
    fn a_busy_thread_reads_as_about_one_core() {
        // getconf's answer is the one used, and a thread spinning for 400 ms reads as one
        // core's worth (a wrong tick rate would be off by a factor of ten), whatever the load
        // of other processes takes from it.
        let getconf = std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .expect("getconf");
        let said: f64 = String::from_utf8_lossy(&getconf.stdout)
            .trim()
            .parse()
            .unwrap();
        assert_eq!(clock_ticks_per_second(), said);
        let mut own = ProcWatch::new(std::process::id(), None);
        own.read(Instant::now());
        let spin = std::thread::spawn(|| {
            let until = std::time::Instant::now() + std::time::Duration::from_millis(400);
            let mut n = 0u64;
            while std::time::Instant::now() < until {
                n = std::hint::black_box(n.wrapping_add(1));
            }
        });
        spin.join().unwrap();
        let (cpu, _) = own.read(Instant::now());
        let cpu = cpu.expect("a CPU figure");
        assert!(
            (25.0..=250.0).contains(&cpu),
            "{cpu}% for one spinning thread"
        );
    }

    #[test]
    fn a_missing_process_is_refused_by_name() {
        let err = resolve_pid(&MonitorProcess::Pid(u32::MAX)).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "the target process {} named by [monitor] is not running",
                u32::MAX
            )
        );
    }
}
