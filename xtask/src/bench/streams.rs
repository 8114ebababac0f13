//! Streams (issue 15): how many SSE streams stampede holds, what each costs in memory, and
//! what an event received costs in CPU.
//!
//! The demo target (`stampede target`, the release binary itself) runs as a process of its
//! own on CPU 0, beside the idle nginx; stampede runs on CPU 1 as every generator does. Users
//! are paired: each holds its inbox and posts to its partner's conversation, so the target's
//! fan-out turns every post into one event on another stream.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::measure::Bench;
use super::nginx;
use super::procfs;
use super::results::StreamRow;
use super::runner;
use super::scenario::Load;
use super::tools::Tool;

/// Events per second the posts aim at whatever the stream count, so the CPU per event of two
/// counts is measured at the same event rate.
const EVENTS_PER_SECOND: u32 = 1_000;

/// `stampede target` as a child; dropping it stops it.
pub struct DemoTarget {
    child: Child,
    port: u16,
}

impl DemoTarget {
    /// Starts the demo target on a free loopback port, pinned to CPU 0, and waits until its
    /// `/health` answers.
    pub fn start(stampede: &Path, nofile: u64, logs: &Path) -> Result<DemoTarget, String> {
        let [port, _] = nginx::free_ports()?;
        let log = logs.join("demo-target.err");
        let stderr = std::fs::File::create(&log)
            .map_err(|e| format!("cannot create {}: {e}", log.display()))?;
        let child = Command::new("prlimit")
            .arg(format!("--nofile={nofile}:{nofile}"))
            .args(["taskset", "-c", "0"])
            .arg(stampede)
            .args(["target", "--listen", &format!("127.0.0.1:{port}")])
            // No 429s and no cap below what the bench opens; heartbeats as shipped.
            .args(["--rate-limit", "0", "--max-streams", "100000"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .map_err(|e| format!("cannot start the demo target: {e}"))?;
        let target = DemoTarget { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !target.healthy() {
            if Instant::now() > deadline {
                return Err(format!(
                    "the demo target did not answer on 127.0.0.1:{port} within 10 s; see {}",
                    log.display()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(target)
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    fn healthy(&self) -> bool {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
        let asked = stream
            .write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
        let mut response = String::new();
        asked.is_ok()
            && stream.read_to_string(&mut response).is_ok()
            && response.starts_with("HTTP/1.1 200")
    }
}

impl Drop for DemoTarget {
    /// SIGTERM lets it shut down as it would on Ctrl-C; one that will not is killed.
    fn drop(&mut self) {
        procfs::stop(&mut self.child);
    }
}

/// The stream counts to try, doubling from `first`, and the largest this machine allows:
/// each user holds two connections (its stream and its posts) and so two open files on each
/// side, and two ephemeral ports towards the one target port.
pub fn counts(first: u32, steps: usize, nofile: u64, ports: u64) -> (Vec<u32>, u32, String) {
    let by_files = nofile.saturating_sub(500) / 2;
    let by_ports = ports.saturating_sub(2_000) / 2;
    let (ceiling, bound) = if by_files <= by_ports {
        (by_files, format!("open files ({nofile} per process)"))
    } else {
        (by_ports, format!("ephemeral ports ({ports})"))
    };
    // Whole thousands read better in a table.
    let ceiling = u32::try_from(ceiling / 1_000 * 1_000).unwrap_or(u32::MAX);
    let mut counts = Vec::new();
    let mut n = first.min(ceiling);
    while counts.len() < steps && n > 0 {
        counts.push(n);
        if n == ceiling {
            break;
        }
        n = n.saturating_mul(2).min(ceiling);
    }
    (counts, ceiling, bound)
}

impl Bench {
    /// `users` paired users holding one stream each against `target` for `duration`.
    pub fn streams(
        &self,
        target: &DemoTarget,
        users: u32,
        duration: Duration,
    ) -> Result<StreamRow, String> {
        let think =
            Duration::from_secs_f64((f64::from(users) / f64::from(EVENTS_PER_SECOND)).max(1.0));
        let load = Load::Streams { users, think };
        // The scenario's warm-up covers the ramp; the window starts a second after it.
        let warmup = (f64::from(users) / 2_000.0 + 2.0).min(duration.as_secs_f64() / 2.0);
        let offsets = [Duration::from_secs_f64(warmup + 1.0), duration.mul_f64(0.9)];
        let label = format!("stampede-streams{users}");
        let (finished, own) = self.run_at(
            Tool::Stampede,
            load,
            duration,
            &label,
            &offsets,
            &target.url(),
        )?;
        let stream = own
            .stampede
            .and_then(|s| s.stream)
            .ok_or_else(|| format!("{label}: summary.json has no `streams` section"))?;
        let [start, end] = [&finished.samples[0], &finished.samples[1]];
        let seconds = end.at.saturating_sub(start.at).as_secs_f64();
        let cpu_us = runner::cpu_seconds(start, end, self.ticks_per_second) * 1e6;
        let events = stream.events_per_s * seconds;
        Ok(StreamRow {
            users,
            peak_open: stream.peak_open,
            failed_opens: stream.failed_opens,
            disconnects: stream.disconnects,
            expected: stream.expected,
            lost: stream.lost,
            events_per_s: stream.events_per_s,
            e2e_p50_ms: stream.e2e_p50_ms,
            peak_rss_kib: finished.peak_rss_kib,
            cpu_us_per_event: if events > 0.0 {
                cpu_us / events
            } else {
                f64::NAN
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_double_up_to_the_tighter_bound() {
        let (tried, ceiling, bound) = counts(2_000, 8, 65_536, 28_232);
        assert_eq!(tried, [2_000, 4_000, 8_000, 13_000]);
        assert_eq!(ceiling, 13_000);
        assert!(bound.starts_with("ephemeral ports"), "{bound}");
        let (tried, ceiling, bound) = counts(2_000, 8, 20_000, 28_232);
        assert_eq!(tried, [2_000, 4_000, 8_000, 9_000]);
        assert_eq!(ceiling, 9_000);
        assert!(bound.starts_with("open files"), "{bound}");
    }

    #[test]
    fn quick_tries_one_count() {
        assert_eq!(counts(2_000, 1, 65_536, 28_232).0, [2_000]);
        // A machine that allows fewer than asked tries what it allows.
        assert_eq!(counts(2_000, 1, 2_600, 28_232).0, [1_000]);
    }
}
