//! What a run is judged on: metrics by name and unit, conditions on them, and the thresholds,
//! stop conditions and drift limits a scenario sets.
//!
//! A metric names itself once ([`Metric::name`]): the same spelling is the TOML key, the name in
//! every message and the value in summary.json. Its value is computed in one place, the metrics
//! crate's `Figures`, for live limits and final thresholds alike.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A figure a threshold, a stop condition or a knee can be set on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Metric {
    P50,
    P90,
    P95,
    P99,
    Max,
    Mean,
    /// Failed / completed, as a fraction.
    ErrorRate,
    /// Completed requests per second.
    Rps,
    /// Passed checks / checked responses, as a fraction.
    Checks,
}

/// How a metric's value reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Milliseconds.
    Millis,
    /// A fraction, shown as a percentage.
    Fraction,
    /// Per second.
    PerSecond,
    /// Megabytes (10^6 bytes) per hour: a memory growth.
    MbPerHour,
}

impl Metric {
    pub const ALL: [Metric; 9] = [
        Metric::P50,
        Metric::P90,
        Metric::P95,
        Metric::P99,
        Metric::Max,
        Metric::Mean,
        Metric::ErrorRate,
        Metric::Rps,
        Metric::Checks,
    ];

    /// The one spelling: TOML key, messages and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Metric::P50 => "p50",
            Metric::P90 => "p90",
            Metric::P95 => "p95",
            Metric::P99 => "p99",
            Metric::Max => "max",
            Metric::Mean => "mean",
            Metric::ErrorRate => "error-rate",
            Metric::Rps => "rps",
            Metric::Checks => "checks",
        }
    }

    pub fn from_name(name: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.name() == name)
    }

    pub fn unit(self) -> Unit {
        match self {
            Metric::P50 | Metric::P90 | Metric::P95 | Metric::P99 | Metric::Max | Metric::Mean => {
                Unit::Millis
            }
            Metric::ErrorRate | Metric::Checks => Unit::Fraction,
            Metric::Rps => Unit::PerSecond,
        }
    }

    /// True when a larger value is better (throughput, checks passed); false for latency and
    /// errors.
    pub fn higher_is_better(self) -> bool {
        matches!(self, Metric::Rps | Metric::Checks)
    }
}

impl Unit {
    /// A duration written in a latency condition (`< 2s`) as this unit's value: milliseconds.
    pub fn millis_of(duration: Duration) -> f64 {
        duration.as_secs_f64() * 1000.0
    }
}

/// `< 500ms`, `> 100`, `<= 1%`: latencies in milliseconds, rates as fractions.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Condition {
    pub op: Op,
    pub value: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = ">=")]
    Ge,
}

impl Op {
    pub fn symbol(self) -> &'static str {
        match self {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
        }
    }
}

impl Condition {
    pub fn holds(&self, observed: f64) -> bool {
        match self.op {
            Op::Lt => observed < self.value,
            Op::Le => observed <= self.value,
            Op::Gt => observed > self.value,
            Op::Ge => observed >= self.value,
        }
    }
}

/// Which requests a threshold judges.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    /// Every request of the run together.
    Run,
    /// Each step on its own.
    PerStep,
    /// One request, over the run.
    Request(crate::RequestId),
}

/// A pass/fail rule on the results. Conditions say what must hold (`p95 < 500ms`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Threshold {
    pub metric: Metric,
    pub condition: Condition,
    /// A stricter condition whose breach is only a warning.
    pub warn: Option<Condition>,
    pub scope: Scope,
    /// Judged over a sliding window while the run goes on, as well as at the end.
    pub live: Option<LiveRule>,
}

/// How a threshold is judged while the run goes on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveRule {
    /// The span of the most recent intervals judged together; never zero.
    pub window: Duration,
    /// A breach over the window stops the run as failed; otherwise it is logged as a warning.
    pub abort: bool,
}

/// Soak limits on drift: how far the last third of the measured run may move from the first.
/// A limit that is `None` is not judged (the analysis still reports the figure).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Drift {
    /// Largest allowed relative growth of p95, as a fraction (0.5: the last third's median p95
    /// may be at most 1.5 times the first third's).
    pub p95_growth: Option<f64>,
    /// A p95 growth only counts when p95 also grew by at least this many milliseconds, so a
    /// fast service's microsecond jitter is never a drift.
    pub min_change_ms: Option<f64>,
    /// Largest allowed rise of the error rate, as a fraction (0.01: one percentage point).
    pub error_rate_growth: Option<f64>,
    /// Largest allowed growth of the monitored target's resident memory, in MB per hour.
    pub target_rss_growth_mb_per_hour: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_reads_back_from_its_one_name() {
        for metric in Metric::ALL {
            assert_eq!(Metric::from_name(metric.name()), Some(metric));
            let json = serde_json::to_string(&metric).unwrap();
            assert_eq!(
                json,
                format!("\"{}\"", metric.name()),
                "serde and name() agree"
            );
        }
        assert_eq!(Metric::from_name("error_rate"), None);
    }

    #[test]
    fn conditions_hold_by_their_operator() {
        let lt = Condition {
            op: Op::Lt,
            value: 10.0,
        };
        assert!(lt.holds(9.9) && !lt.holds(10.0));
        let ge = Condition {
            op: Op::Ge,
            value: 10.0,
        };
        assert!(ge.holds(10.0) && !ge.holds(9.9));
        assert_eq!(Op::Le.symbol(), "<=");
    }
}
