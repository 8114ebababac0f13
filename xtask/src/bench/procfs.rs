//! Reading a generator's CPU time and memory from `/proc`, without libc.
//!
//! CPU time comes from `/proc/<pid>/stat` (utime + stime of the whole thread group). A child
//! that has exited but not yet been reaped is a zombie whose stat line still holds its final
//! CPU time, so the runner reads it then, before `wait` removes it: exact to one clock tick.
//! Memory comes from `/proc/<pid>/status`; the zombie has no memory left, so the peak (VmHWM)
//! is sampled while the process lives.

use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// What one read of `/proc/<pid>/stat` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    /// The state letter: `R`, `S`, `Z`, ...
    pub state: char,
    /// User plus system time of all the process's threads, in clock ticks.
    pub cpu_ticks: u64,
}

impl Stat {
    pub fn is_zombie(&self) -> bool {
        matches!(self.state, 'Z' | 'X')
    }
}

/// Parses a `/proc/<pid>/stat` line. The command name may hold spaces and parentheses, so the
/// fields are counted from the last `)`.
pub fn parse_stat(line: &str) -> Result<Stat, String> {
    let close = line
        .rfind(')')
        .ok_or_else(|| format!("no `)` in stat line {line:?}"))?;
    let fields: Vec<&str> = line[close + 1..].split_whitespace().collect();
    // After the name: state is field 3 of proc(5), utime 14 and stime 15.
    let field = |n: usize| -> Result<&str, String> {
        fields
            .get(n - 3)
            .copied()
            .ok_or_else(|| format!("stat line has no field {n}: {line:?}"))
    };
    let state = field(3)?.chars().next().unwrap_or('?');
    let ticks = |n: usize| -> Result<u64, String> {
        let text = field(n)?;
        text.parse()
            .map_err(|_| format!("stat field {n} is not a number: {text:?}"))
    };
    Ok(Stat {
        state,
        cpu_ticks: ticks(14)? + ticks(15)?,
    })
}

/// Memory figures from `/proc/<pid>/status`, in KiB.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Memory {
    pub rss_kib: u64,
    pub peak_rss_kib: u64,
}

/// Parses `VmRSS` and `VmHWM` out of `/proc/<pid>/status`; `None` once the process has let go
/// of its memory (a zombie has neither line).
pub fn parse_status(text: &str) -> Option<Memory> {
    let kib = |key: &str| -> Option<u64> {
        let line = text.lines().find(|l| l.starts_with(key))?;
        line[key.len()..].split_whitespace().next()?.parse().ok()
    };
    Some(Memory {
        rss_kib: kib("VmRSS:")?,
        peak_rss_kib: kib("VmHWM:")?,
    })
}

/// The parent PID in a `/proc/<pid>/stat` line (field 4).
pub fn parse_ppid(line: &str) -> Option<u32> {
    let close = line.rfind(')')?;
    line[close + 1..].split_whitespace().nth(1)?.parse().ok()
}

/// The processes whose parent is `pid` (nginx's workers), found by reading every
/// `/proc/<n>/stat`: `/proc/<pid>/task/<pid>/children` is not in every kernel.
pub fn children(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&n| {
            std::fs::read_to_string(format!("/proc/{n}/stat"))
                .ok()
                .and_then(|line| parse_ppid(&line))
                == Some(pid)
        })
        .collect()
}

pub fn stat(pid: u32) -> Result<Stat, String> {
    let path = format!("/proc/{pid}/stat");
    let line = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {path}: {e}"))?;
    parse_stat(&line)
}

pub fn memory(pid: u32) -> Option<Memory> {
    parse_status(&std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?)
}

/// The soft and hard limit on open files from `/proc/self/limits`.
pub fn parse_nofile_limits(text: &str) -> Option<(u64, u64)> {
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    let mut numbers = line["Max open files".len()..]
        .split_whitespace()
        .map(str::parse::<u64>);
    Some((numbers.next()?.ok()?, numbers.next()?.ok()?))
}

pub fn nofile_hard_limit() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    parse_nofile_limits(&text).map(|(_, hard)| hard)
}

/// The open-file limit the bench gives nginx and the generators: `wanted` when `prlimit` may
/// raise the hard limit that far (root may), else the hard limit we have.
pub fn nofile_limit(wanted: u64) -> u64 {
    let raised = Command::new("prlimit")
        .arg(format!("--nofile={wanted}:{wanted}"))
        .arg("true")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if raised {
        wanted
    } else {
        nofile_hard_limit().unwrap_or(4_096).min(wanted)
    }
}

/// The ephemeral port range (`net.ipv4.ip_local_port_range`): how many connections one client
/// address can open to one server port, which bounds the streams a loopback run can hold.
pub fn ephemeral_ports() -> u64 {
    let text =
        std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").unwrap_or_default();
    let mut bounds = text.split_whitespace().map(str::parse::<u64>);
    match (bounds.next(), bounds.next()) {
        (Some(Ok(low)), Some(Ok(high))) if high >= low => high - low + 1,
        _ => 28_232,
    }
}

/// Clock ticks per second (`sysconf(_SC_CLK_TCK)`), asked of `getconf` since std has no
/// sysconf; 100 is what every Linux we run on uses.
pub fn clock_ticks_per_second() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|text| text.trim().parse().ok())
        .filter(|&ticks| ticks > 0)
        .unwrap_or(100)
}

/// Stops a background child (nginx, the demo target) as Ctrl-C would: SIGTERM, then up to
/// five seconds to go, then SIGKILL. False when it had to be killed.
pub fn stop(child: &mut Child) -> bool {
    let pid = child.id().to_string();
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    // Captured from a running `wrk` (the comm is made awkward on purpose).
    const STAT: &str = "4242 (wrk (x) y) S 4241 4242 4241 0 -1 4194560 171 0 0 0 312 688 0 0 20 0 \
                        2 0 1234567 28000256 1081 18446744073709551615 1 1 0 0 0 0 0 4096 17664 \
                        0 0 0 17 1 0 0 0 0 0";

    #[test]
    fn stat_sums_user_and_system_ticks_after_an_awkward_name() {
        assert_eq!(
            parse_stat(STAT).unwrap(),
            Stat {
                state: 'S',
                cpu_ticks: 1000
            }
        );
    }

    #[test]
    fn parent_pid_follows_the_name() {
        assert_eq!(parse_ppid(STAT), Some(4241));
        assert_eq!(parse_ppid("1 (a)"), None);
    }

    #[test]
    fn zombie_state_is_recognised() {
        let zombie = STAT.replace(") S ", ") Z ");
        assert!(parse_stat(&zombie).unwrap().is_zombie());
    }

    #[test]
    fn truncated_stat_is_an_error_naming_the_field() {
        let err = parse_stat("1 (a) R 0 1 2").unwrap_err();
        assert!(err.contains("field 14"), "{err}");
    }

    #[test]
    fn status_gives_rss_and_peak() {
        let text = "Name:\twrk\nVmPeak:\t  30000 kB\nVmHWM:\t    5120 kB\nVmRSS:\t    4096 kB\n";
        assert_eq!(
            parse_status(text),
            Some(Memory {
                rss_kib: 4096,
                peak_rss_kib: 5120
            })
        );
        assert_eq!(parse_status("Name:\twrk\nState:\tZ (zombie)\n"), None);
    }

    #[test]
    fn nofile_limits_come_from_the_limits_table() {
        let text = "Limit                     Soft Limit           Hard Limit           Units\n\
                    Max processes             unlimited            unlimited            processes\n\
                    Max open files            1024                 20000                files\n";
        assert_eq!(parse_nofile_limits(text), Some((1024, 20000)));
    }
}
