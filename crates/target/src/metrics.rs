//! The target's own counters and handling-latency summaries, printed as Prometheus text
//! format 0.0.4 by `GET /metrics`.
//!
//! Counts are atomics in a fixed route x status table, so the label set is bounded and
//! counting costs no lock. Each route has its own small histogram behind its own mutex,
//! touched once per request; `/health` never contends with the other routes.

use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hdrhistogram::Histogram;

use crate::counters::Counters;
use crate::routes::Route;
use crate::state::lock;

/// Status labels; a dropped request (closed or stalled by a fault) has no status code.
const STATUSES: [&str; 14] = [
    "101", "200", "201", "400", "401", "403", "404", "405", "413", "429", "500", "503", "other",
    "dropped",
];
const OTHER: usize = 12;
const DROPPED: usize = 13;

/// Highest latency the histograms tell apart; slower requests are counted at this value.
const MAX_TRACKED_NS: u64 = 3_600_000_000_000;

/// The outcome of one request, as counted.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Outcome {
    Status(http::StatusCode),
    /// The connection was closed without an answer.
    Dropped,
}

pub(crate) struct Metrics {
    /// Everything counted beyond the per-route table.
    pub(crate) counters: Counters,
    counts: [[AtomicU64; STATUSES.len()]; Route::ALL.len()],
    latencies: [Mutex<RouteLatency>; Route::ALL.len()],
}

struct RouteLatency {
    histogram_ns: Histogram<u64>,
    sum_ns: u64,
}

impl Metrics {
    pub(crate) fn new() -> Self {
        Metrics {
            counters: Counters::default(),
            counts: std::array::from_fn(|_| std::array::from_fn(|_| AtomicU64::new(0))),
            latencies: std::array::from_fn(|_| {
                Mutex::new(RouteLatency {
                    // Two significant digits, 1 ns to 1 h: about 37 KB per route.
                    histogram_ns: Histogram::new_with_bounds(1, MAX_TRACKED_NS, 2)
                        .expect("constant histogram bounds are valid"),
                    sum_ns: 0,
                })
            }),
        }
    }

    /// Counts one request of `route` and how long the target took to handle it.
    pub(crate) fn record(&self, route: Route, outcome: Outcome, took: Duration) {
        self.counts[route.index()][status_index(outcome)].fetch_add(1, Ordering::Relaxed);
        let took_ns = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        let mut latency = lock(&self.latencies[route.index()]);
        latency.histogram_ns.saturating_record(took_ns);
        latency.sum_ns = latency.sum_ns.saturating_add(took_ns);
    }

    /// The Prometheus text exposition of everything counted so far.
    pub(crate) fn render(&self, events_stored: usize) -> String {
        let mut out = String::with_capacity(4096);
        self.render_counts(&mut out);
        self.render_latencies(&mut out);
        self.counters.render(&mut out);
        // Writing into a String cannot fail, here and below.
        let _ = writeln!(
            out,
            "# HELP stampede_target_events_stored Events currently held by the target's store.\n\
             # TYPE stampede_target_events_stored gauge\n\
             stampede_target_events_stored {events_stored}"
        );
        if let Some(bytes) = resident_memory_bytes() {
            let _ = writeln!(
                out,
                "# HELP process_resident_memory_bytes Resident memory size in bytes.\n\
                 # TYPE process_resident_memory_bytes gauge\n\
                 process_resident_memory_bytes {bytes}"
            );
        }
        out
    }

    fn render_counts(&self, out: &mut String) {
        out.push_str(
            "# HELP stampede_target_requests_total Requests handled, by route template and status.\n\
             # TYPE stampede_target_requests_total counter\n",
        );
        for route in Route::ALL {
            for (status, count) in STATUSES.iter().zip(&self.counts[route.index()]) {
                let count = count.load(Ordering::Relaxed);
                if count > 0 {
                    let _ = writeln!(
                        out,
                        "stampede_target_requests_total{{route=\"{}\",status=\"{status}\"}} {count}",
                        route.template()
                    );
                }
            }
        }
    }

    fn render_latencies(&self, out: &mut String) {
        out.push_str(
            "# HELP stampede_target_request_duration_seconds Time the target took to answer, injected latency included.\n\
             # TYPE stampede_target_request_duration_seconds summary\n",
        );
        let name = "stampede_target_request_duration_seconds";
        for route in Route::ALL {
            let latency = lock(&self.latencies[route.index()]);
            let count = latency.histogram_ns.len();
            if count == 0 {
                continue;
            }
            let label = route.template();
            for (quantile, q) in [("0.5", 0.5), ("0.9", 0.9), ("0.99", 0.99)] {
                let seconds = ns_to_s(latency.histogram_ns.value_at_quantile(q));
                let _ = writeln!(
                    out,
                    "{name}{{route=\"{label}\",quantile=\"{quantile}\"}} {seconds}"
                );
            }
            let sum = ns_to_s(latency.sum_ns);
            let _ = writeln!(out, "{name}_sum{{route=\"{label}\"}} {sum}");
            let _ = writeln!(out, "{name}_count{{route=\"{label}\"}} {count}");
        }
    }
}

fn status_index(outcome: Outcome) -> usize {
    let Outcome::Status(status) = outcome else {
        return DROPPED;
    };
    STATUSES[..OTHER]
        .iter()
        .position(|label| label.as_bytes() == status.as_str().as_bytes())
        .unwrap_or(OTHER)
}

fn ns_to_s(ns: u64) -> f64 {
    ns as f64 / 1e9
}

/// Resident set size of this process. Read from `VmRSS` in `/proc/self/status`, which is
/// in kB, rather than from `/proc/self/statm`, which is in pages of a size std cannot tell.
fn resident_memory_bytes() -> Option<u64> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::StatusCode;

    #[test]
    fn counts_and_summaries_are_printed_per_template() {
        let metrics = Metrics::new();
        let ok = Outcome::Status(StatusCode::OK);
        metrics.record(Route::Health, ok, Duration::from_micros(10));
        metrics.record(Route::Health, ok, Duration::from_micros(30));
        metrics.record(
            Route::GetEvent,
            Outcome::Status(StatusCode::NOT_FOUND),
            Duration::ZERO,
        );
        metrics.record(Route::Login, Outcome::Dropped, Duration::from_millis(1));
        let text = metrics.render(7);
        for expected in [
            r#"stampede_target_requests_total{route="/health",status="200"} 2"#,
            r#"stampede_target_requests_total{route="/events/{id}",status="404"} 1"#,
            r#"stampede_target_requests_total{route="/login",status="dropped"} 1"#,
            r#"stampede_target_request_duration_seconds_count{route="/health"} 2"#,
            r#"stampede_target_request_duration_seconds_sum{route="/health"} 0.00004"#,
            r#"stampede_target_request_duration_seconds{route="/health",quantile="0.99"} 0.00003"#,
            "stampede_target_events_stored 7",
        ] {
            assert!(text.contains(expected), "missing {expected} in\n{text}");
        }
        assert!(!text.contains(r#"route="/inbox""#), "{text}");
    }

    #[test]
    fn unusual_statuses_fall_into_other() {
        assert_eq!(
            status_index(Outcome::Status(StatusCode::IM_A_TEAPOT)),
            OTHER
        );
        assert_eq!(status_index(Outcome::Status(StatusCode::CREATED)), 2);
        assert_eq!(STATUSES[OTHER], "other");
        assert_eq!(STATUSES[DROPPED], "dropped");
    }
}
