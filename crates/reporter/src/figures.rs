//! The figures every report shows for a span of requests (one request in one step, a step, the
//! run): counts, rates, outcomes and latency, computed once from the histograms and then only
//! copied, so summary.json, the console, Markdown and HTML cannot disagree.

use serde::{Deserialize, Serialize};
use stampede_metrics::{Latency, OutcomeCounts, RequestStats};

use crate::num::{ratio, round};

/// min, mean and percentiles in milliseconds, rounded to the microsecond (the histogram's unit).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencyMs {
    pub min: f64,
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    pub p99_9: f64,
    pub max: f64,
}

impl LatencyMs {
    pub fn of(latency: &Latency) -> LatencyMs {
        let s = latency.summary();
        let r = |x: f64| round(x, 3);
        LatencyMs {
            min: r(s.min),
            mean: r(s.mean),
            p50: r(s.p50),
            p90: r(s.p90),
            p95: r(s.p95),
            p99: r(s.p99),
            p99_9: r(s.p99_9),
            max: r(s.max),
        }
    }

    /// `(label, value)` in display order.
    pub fn labelled(&self) -> [(&'static str, f64); 8] {
        [
            ("min", self.min),
            ("mean", self.mean),
            ("p50", self.p50),
            ("p90", self.p90),
            ("p95", self.p95),
            ("p99", self.p99),
            ("p99.9", self.p99_9),
            ("max", self.max),
        ]
    }
}

/// Requests per outcome, keyed by the stable outcome keys of `stampede_metrics::Outcome`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcomes {
    #[serde(rename = "2xx")]
    pub status_2xx: u64,
    #[serde(rename = "3xx")]
    pub status_3xx: u64,
    #[serde(rename = "4xx")]
    pub status_4xx: u64,
    #[serde(rename = "429")]
    pub rate_limited: u64,
    #[serde(rename = "5xx")]
    pub status_5xx: u64,
    pub timeout: u64,
    pub refused: u64,
    pub reset: u64,
    pub other: u64,
}

impl Outcomes {
    pub fn of(counts: &OutcomeCounts) -> Outcomes {
        use stampede_metrics::Outcome as O;
        Outcomes {
            status_2xx: counts.get(O::Status2xx),
            status_3xx: counts.get(O::Status3xx),
            status_4xx: counts.get(O::Status4xx),
            rate_limited: counts.get(O::RateLimited),
            status_5xx: counts.get(O::Status5xx),
            timeout: counts.get(O::Timeout),
            refused: counts.get(O::Refused),
            reset: counts.get(O::Reset),
            other: counts.get(O::Other),
        }
    }

    /// `(key, count)` for every outcome, in the fixed key order.
    pub fn iter(&self) -> [(&'static str, u64); 9] {
        [
            ("2xx", self.status_2xx),
            ("3xx", self.status_3xx),
            ("4xx", self.status_4xx),
            ("429", self.rate_limited),
            ("5xx", self.status_5xx),
            ("timeout", self.timeout),
            ("refused", self.refused),
            ("reset", self.reset),
            ("other", self.other),
        ]
    }
}

/// Everything reported about one span of requests.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    /// Requests completed, whatever their outcome.
    pub requests: u64,
    /// Requests that did not succeed (unexpected status, no response, failed check).
    pub failed: u64,
    /// `failed / requests`, 0 when there were no requests.
    pub error_rate: f64,
    /// Requests per second over the measured time.
    pub rps: f64,
    pub outcomes: Outcomes,
    /// Latency from the actual send.
    pub latency_ms: LatencyMs,
    /// Latency from the scheduled send (open model), present only when measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_corrected_ms: Option<LatencyMs>,
    pub checks_failed: u64,
    /// 429 responses.
    pub rate_limited: u64,
    /// 429 responses that said when to come back.
    pub retry_after_seen: u64,
    pub body_bytes: u64,
}

impl Figures {
    /// The figures of `stats`, measured over `seconds`.
    pub fn of(stats: &RequestStats, seconds: f64) -> Figures {
        let requests = stats.requests();
        Figures {
            requests,
            failed: stats.failed,
            error_rate: round(ratio(stats.failed as f64, requests as f64), 6),
            rps: round(ratio(requests as f64, seconds), 3),
            outcomes: Outcomes::of(&stats.outcomes),
            latency_ms: LatencyMs::of(&stats.latency),
            latency_corrected_ms: (!stats.corrected.is_empty())
                .then(|| LatencyMs::of(&stats.corrected)),
            checks_failed: stats.checks_failed,
            rate_limited: stats.outcomes.get(stampede_metrics::Outcome::RateLimited),
            retry_after_seen: stats.retry_after_seen,
            body_bytes: stats.body_bytes,
        }
    }

    /// The latency thresholds and analyses judge: corrected (from the scheduled send) when the
    /// step measured it, because that is what a user of an open-model system waits; otherwise
    /// from the actual send.
    pub fn judged_latency(&self) -> &LatencyMs {
        self.latency_corrected_ms
            .as_ref()
            .unwrap_or(&self.latency_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stampede_metrics::Outcome;

    #[test]
    fn figures_of_known_stats() {
        let mut stats = RequestStats::default();
        for ms in 1..=100u64 {
            stats.outcomes.bump(Outcome::Status2xx);
            stats.latency.record_us(ms * 1000);
        }
        for _ in 0..4 {
            stats.outcomes.bump(Outcome::RateLimited);
            stats.failed += 1;
            stats.latency.record_us(500);
        }
        let f = Figures::of(&stats, 10.0);
        assert_eq!((f.requests, f.failed, f.rate_limited), (104, 4, 4));
        assert_eq!(f.rps, 10.4);
        assert_eq!(f.error_rate, 0.038462);
        assert_eq!(f.latency_ms.min, 0.5);
        assert_eq!(f.latency_ms.p50, 48.031);
        assert_eq!(f.latency_ms.max, 100.031);
        assert_eq!(f.latency_corrected_ms, None);
        let json = serde_json::to_value(&f).unwrap();
        assert_eq!(json["outcomes"]["429"], 4);
        assert!(json.get("latency_corrected_ms").is_none());
    }

    #[test]
    fn no_requests_means_zero_rates_not_nan() {
        let f = Figures::of(&RequestStats::default(), 0.0);
        assert_eq!((f.rps, f.error_rate), (0.0, 0.0));
        assert_eq!(f.latency_ms, LatencyMs::default());
    }
}
