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
    /// Passed check evaluations / all check evaluations, as a fraction.
    Checks,
    /// 429 responses / completed requests, as a fraction.
    RateLimited,
    /// Requests that succeeded (an expected status other than 429) per second.
    SuccessRps,
    /// Percentiles of the request phases, named as k6 names them (`http_req_connecting`,
    /// `http_req_tls_handshaking`, `http_req_waiting`, `http_req_receiving`): `connecting-p95`.
    ConnectingP50,
    ConnectingP95,
    ConnectingP99,
    TlsHandshakingP50,
    TlsHandshakingP95,
    TlsHandshakingP99,
    WaitingP50,
    WaitingP95,
    WaitingP99,
    ReceivingP50,
    ReceivingP95,
    ReceivingP99,
    /// A stream's figures (`[thresholds.stream.NAME]`): end-to-end latency of paired
    /// messages, connect time, time to first event, messages lost and disconnects.
    E2eP50,
    E2eP95,
    E2eP99,
    ConnectP95,
    FirstEventP95,
    Lost,
    Disconnects,
    /// A WebSocket message's round trip: sent to its echo's arrival.
    RttP95,
    /// The busiest watched process's mean CPU over a span, as a fraction of one core (`"> 70%"`),
    /// from the monitor's samples: a knee level, a `stop-when` or a run or per-step threshold.
    TargetCpu,
}

/// A part of one request's time, as k6 splits it. Connecting and TLS happen once per new
/// connection; waiting and receiving once per response.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// Opening the TCP connection (the address is resolved once per run, so no DNS).
    Connecting,
    /// The TLS handshake, after the TCP connection is open.
    TlsHandshaking,
    /// Time to first byte: from the request written to the response head.
    Waiting,
    /// From the response head to the end of its body.
    Receiving,
}

impl Phase {
    pub const ALL: [Phase; 4] = [
        Phase::Connecting,
        Phase::TlsHandshaking,
        Phase::Waiting,
        Phase::Receiving,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Phase::Connecting => "connecting",
            Phase::TlsHandshaking => "tls-handshaking",
            Phase::Waiting => "waiting",
            Phase::Receiving => "receiving",
        }
    }
}

/// The percentiles of a phase that a metric can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PhaseStat {
    P50,
    P95,
    P99,
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
    /// How many: messages lost, disconnects.
    Count,
}

impl Metric {
    /// The metrics of a stream, judged only in `[thresholds.stream.NAME]`.
    pub const STREAM: [Metric; 8] = [
        Metric::E2eP50,
        Metric::E2eP95,
        Metric::E2eP99,
        Metric::ConnectP95,
        Metric::FirstEventP95,
        Metric::Lost,
        Metric::Disconnects,
        Metric::RttP95,
    ];

    pub const ALL: [Metric; 32] = [
        Metric::P50,
        Metric::P90,
        Metric::P95,
        Metric::P99,
        Metric::Max,
        Metric::Mean,
        Metric::ErrorRate,
        Metric::Rps,
        Metric::Checks,
        Metric::RateLimited,
        Metric::SuccessRps,
        Metric::ConnectingP50,
        Metric::ConnectingP95,
        Metric::ConnectingP99,
        Metric::TlsHandshakingP50,
        Metric::TlsHandshakingP95,
        Metric::TlsHandshakingP99,
        Metric::WaitingP50,
        Metric::WaitingP95,
        Metric::WaitingP99,
        Metric::ReceivingP50,
        Metric::ReceivingP95,
        Metric::ReceivingP99,
        Metric::E2eP50,
        Metric::E2eP95,
        Metric::E2eP99,
        Metric::ConnectP95,
        Metric::FirstEventP95,
        Metric::Lost,
        Metric::Disconnects,
        Metric::RttP95,
        Metric::TargetCpu,
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
            Metric::RateLimited => "rate-limited",
            Metric::SuccessRps => "success-rps",
            Metric::ConnectingP50 => "connecting-p50",
            Metric::ConnectingP95 => "connecting-p95",
            Metric::ConnectingP99 => "connecting-p99",
            Metric::TlsHandshakingP50 => "tls-handshaking-p50",
            Metric::TlsHandshakingP95 => "tls-handshaking-p95",
            Metric::TlsHandshakingP99 => "tls-handshaking-p99",
            Metric::WaitingP50 => "waiting-p50",
            Metric::WaitingP95 => "waiting-p95",
            Metric::WaitingP99 => "waiting-p99",
            Metric::ReceivingP50 => "receiving-p50",
            Metric::ReceivingP95 => "receiving-p95",
            Metric::ReceivingP99 => "receiving-p99",
            Metric::E2eP50 => "e2e-p50",
            Metric::E2eP95 => "e2e-p95",
            Metric::E2eP99 => "e2e-p99",
            Metric::ConnectP95 => "connect-p95",
            Metric::FirstEventP95 => "first-event-p95",
            Metric::Lost => "lost",
            Metric::Disconnects => "disconnects",
            Metric::RttP95 => "rtt-p95",
            Metric::TargetCpu => "target-cpu",
        }
    }

    /// The phase and percentile a phase metric reads; `None` for every other metric.
    pub fn phase(self) -> Option<(Phase, PhaseStat)> {
        use {Phase as P, PhaseStat as S};
        Some(match self {
            Metric::ConnectingP50 => (P::Connecting, S::P50),
            Metric::ConnectingP95 => (P::Connecting, S::P95),
            Metric::ConnectingP99 => (P::Connecting, S::P99),
            Metric::TlsHandshakingP50 => (P::TlsHandshaking, S::P50),
            Metric::TlsHandshakingP95 => (P::TlsHandshaking, S::P95),
            Metric::TlsHandshakingP99 => (P::TlsHandshaking, S::P99),
            Metric::WaitingP50 => (P::Waiting, S::P50),
            Metric::WaitingP95 => (P::Waiting, S::P95),
            Metric::WaitingP99 => (P::Waiting, S::P99),
            Metric::ReceivingP50 => (P::Receiving, S::P50),
            Metric::ReceivingP95 => (P::Receiving, S::P95),
            Metric::ReceivingP99 => (P::Receiving, S::P99),
            _ => return None,
        })
    }

    /// Whether the metric is a stream's, judged in `[thresholds.stream.NAME]` only.
    pub fn is_stream(self) -> bool {
        Metric::STREAM.contains(&self)
    }

    /// Whether the metric is read from the monitor's samples rather than from requests: judged
    /// over a step or the run, never per request or over a sliding window.
    pub fn is_monitor(self) -> bool {
        self == Metric::TargetCpu
    }

    pub fn from_name(name: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.name() == name)
    }

    pub fn unit(self) -> Unit {
        match self {
            Metric::ErrorRate | Metric::Checks | Metric::RateLimited | Metric::TargetCpu => {
                Unit::Fraction
            }
            Metric::Rps | Metric::SuccessRps => Unit::PerSecond,
            Metric::Lost | Metric::Disconnects => Unit::Count,
            // Latency percentiles, extremes and the phases.
            _ => Unit::Millis,
        }
    }

    /// True when a larger value is better (throughput, checks passed); false for latency and
    /// errors.
    pub fn higher_is_better(self) -> bool {
        matches!(self, Metric::Rps | Metric::Checks | Metric::SuccessRps)
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
    /// Exactly: `lost = "== 0"`.
    #[serde(rename = "==")]
    Eq,
}

impl Op {
    pub fn symbol(self) -> &'static str {
        match self {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Eq => "==",
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
            Op::Eq => observed == self.value,
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
    /// One stream of the plan, by index, over the run.
    Stream(usize),
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
    fn phase_metrics_name_their_phase_and_percentile() {
        let phases: Vec<_> = Metric::ALL.into_iter().filter_map(Metric::phase).collect();
        assert_eq!(phases.len(), 12);
        for metric in Metric::ALL {
            match metric.phase() {
                Some((phase, _)) => {
                    assert!(metric.name().starts_with(phase.name()), "{metric:?}");
                    assert_eq!(metric.unit(), Unit::Millis);
                }
                None => assert!(!metric.name().contains("ing-p"), "{metric:?}"),
            }
        }
        assert_eq!(Metric::RateLimited.unit(), Unit::Fraction);
        assert!(Metric::SuccessRps.higher_is_better());
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
