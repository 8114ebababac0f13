//! Reading oha's JSON report: its own rate and latency percentiles.

use serde_json::Value;

/// What the bench takes from an oha report.
#[derive(Debug, Clone, PartialEq)]
pub struct OhaReport {
    pub requests_per_sec: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Responses other than 2xx plus transport errors; anything but 0 makes the run suspect.
    pub errors: u64,
}

/// Parses `oha --output-format json` (or `-j` in older versions); latencies there are in
/// seconds.
pub fn parse(text: &str) -> Result<OhaReport, String> {
    // Older versions print a line or two before the JSON; start at the first brace.
    let start = text.find('{').ok_or("no JSON object in oha's output")?;
    let json: Value = serde_json::from_str(text[start..].trim_end())
        .map_err(|e| format!("oha's output is not JSON: {e}"))?;
    let number = |pointer: &str| -> Result<f64, String> {
        json.pointer(pointer)
            .and_then(Value::as_f64)
            .ok_or_else(|| format!("oha's JSON has no number at {pointer}"))
    };
    let count_map = |pointer: &str, keep: &dyn Fn(&str) -> bool| -> u64 {
        json.pointer(pointer)
            .and_then(Value::as_object)
            .map(|map| {
                map.iter()
                    .filter(|(k, _)| keep(k))
                    .filter_map(|(_, v)| v.as_u64())
                    .sum::<u64>()
            })
            .unwrap_or(0)
    };
    let errors = count_map("/statusCodeDistribution", &|code| !code.starts_with('2'))
        + count_map("/errorDistribution", &|error| {
            !error.contains("aborted due to deadline")
        });
    Ok(OhaReport {
        requests_per_sec: number("/summary/requestsPerSec")?,
        p50_ms: number("/latencyPercentiles/p50")? * 1000.0,
        p99_ms: number("/latencyPercentiles/p99")? * 1000.0,
        errors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Captured from oha 1.16.0 against nginx on loopback (`--output-format json`), trimmed to
    // the parts read.
    const REPORT: &str = r#"{"summary": {"successRate": 1.0, "total": 5.002742765,
        "slowest": 0.011820625, "fastest": 0.000190407, "average": 0.0006634758764042584,
        "requestsPerSec": 74954.48349321635, "totalData": 749864, "sizePerRequest": 2,
        "sizePerSec": 149890.5770742742},
        "latencyPercentiles": {"p10": 0.000244549, "p25": 0.00026107, "p50": 0.000340979,
        "p75": 0.000362069, "p90": 0.000524043, "p95": 0.004368555, "p99": 0.004481928,
        "p99.9": 0.005639079, "p99.99": 0.010235381},
        "statusCodeDistribution": {"200": 374932},
        "errorDistribution": {"aborted due to deadline": 46}}"#;

    #[test]
    fn rate_and_percentiles_in_milliseconds() {
        let report = parse(REPORT).unwrap();
        assert_eq!(report.requests_per_sec, 74_954.483_493_216_35);
        assert!((report.p50_ms - 0.340_979).abs() < 1e-9);
        assert!((report.p99_ms - 4.481_928).abs() < 1e-9);
        // Requests cut off by the deadline are how every timed oha run ends, not errors.
        assert_eq!(report.errors, 0);
    }

    #[test]
    fn failures_are_counted() {
        let text = REPORT
            .replace(r#"{"200": 374932}"#, r#"{"200": 374932, "503": 4}"#)
            .replace(
                r#"{"aborted due to deadline": 46}"#,
                r#"{"connection reset":3}"#,
            );
        assert_eq!(parse(&text).unwrap().errors, 7);
    }

    #[test]
    fn missing_fields_are_named() {
        let err = parse(r#"{"summary":{}}"#).unwrap_err();
        assert!(err.contains("/summary/requestsPerSec"), "{err}");
        assert!(
            parse("error: connection refused")
                .unwrap_err()
                .contains("no JSON")
        );
    }
}
