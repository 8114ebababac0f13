//! Limits judged while the run goes on, on merged intervals (never on the per-request path):
//! windowed thresholds with `abort = true`, which end the run as failed, and a capacity sweep's
//! `stop-when`, which ends the sweep after the step that crossed it.

use std::collections::VecDeque;
use std::time::Duration;

use stampede_metrics::{IntervalSnapshot, RequestStats, StatsSet, StepEnd};
use stampede_scenario::{Condition, Metric, Plan, Scope};

/// One windowed, aborting threshold and the intervals inside its window.
struct Windowed {
    metric: Metric,
    condition: Condition,
    scope: Scope,
    window: Duration,
    recent: VecDeque<(Duration, RequestStats)>,
    span: Duration,
}

pub(crate) struct Limits {
    windowed: Vec<Windowed>,
    stop_when: Vec<(Metric, Condition)>,
}

impl Limits {
    pub(crate) fn new(plan: &Plan) -> Limits {
        let windowed = plan
            .thresholds
            .iter()
            .filter(|t| t.abort)
            .map(|t| Windowed {
                metric: t.metric,
                condition: t.condition,
                scope: t.scope,
                // An aborting threshold without a window is judged over the last 10 s.
                window: t.window.unwrap_or(Duration::from_secs(10)),
                recent: VecDeque::new(),
                span: Duration::ZERO,
            })
            .collect();
        Limits {
            windowed,
            stop_when: plan.stop_when.clone(),
        }
    }

    /// Feeds one merged interval; returns why the run must abort, if it must.
    pub(crate) fn interval(&mut self, snapshot: &IntervalSnapshot) -> Option<String> {
        if snapshot.warmup {
            return None;
        }
        for rule in &mut self.windowed {
            rule.recent
                .push_back((snapshot.length, scoped(&snapshot.stats, rule.scope)));
            rule.span += snapshot.length;
            while rule.recent.len() > 1
                && rule.span - rule.recent.front().map_or(Duration::ZERO, |(d, _)| *d)
                    >= rule.window
            {
                let (length, _) = rule.recent.pop_front().expect("non-empty");
                rule.span -= length;
            }
            // Judge only a full window: a half-empty one is noise, not evidence.
            if rule.span < rule.window {
                continue;
            }
            let mut merged = RequestStats::default();
            for (_, stats) in &rule.recent {
                merged.add(stats);
            }
            if let Some(value) = observe(rule.metric, &merged, rule.span.as_secs_f64())
                && !rule.condition.holds(value)
            {
                return Some(format!(
                    "{} was {} over the last {}, the limit is {}",
                    metric_name(rule.metric),
                    show(rule.metric, value),
                    humanize(rule.span),
                    show_condition(rule.metric, rule.condition),
                ));
            }
        }
        None
    }

    /// Judges a finished step against `stop-when`; returns why the sweep stops, if it does.
    pub(crate) fn step(&self, end: &StepEnd) -> Option<String> {
        let total = end.stats.aggregate();
        let seconds = end.measured.as_secs_f64();
        self.stop_when.iter().find_map(|(metric, condition)| {
            let value = observe(*metric, &total, seconds)?;
            condition.holds(value).then(|| {
                format!(
                    "step {} crossed stop-when: {} was {} ({})",
                    end.index + 1,
                    metric_name(*metric),
                    show(*metric, value),
                    show_condition(*metric, *condition),
                )
            })
        })
    }
}

fn scoped(stats: &StatsSet, scope: Scope) -> RequestStats {
    match scope {
        Scope::Request(id) => stats.requests.get(id).cloned().unwrap_or_default(),
        Scope::Run | Scope::PerStep => stats.aggregate(),
    }
}

/// A metric's value over `seconds`: latencies in ms, rates as fractions, throughput per second.
/// `None` when nothing was measured, so an idle window never trips a limit.
pub(crate) fn observe(metric: Metric, stats: &RequestStats, seconds: f64) -> Option<f64> {
    let requests = stats.requests();
    if requests == 0 {
        return None;
    }
    let ms = |q: f64| stats.latency.quantile_us(q) as f64 / 1000.0;
    Some(match metric {
        Metric::P50 => ms(0.50),
        Metric::P90 => ms(0.90),
        Metric::P95 => ms(0.95),
        Metric::P99 => ms(0.99),
        Metric::Max => ms(1.0),
        Metric::Mean => stats.latency.summary().mean,
        Metric::ErrorRate => stats.failed as f64 / requests as f64,
        Metric::Rps => requests as f64 / seconds.max(1e-9),
        Metric::Checks => 1.0 - stats.checks_failed as f64 / requests as f64,
    })
}

fn metric_name(metric: Metric) -> &'static str {
    match metric {
        Metric::P50 => "p50",
        Metric::P90 => "p90",
        Metric::P95 => "p95",
        Metric::P99 => "p99",
        Metric::Max => "max",
        Metric::Mean => "mean",
        Metric::ErrorRate => "error rate",
        Metric::Rps => "rps",
        Metric::Checks => "checks",
    }
}

fn show(metric: Metric, value: f64) -> String {
    match metric {
        Metric::ErrorRate | Metric::Checks => format!("{:.2}%", value * 100.0),
        Metric::Rps => format!("{value:.1}/s"),
        _ => format!("{value:.1} ms"),
    }
}

fn show_condition(metric: Metric, condition: Condition) -> String {
    let op = match condition.op {
        stampede_scenario::Op::Lt => "<",
        stampede_scenario::Op::Le => "<=",
        stampede_scenario::Op::Gt => ">",
        stampede_scenario::Op::Ge => ">=",
    };
    format!("{op} {}", show(metric, condition.value))
}

fn humanize(d: Duration) -> String {
    format!("{}s", d.as_secs_f64().round())
}

#[cfg(test)]
mod tests {
    use super::*;
    use stampede_scenario::{Op, Threshold};

    fn snapshot(latency_ms: u64, n: u64) -> IntervalSnapshot {
        let mut stats = StatsSet::new(1);
        for _ in 0..n {
            stats.requests[0]
                .outcomes
                .bump(stampede_metrics::Outcome::Status2xx);
            stats.requests[0].latency.record_us(latency_ms * 1000);
        }
        IntervalSnapshot {
            step: 0,
            seq: 0,
            start: Duration::ZERO,
            length: Duration::from_secs(1),
            warmup: false,
            active_users: 1,
            stats,
        }
    }

    fn plan_with(threshold: Threshold) -> Plan {
        Plan {
            thresholds: vec![threshold],
            ..Plan::default()
        }
    }

    #[test]
    fn an_aborting_window_trips_only_when_full_and_breached() {
        let plan = plan_with(Threshold {
            metric: Metric::P95,
            condition: Condition {
                op: Op::Lt,
                value: 100.0,
            },
            warn: None,
            scope: Scope::Run,
            window: Some(Duration::from_secs(3)),
            abort: true,
        });
        let mut limits = Limits::new(&plan);
        // Slow from the start, but the window is not full for two intervals.
        assert_eq!(limits.interval(&snapshot(500, 10)), None);
        assert_eq!(limits.interval(&snapshot(500, 10)), None);
        let reason = limits
            .interval(&snapshot(500, 10))
            .expect("full window, breached");
        assert!(
            reason.contains("p95 was 500.") && reason.contains("< 100.0 ms"),
            "{reason}"
        );
    }

    #[test]
    fn a_window_that_recovers_does_not_trip() {
        let plan = plan_with(Threshold {
            metric: Metric::P95,
            condition: Condition {
                op: Op::Lt,
                value: 100.0,
            },
            warn: None,
            scope: Scope::Run,
            window: Some(Duration::from_secs(2)),
            abort: true,
        });
        let mut limits = Limits::new(&plan);
        assert_eq!(limits.interval(&snapshot(10, 100)), None);
        assert_eq!(limits.interval(&snapshot(10, 100)), None);
        // One slow second among fast ones: p95 of the 2 s window is still the fast figure.
        assert_eq!(limits.interval(&snapshot(10, 1000)), None);
        assert!(limits.interval(&snapshot(500, 1000)).is_some());
    }

    #[test]
    fn stop_when_names_the_step_and_the_crossing() {
        let plan = Plan {
            stop_when: vec![(
                Metric::ErrorRate,
                Condition {
                    op: Op::Gt,
                    value: 0.05,
                },
            )],
            ..Plan::default()
        };
        let limits = Limits::new(&plan);
        let mut stats = StatsSet::new(1);
        for n in 0..100 {
            stats.requests[0]
                .outcomes
                .bump(stampede_metrics::Outcome::Status2xx);
            if n < 10 {
                stats.requests[0].failed += 1;
            }
        }
        let end = StepEnd {
            index: 2,
            measured: Duration::from_secs(10),
            peak_users: 1,
            target_rate: None,
            stats,
            cut_short: false,
        };
        let reason = limits.step(&end).expect("10% > 5%");
        assert_eq!(
            reason,
            "step 3 crossed stop-when: error rate was 10.00% (> 5.00%)"
        );
    }
}
