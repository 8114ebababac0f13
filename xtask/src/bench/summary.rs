//! Reading stampede's `summary.json`: its own rate and latency percentiles, for the open model
//! both latencies (from the scheduled and from the actual send) and the rate achieved, the TLS
//! handshake phase, and the first stream's figures.
//!
//! The format is young, so this reads it loosely: the run-wide `total` first, else the single
//! step, and errors name the file and the missing field.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde_json::Value;

/// What the bench takes from a stampede summary.
#[derive(Debug, Clone, PartialEq)]
pub struct StampedeReport {
    pub requests_per_sec: f64,
    /// The headline latency: from the scheduled send in the open model (`latency_from` is
    /// `scheduled`), from the actual send otherwise.
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// The headline is measured from the scheduled send (coordinated omission corrected).
    pub from_scheduled: bool,
    /// From the actual send, beside a headline from the scheduled send.
    pub p50_sent_ms: Option<f64>,
    /// Requests that failed in any way (status, timeout, reset ...).
    pub failed: u64,
    /// Check evaluations that failed.
    pub checks_failed: u64,
    pub achieved_rate: Option<f64>,
    /// Open model: arrivals that found no free user and were dropped.
    pub dropped: u64,
    /// The median TLS handshake of the connections opened (the `tls-handshaking` phase).
    pub tls_handshake_p50_ms: Option<f64>,
    /// The first `[[stream]]` over the run, when the scenario has one.
    pub stream: Option<StreamReport>,
    /// The series' points as (seconds from the start, users spawned so far): in the open
    /// model, the pool of users, which only grows.
    pub series_users: Vec<(f64, u64)>,
}

/// A stream's run-wide figures from the `streams` section.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct StreamReport {
    pub peak_open: u64,
    pub opened: u64,
    pub failed_opens: u64,
    pub disconnects: u64,
    pub events: u64,
    pub events_per_s: f64,
    pub expected: u64,
    pub lost: u64,
    pub e2e_p50_ms: Option<f64>,
}

pub fn parse(text: &str) -> Result<StampedeReport, String> {
    let json: Value =
        serde_json::from_str(text).map_err(|e| format!("summary.json is not JSON: {e}"))?;
    let steps = json
        .get("steps")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    // Where the run-wide figures are: `total`, else the only step.
    let scopes: Vec<&Value> = json
        .get("total")
        .into_iter()
        .chain(steps.first().filter(|_| steps.len() == 1))
        .collect();
    let find = |pointer: &str| scopes.iter().find_map(|s| s.pointer(pointer)?.as_f64());
    let need = |pointer: &str| {
        find(pointer).ok_or_else(|| {
            format!("summary.json has no number at total{pointer} (nor in a single step)")
        })
    };
    let from_scheduled = scopes
        .iter()
        .find_map(|s| s.get("latency_from")?.as_str())
        .is_some_and(|from| from == "scheduled");
    Ok(StampedeReport {
        requests_per_sec: need("/rps")?,
        p50_ms: need("/latency_ms/p50")?,
        p99_ms: need("/latency_ms/p99")?,
        from_scheduled,
        p50_sent_ms: find("/latency_sent_ms/p50"),
        failed: find("/failed").unwrap_or(0.0) as u64,
        checks_failed: find("/checks_failed").unwrap_or(0.0) as u64,
        achieved_rate: find("/achieved_rate").or_else(|| json.get("achieved_rate")?.as_f64()),
        dropped: find("/dropped").unwrap_or(0.0) as u64,
        tls_handshake_p50_ms: find("/phases/tls_handshaking/p50"),
        stream: json.pointer("/streams/0").map(stream),
        series_users: series_users(&json),
    })
}

fn series_users(json: &Value) -> Vec<(f64, u64)> {
    let points = json.pointer("/series/points").and_then(Value::as_array);
    points
        .into_iter()
        .flatten()
        .filter_map(|p| Some((p.get("offset_s")?.as_f64()?, p.get("users")?.as_u64()?)))
        .collect()
}

fn stream(json: &Value) -> StreamReport {
    let number = |key: &str| json.get(key).and_then(Value::as_f64);
    let count = |key: &str| number(key).unwrap_or(0.0) as u64;
    StreamReport {
        peak_open: count("peak_open"),
        opened: count("opened"),
        failed_opens: count("failed_opens"),
        disconnects: count("disconnects"),
        events: count("events"),
        events_per_s: number("events_per_s").unwrap_or(0.0),
        expected: count("expected"),
        lost: count("lost"),
        e2e_p50_ms: json.pointer("/e2e_ms/p50").and_then(Value::as_f64),
    }
}

/// The `summary.json` under `results` written at or after `since`: stampede names the run
/// folder itself, so the bench looks for what appeared.
pub fn find_new(results: &Path, since: SystemTime) -> Result<PathBuf, String> {
    let mut found: Vec<(SystemTime, PathBuf)> = Vec::new();
    let mut stack = vec![results.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.file_name().is_some_and(|n| n == "summary.json") {
                let modified = entry.metadata().and_then(|m| m.modified());
                if let Ok(modified) = modified
                    && modified >= since
                {
                    found.push((modified, path));
                }
            }
        }
    }
    found
        .into_iter()
        .max()
        .map(|(_, path)| path)
        .ok_or_else(|| {
            format!(
                "stampede wrote no new summary.json under {}",
                results.display()
            )
        })
}

pub fn read(path: &Path) -> Result<StampedeReport, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    parse(&text).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Captured from stampede's summary.json of a bench run, trimmed to the parts read.
    const CLOSED: &str = r#"{"schema_version": 1, "scenario": "stampede-c50-rep1",
        "kind": "smoke", "run_id": "20261123T124858Z",
        "steps": [{"index": 0, "label": "50 users", "users": 50, "duration_s": 5.0,
            "requests": 112354, "failed": 0, "rps": 22470.8,
            "latency_ms": {"min": 0.314, "mean": 2.23, "p50": 0.722, "p90": 6.68, "p95": 7.14,
                "p99": 9.159, "p99_9": 14.0, "max": 36.6}}],
        "total": {"users": 50, "duration_s": 5.0, "requests": 112354, "failed": 0,
            "rps": 22470.8, "latency_ms": {"min": 0.314, "mean": 2.23, "p50": 0.722,
                "p90": 6.68, "p95": 7.14, "p99": 9.159, "p99_9": 14.0, "max": 36.6}}}"#;

    #[test]
    fn closed_model_reads_the_total() {
        let report = parse(CLOSED).unwrap();
        assert_eq!(report.requests_per_sec, 22_470.8);
        assert_eq!((report.p50_ms, report.p99_ms), (0.722, 9.159));
        assert_eq!(
            (report.from_scheduled, report.p50_sent_ms, report.failed),
            (false, None, 0)
        );
        assert_eq!((report.tls_handshake_p50_ms, report.stream), (None, None));
    }

    #[test]
    fn open_model_reads_both_latencies_from_the_single_step() {
        let text = r#"{"steps": [{"rps": 4999.1, "planned_rate": 5000, "achieved_rate": 4998.7,
                        "failed": 2, "dropped": 3, "latency_from": "scheduled",
                        "latency_ms": {"p50": 1.1, "p99": 9.1},
                        "latency_sent_ms": {"p50": 0.3, "p99": 0.9}}]}"#;
        let report = parse(text).unwrap();
        assert_eq!(report.achieved_rate, Some(4998.7));
        assert!(report.from_scheduled);
        assert_eq!(
            (report.p50_ms, report.p99_ms, report.p50_sent_ms),
            (1.1, 9.1, Some(0.3))
        );
        assert_eq!((report.failed, report.dropped), (2, 3));
    }

    #[test]
    fn tls_phase_and_stream_figures() {
        let text = r#"{"total": {"rps": 10.0, "latency_ms": {"p50": 0.3, "p99": 0.9},
                        "phases": {"tls_handshaking": {"count": 50, "p50": 0.81}}},
                      "streams": [{"name": "inbox", "peak_open": 2000, "opened": 2000,
                        "failed_opens": 0, "disconnects": 1, "events": 9000,
                        "events_per_s": 900.5, "expected": 9001, "lost": 1,
                        "e2e_ms": {"count": 9000, "p50": 0.4}}]}"#;
        let report = parse(text).unwrap();
        assert_eq!(report.tls_handshake_p50_ms, Some(0.81));
        let stream = report.stream.unwrap();
        assert_eq!(
            (
                stream.peak_open,
                stream.events,
                stream.lost,
                stream.disconnects
            ),
            (2000, 9000, 1, 1)
        );
        assert_eq!((stream.events_per_s, stream.e2e_p50_ms), (900.5, Some(0.4)));
    }

    #[test]
    fn the_pool_of_users_is_read_from_the_series() {
        let text = r#"{"total": {"rps": 10.0, "latency_ms": {"p50": 0.3, "p99": 0.9}},
                      "series": {"point_s": 60.0, "points": [
                        {"offset_s": 0.0, "users": 18}, {"offset_s": 60.0, "users": 43}]}}"#;
        assert_eq!(parse(text).unwrap().series_users, [(0.0, 18), (60.0, 43)]);
        assert!(parse(CLOSED).unwrap().series_users.is_empty());
    }

    #[test]
    fn missing_figures_are_named() {
        let err = parse(r#"{"total": {"rps": 1.0}}"#).unwrap_err();
        assert!(err.contains("latency_ms/p50"), "{err}");
        // Two steps and no total: no single run-wide figure to take.
        let two = r#"{"steps": [{"rps": 1.0}, {"rps": 2.0}]}"#;
        assert!(parse(two).unwrap_err().contains("/rps"));
        assert!(parse("not json").unwrap_err().contains("not JSON"));
    }
}
