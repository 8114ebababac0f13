//! The figures of a span (one request in one interval, a step, a window of intervals, the run):
//! computed once from merged statistics, rounded once, and then only read.
//!
//! Every number a user sees comes from here: the live limits, the final thresholds, the console
//! table, steps.csv, timeseries.csv, summary.json, summary.md, report.html, the progress line,
//! history and compare. [`Figures::value`] is the one place a [`Metric`] gets its value.
//!
//! Latency has one headline. Where every request of the span had a schedule (the open model),
//! the headline is measured from the scheduled send, which is what a user of a queueing system
//! waits, and the figure from the actual send sits beside it; otherwise the headline is from the
//! actual send. Thresholds, live aborts, the knee and the tables all read the headline.

use serde::{Deserialize, Serialize};
use stampede_plan::{Metric, Phase, PhaseStat};

use crate::format::{ratio, round};
use crate::{
    CheckTally, Connections, Latency, MonitorFigures, Outcome, OutcomeCounts, Phases, RequestStats,
    StatsSet,
};

/// Microseconds as milliseconds rounded to the microsecond: how every time figure is written.
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

/// Microseconds (the histograms' unit) as milliseconds, rounded to the microsecond: the one
/// conversion every latency a user sees goes through.
pub fn ms_of_us(us: f64) -> f64 {
    round(us / 1000.0, 3)
}

impl LatencyMs {
    pub fn of(latency: &Latency) -> LatencyMs {
        if latency.is_empty() {
            return LatencyMs::default();
        }
        let h = latency.histogram();
        let ms = |us: u64| ms_of_us(us as f64);
        LatencyMs {
            min: ms(h.min()),
            mean: ms_of_us(h.mean()),
            p50: ms(h.value_at_quantile(0.50)),
            p90: ms(h.value_at_quantile(0.90)),
            p95: ms(h.value_at_quantile(0.95)),
            p99: ms(h.value_at_quantile(0.99)),
            p99_9: ms(h.value_at_quantile(0.999)),
            max: ms(h.max()),
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

/// The milliseconds of `quantile` in a histogram, rounded as every figure is. For the columns
/// that are not in [`LatencyMs`] (steps.csv's 66 %, 98 %, 99.99 %).
pub fn quantile_ms(latency: &Latency, quantile: f64) -> f64 {
    ms_of_us(latency.quantile_us(quantile) as f64)
}

/// One request phase over a span: how often it happened and its times in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PhaseMs {
    /// Times the phase happened: connections opened for connecting and TLS, responses for
    /// waiting and receiving.
    pub count: u64,
    pub mean: f64,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
}

impl PhaseMs {
    /// `None` when the phase never happened in the span.
    pub fn of(latency: &Latency) -> Option<PhaseMs> {
        if latency.is_empty() {
            return None;
        }
        Some(PhaseMs {
            count: latency.count(),
            mean: ms_of_us(latency.histogram().mean()),
            p50: quantile_ms(latency, 0.50),
            p95: quantile_ms(latency, 0.95),
            p99: quantile_ms(latency, 0.99),
        })
    }

    fn stat(&self, stat: PhaseStat) -> f64 {
        match stat {
            PhaseStat::P50 => self.p50,
            PhaseStat::P95 => self.p95,
            PhaseStat::P99 => self.p99,
        }
    }
}

/// Where requests' time went (k6's `http_req_connecting`, `http_req_tls_handshaking`,
/// `http_req_waiting`, `http_req_receiving`); a phase that never happened is absent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PhasesMs {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connecting: Option<PhaseMs>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_handshaking: Option<PhaseMs>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting: Option<PhaseMs>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiving: Option<PhaseMs>,
}

impl PhasesMs {
    /// `None` when no phase was recorded at all.
    pub fn of(phases: &Phases) -> Option<PhasesMs> {
        if phases.is_empty() {
            return None;
        }
        Some(PhasesMs {
            connecting: PhaseMs::of(&phases.connecting),
            tls_handshaking: PhaseMs::of(&phases.tls_handshaking),
            waiting: PhaseMs::of(&phases.waiting),
            receiving: PhaseMs::of(&phases.receiving),
        })
    }

    pub fn get(&self, phase: Phase) -> Option<&PhaseMs> {
        match phase {
            Phase::Connecting => self.connecting.as_ref(),
            Phase::TlsHandshaking => self.tls_handshaking.as_ref(),
            Phase::Waiting => self.waiting.as_ref(),
            Phase::Receiving => self.receiving.as_ref(),
        }
    }
}

/// One check of a request over a span.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CheckFigures {
    pub passed: u64,
    pub failed: u64,
    /// `passed / (passed + failed)`, 1 when the check never ran.
    pub pass_rate: f64,
    /// The first distinct values it failed on (`429` for a status check).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seen: Vec<String>,
}

impl CheckFigures {
    fn of(tally: &CheckTally) -> CheckFigures {
        CheckFigures {
            passed: tally.passed,
            failed: tally.failed,
            pass_rate: pass_rate(tally.passed, tally.failed),
            seen: tally.seen.clone(),
        }
    }
}

/// Passed over evaluated, rounded as fractions are; 1 when nothing was evaluated (nothing
/// failed).
fn pass_rate(passed: u64, failed: u64) -> f64 {
    if passed + failed == 0 {
        return 1.0;
    }
    round(ratio(passed as f64, (passed + failed) as f64), 6)
}

/// Where a latency is measured from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LatencyFrom {
    /// The moment the request was written (closed model): hides queueing in the generator.
    #[default]
    Sent,
    /// The moment the request was due (open model): coordinated omission corrected.
    Scheduled,
}

/// Everything reported about the requests of one span.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    /// Requests completed, whatever their outcome.
    pub requests: u64,
    /// Requests that did not succeed (unexpected status, no response, failed check).
    pub failed: u64,
    /// `failed / requests`, 0 when there were no requests.
    pub error_rate: f64,
    /// Requests completed per second of the span.
    pub rps: f64,
    /// Failed requests per second of the span.
    pub failed_rps: f64,
    pub outcomes: OutcomeCounts,
    /// Check evaluations that failed (a response may fail several checks).
    pub checks_failed: u64,
    /// Check evaluations that passed.
    #[serde(default)]
    pub checks_passed: u64,
    /// Per check of the request, by index; empty for an aggregate of several requests.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<CheckFigures>,
    /// Requests that succeeded: an expected status other than 429, no failed `fail-request`
    /// check.
    #[serde(default)]
    pub succeeded: u64,
    /// `succeeded` per second of the span.
    #[serde(default)]
    pub success_rps: f64,
    /// 429 responses / requests, expected or not.
    #[serde(default)]
    pub rate_limited: f64,
    /// 429 responses that said when to come back.
    pub retry_after_seen: u64,
    /// Times a user slept after a 429 (`on-429 = "backoff"`).
    #[serde(default)]
    pub backoffs: u64,
    /// Captures that found nothing.
    #[serde(default)]
    pub capture_misses: u64,
    pub body_bytes: u64,
    /// Response body bytes per request.
    pub body_bytes_mean: f64,
    /// The headline latency: see the module documentation.
    pub latency_ms: LatencyMs,
    /// What `latency_ms` is measured from.
    pub latency_from: LatencyFrom,
    /// From the actual send, beside a headline measured from the scheduled send.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_sent_ms: Option<LatencyMs>,
    /// Where the time went, when any phase was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phases: Option<PhasesMs>,
    /// The busiest watched process's mean CPU over the span, in percent of one core (the
    /// `target-cpu` metric); absent when nothing was watched or no CPU could be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_cpu_percent: Option<f64>,
}

impl Figures {
    /// The figures of `stats`, measured over `seconds`.
    pub fn of(stats: &RequestStats, seconds: f64) -> Figures {
        let requests = stats.requests();
        let (headline, from) = headline(stats);
        Figures {
            requests,
            failed: stats.failed,
            error_rate: round(ratio(stats.failed as f64, requests as f64), 6),
            rps: round(ratio(requests as f64, seconds), 3),
            failed_rps: round(ratio(stats.failed as f64, seconds), 3),
            outcomes: stats.outcomes,
            checks_failed: stats.checks_failed,
            checks_passed: stats.checks_passed,
            checks: stats.checks.iter().map(CheckFigures::of).collect(),
            succeeded: stats.succeeded,
            success_rps: round(ratio(stats.succeeded as f64, seconds), 3),
            rate_limited: round(
                ratio(
                    stats.outcomes.get(Outcome::RateLimited) as f64,
                    requests as f64,
                ),
                6,
            ),
            retry_after_seen: stats.retry_after_seen,
            backoffs: stats.backoffs,
            capture_misses: stats.capture_misses.total(),
            body_bytes: stats.body_bytes,
            body_bytes_mean: round(ratio(stats.body_bytes as f64, requests as f64), 3),
            latency_ms: LatencyMs::of(headline),
            latency_from: from,
            latency_sent_ms: (from == LatencyFrom::Scheduled)
                .then(|| LatencyMs::of(&stats.latency)),
            phases: PhasesMs::of(&stats.phases),
            target_cpu_percent: None,
        }
    }

    /// These figures with the span's watched processes: `target-cpu` reads the busiest one,
    /// since a knee or a stop level on CPU means "any process we watch is that busy".
    pub fn with_monitors(mut self, monitors: &[MonitorFigures]) -> Figures {
        self.target_cpu_percent = monitors
            .iter()
            .filter_map(|m| m.mean_cpu_percent)
            .reduce(f64::max);
        self
    }

    /// The value a threshold, a live limit, a stop condition or a knee rule judges; `None` when
    /// the span had no requests, so an idle span never passes or trips anything by accident.
    pub fn value(&self, metric: Metric) -> Option<f64> {
        if self.requests == 0 {
            return None;
        }
        let latency = &self.latency_ms;
        Some(match metric {
            Metric::P50 => latency.p50,
            Metric::P90 => latency.p90,
            Metric::P95 => latency.p95,
            Metric::P99 => latency.p99,
            Metric::Max => latency.max,
            Metric::Mean => latency.mean,
            Metric::ErrorRate => self.error_rate,
            Metric::Rps => self.rps,
            Metric::Checks => pass_rate(self.checks_passed, self.checks_failed),
            Metric::RateLimited => self.rate_limited,
            Metric::SuccessRps => self.success_rps,
            Metric::TargetCpu => self.target_cpu_percent? / 100.0,
            phase => {
                // Every other metric is a phase percentile; a phase that never happened in
                // the span has no value, like a span without requests.
                let (phase, stat) = phase.phase()?;
                self.phases?.get(phase)?.stat(stat)
            }
        })
    }
}

/// The histogram the headline reads, and what it is measured from: the scheduled send when
/// every request of the span had one.
pub fn headline(stats: &RequestStats) -> (&Latency, LatencyFrom) {
    if !stats.corrected.is_empty() && stats.corrected.count() == stats.latency.count() {
        (&stats.corrected, LatencyFrom::Scheduled)
    } else {
        (&stats.latency, LatencyFrom::Sent)
    }
}

/// What the load did over a span, beside its requests: users, iterations, and for the open
/// model the arrivals planned, started late, or dropped.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LoadFigures {
    /// The most users active at once.
    pub peak_users: u32,
    /// Iterations (one request, or one walk of a flow) completed.
    pub iterations: u64,
    /// Connections re-opened after the previous one broke.
    pub reconnects: u64,
    /// Open model: arrivals per second asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planned_rate: Option<f64>,
    /// Open model: arrivals started per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub achieved_rate: Option<f64>,
    /// Open model: arrivals scheduled.
    pub scheduled: u64,
    /// Open model: arrivals never sent, for want of a free user.
    pub dropped: u64,
    /// Open model: arrivals sent later than scheduled by more than the allowance.
    pub late_starts: u64,
    /// Connections opened, by HTTP version.
    #[serde(default)]
    pub connections: Connections,
    /// Iterations cut off at the end of the grace period, still waiting for an answer (both
    /// models). In the open model, `scheduled == iterations + abandoned + dropped`.
    #[serde(default)]
    pub abandoned: u64,
}

impl LoadFigures {
    /// The load figures of a whole run of open-model steps (`open`), whose planned rate is the
    /// arrivals scheduled per second of measured time; of closed-model steps otherwise.
    pub fn of_run(stats: &StatsSet, seconds: f64, peak_users: u32, open: bool) -> LoadFigures {
        let planned = open.then(|| round(ratio(stats.scheduled as f64, seconds), 3));
        LoadFigures::of(stats, seconds, peak_users, planned)
    }

    /// The load figures of `stats` over `seconds`; `planned_rate` is the open model's rate.
    pub fn of(
        stats: &StatsSet,
        seconds: f64,
        peak_users: u32,
        planned_rate: Option<f64>,
    ) -> LoadFigures {
        let started = stats.scheduled.saturating_sub(stats.dropped);
        LoadFigures {
            peak_users,
            iterations: stats.iterations,
            reconnects: stats.reconnects,
            planned_rate,
            achieved_rate: planned_rate.map(|_| round(ratio(started as f64, seconds), 3)),
            scheduled: stats.scheduled,
            dropped: stats.dropped,
            late_starts: stats.late_starts,
            connections: stats.connections,
            abandoned: stats.abandoned,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Outcome;

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
        assert_eq!((f.requests, f.failed), (104, 4));
        assert_eq!(f.outcomes.get(Outcome::RateLimited), 4);
        assert_eq!(f.rps, 10.4);
        assert_eq!(f.error_rate, 0.038462);
        assert_eq!(f.latency_ms.min, 0.5);
        assert_eq!(f.latency_ms.p50, 48.031);
        assert_eq!(f.latency_ms.max, 100.031);
        assert_eq!(f.latency_from, LatencyFrom::Sent);
        assert_eq!(f.latency_sent_ms, None);
        assert_eq!(f.value(Metric::P50), Some(48.031));
        assert_eq!(f.value(Metric::ErrorRate), Some(0.038462));
    }

    #[test]
    fn a_fully_scheduled_span_heads_with_the_corrected_latency() {
        let mut stats = RequestStats::default();
        for n in 0..100u64 {
            stats.outcomes.bump(Outcome::Status2xx);
            stats.latency.record_us(1000);
            // Queued behind a stall: waited far longer than the exchange took.
            stats.corrected.record_us(1000 + n * 10_000);
        }
        let f = Figures::of(&stats, 1.0);
        assert_eq!(f.latency_from, LatencyFrom::Scheduled);
        assert!(f.latency_ms.p95 > 900.0, "{:?}", f.latency_ms);
        assert_eq!(f.latency_sent_ms.map(|l| l.p95), Some(1.0));
        assert_eq!(f.value(Metric::P95), Some(f.latency_ms.p95));
    }

    #[test]
    fn a_partly_scheduled_span_heads_with_the_sent_latency() {
        let mut stats = RequestStats::default();
        stats.outcomes.bump(Outcome::Status2xx);
        stats.outcomes.bump(Outcome::Status2xx);
        stats.latency.record_us(1000);
        stats.latency.record_us(1000);
        stats.corrected.record_us(5000);
        assert_eq!(Figures::of(&stats, 1.0).latency_from, LatencyFrom::Sent);
    }

    #[test]
    fn no_requests_means_zero_rates_and_no_values() {
        let f = Figures::of(&RequestStats::default(), 0.0);
        assert_eq!((f.rps, f.error_rate), (0.0, 0.0));
        assert_eq!(f.latency_ms, LatencyMs::default());
        for metric in Metric::ALL {
            assert_eq!(f.value(metric), None, "{metric:?}");
        }
    }

    #[test]
    fn target_cpu_reads_the_busiest_watched_process_and_is_absent_unwatched() {
        let mut stats = RequestStats::default();
        stats.outcomes.bump(Outcome::Status2xx);
        stats.latency.record_us(1000);
        let watched = |name: &str, cpu: Option<f64>| MonitorFigures {
            name: name.to_owned(),
            samples: 3,
            mean_cpu_percent: cpu,
            ..MonitorFigures::default()
        };
        let figures = Figures::of(&stats, 1.0);
        assert_eq!(figures.value(Metric::TargetCpu), None);
        let unreadable = figures.clone().with_monitors(&[watched("redis", None)]);
        assert_eq!(unreadable.value(Metric::TargetCpu), None);
        let both =
            figures.with_monitors(&[watched("api", Some(35.0)), watched("redis", Some(72.5))]);
        assert_eq!(both.target_cpu_percent, Some(72.5));
        assert_eq!(both.value(Metric::TargetCpu), Some(0.725));
    }

    #[test]
    fn checks_rate_limits_successes_and_phases() {
        let mut stats = RequestStats::default();
        for n in 0..10u64 {
            stats.latency.record_us(1000);
            if n < 2 {
                stats.outcomes.bump(Outcome::RateLimited);
            } else {
                stats.outcomes.bump(Outcome::Status2xx);
                stats.succeeded += 1;
            }
            stats.phases.waiting.record_us(700 + n);
            stats.phases.receiving.record_us(200);
        }
        stats.phases.connecting.record_us(150);
        stats.checks_passed = 8;
        stats.checks_failed = 2;
        stats.checks = vec![CheckTally {
            passed: 8,
            failed: 2,
            seen: vec!["429".into()],
        }];
        let f = Figures::of(&stats, 2.0);
        assert_eq!(f.value(Metric::Checks), Some(0.8));
        assert_eq!(f.value(Metric::RateLimited), Some(0.2));
        assert_eq!(f.value(Metric::SuccessRps), Some(4.0));
        assert_eq!(f.value(Metric::ErrorRate), Some(0.0));
        assert_eq!(f.checks[0].pass_rate, 0.8);
        assert_eq!(f.checks[0].seen, ["429"]);
        let phases = f.phases.expect("phases");
        assert_eq!(phases.connecting.map(|p| (p.count, p.p50)), Some((1, 0.15)));
        assert_eq!(phases.tls_handshaking, None);
        assert_eq!(f.value(Metric::ConnectingP95), Some(0.15));
        // 704 us is in the two-digit bucket 704..=707.
        assert_eq!(f.value(Metric::WaitingP50), Some(0.707));
        assert_eq!(f.value(Metric::ReceivingP99), Some(0.2));
        assert_eq!(f.value(Metric::TlsHandshakingP95), None, "never happened");
        // No check ran: nothing failed.
        assert_eq!(
            Figures::of(
                &RequestStats {
                    outcomes: stats.outcomes,
                    ..RequestStats::default()
                },
                1.0
            )
            .value(Metric::Checks),
            Some(1.0)
        );
    }

    #[test]
    fn achieved_rate_counts_started_arrivals() {
        let mut stats = StatsSet::new(1);
        stats.scheduled = 1000;
        stats.dropped = 100;
        stats.abandoned = 7;
        let load = LoadFigures::of(&stats, 10.0, 5, Some(100.0));
        assert_eq!(load.achieved_rate, Some(90.0));
        assert_eq!(load.abandoned, 7);
        assert_eq!(LoadFigures::of(&stats, 10.0, 5, None).achieved_rate, None);
    }
}
