//! Reading stampede's `summary.json`: its own rate, latency percentiles and, for the open
//! model, the rate it aimed at and the rate it achieved.
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
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Open model: p99 from the scheduled send time (coordinated omission corrected).
    pub p99_corrected_ms: Option<f64>,
    /// Requests that failed in any way (status, timeout, reset ...).
    pub failed: u64,
    pub target_rate: Option<f64>,
    pub achieved_rate: Option<f64>,
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
    // The open model's rates may sit on the step, the total or the top level.
    let rate = |key: &str| find(&format!("/{key}")).or_else(|| json.get(key)?.as_f64());
    Ok(StampedeReport {
        requests_per_sec: need("/rps")?,
        p50_ms: need("/latency_ms/p50")?,
        p99_ms: need("/latency_ms/p99")?,
        p99_corrected_ms: find("/latency_corrected_ms/p99"),
        failed: find("/failed").unwrap_or(0.0) as u64,
        target_rate: rate("target_rate"),
        achieved_rate: rate("achieved_rate"),
    })
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
            (report.target_rate, report.p99_corrected_ms, report.failed),
            (None, None, 0)
        );
    }

    #[test]
    fn open_model_rates_from_the_single_step() {
        let text = r#"{"steps": [{"rps": 4999.1, "target_rate": 5000, "achieved_rate": 4998.7,
                        "failed": 2, "latency_ms": {"p50": 0.3, "p99": 0.9},
                        "latency_corrected_ms": {"p50": 1.1, "p99": 9.1}}]}"#;
        let report = parse(text).unwrap();
        assert_eq!(report.target_rate, Some(5000.0));
        assert_eq!(report.achieved_rate, Some(4998.7));
        assert_eq!(
            (report.p99_ms, report.p99_corrected_ms, report.failed),
            (0.9, Some(9.1), 2)
        );
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
