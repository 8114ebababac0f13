//! Thresholds: each rule of the plan judged against the run, each step, or one request.
//!
//! Judging reads only [`Figures::value`], the same function the live judge reads, so a rule
//! judges the same number live and at the end, and the verdict can be recomputed from
//! summary.json alone.

use stampede_metrics::Figures;
use stampede_metrics::format::{self, percent};
use stampede_plan::{Drift as DriftLimits, Scope, Threshold, Unit};

use crate::summary::threshold::{JudgedScope, ThresholdResult};

use crate::summary::analysis::{Drift, DriftVerdict};
use crate::summary::{StepSummary, TotalSummary};

/// The plan's drift limits judged as rules on the run: `p95-growth <= 20% (or under +5 ms)`.
/// A soak too short to judge (or a memory span too short for a growth per hour) is not judged:
/// the rule passes with a warning and no observed value, rather than failing on noise.
pub(crate) fn drift_rules(drift: &Drift, limits: Option<DriftLimits>) -> Vec<ThresholdResult> {
    let Some(limits) = limits else {
        return Vec::new();
    };
    let judged = drift.verdict != DriftVerdict::TooShort;
    let rule = |metric: &str, unit: Unit, condition: String, observed: Option<f64>, held: bool| {
        let observed = observed.filter(|_| judged);
        ThresholdResult {
            metric: metric.to_owned(),
            unit: unit.into(),
            scope: JudgedScope::Run,
            condition,
            warn_condition: None,
            passed: observed.is_none() || held,
            warned: observed.is_none(),
            observed,
        }
    };
    let mut rules = Vec::new();
    if let Some(limit) = limits.p95_growth {
        let held = drift.p95_growth <= limit || drift.p95_change_ms < drift.min_change_ms;
        let condition = format!(
            "<= {} (or under +{} ms)",
            percent(limit),
            format::short(drift.min_change_ms)
        );
        rules.push(rule(
            "p95-growth",
            Unit::Fraction,
            condition,
            Some(drift.p95_growth),
            held,
        ));
    }
    if let Some(limit) = limits.error_rate_growth {
        let held = drift.error_rate_growth <= limit;
        let condition = format!("<= {}", percent(limit));
        let observed = Some(drift.error_rate_growth);
        rules.push(rule(
            "error-rate-growth",
            Unit::Fraction,
            condition,
            observed,
            held,
        ));
    }
    if let Some(limit) = limits.target_rss_growth_mb_per_hour {
        let observed = drift.rss_growth_mb_per_hour;
        let held = observed.is_some_and(|g| g <= limit);
        let condition = format!("<= {}", format::value(Unit::MbPerHour, limit));
        rules.push(rule(
            "target-rss-growth",
            Unit::MbPerHour,
            condition,
            observed,
            held,
        ));
    }
    rules
}

/// Judges every threshold. A scope without requests fails: a run that sent nothing has not shown
/// that it meets anything. Per-step thresholds are judged on the steps that ran.
pub fn evaluate(
    thresholds: &[Threshold],
    steps: &[StepSummary],
    total: &TotalSummary,
    request_names: &[String],
) -> Vec<ThresholdResult> {
    let mut results = Vec::new();
    for threshold in thresholds {
        let judge = |scope: JudgedScope, figures: Option<&Figures>| {
            result(
                threshold,
                scope,
                figures.and_then(|f| f.value(threshold.metric)),
            )
        };
        match threshold.scope {
            Scope::Run => results.push(judge(JudgedScope::Run, Some(&total.figures))),
            Scope::PerStep => {
                for step in steps {
                    let scope = JudgedScope::Step { index: step.index };
                    results.push(judge(scope, Some(&step.figures)));
                }
            }
            Scope::Request(id) => {
                let name = request_names
                    .get(id)
                    .cloned()
                    .unwrap_or_else(|| format!("request {id}"));
                let figures = total.requests_by_name.get(&name);
                results.push(judge(JudgedScope::Request { name }, figures));
            }
            // Judged on the stream's own figures, by `judge::streams`.
            Scope::Stream(_) => {}
        }
    }
    results
}

/// A rule's result for `scope`, from the value observed there (`None`: no data, which fails).
pub(crate) fn result(
    threshold: &Threshold,
    scope: JudgedScope,
    observed: Option<f64>,
) -> ThresholdResult {
    let passed = observed.is_some_and(|v| threshold.condition.holds(v));
    let warned = match (&threshold.warn, observed) {
        (Some(warn), Some(v)) => !warn.holds(v),
        _ => false,
    };
    ThresholdResult {
        metric: threshold.metric.name().to_owned(),
        unit: threshold.metric.unit().into(),
        scope,
        condition: format::condition(threshold.metric, &threshold.condition),
        warn_condition: threshold
            .warn
            .as_ref()
            .map(|w| format::condition(threshold.metric, w)),
        observed,
        passed,
        warned,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::named::Named;
    use stampede_metrics::LatencyMs;
    use stampede_plan::{Condition, Metric, Op};

    fn figures(requests: u64, failed: u64, p95: f64, rps: f64) -> Figures {
        Figures {
            requests,
            failed,
            error_rate: failed as f64 / requests.max(1) as f64,
            rps,
            latency_ms: LatencyMs {
                p95,
                ..LatencyMs::default()
            },
            ..Figures::default()
        }
    }

    fn rule(metric: Metric, op: Op, value: f64, scope: Scope) -> Threshold {
        Threshold {
            metric,
            condition: Condition { op, value },
            warn: None,
            scope,
            live: None,
        }
    }

    fn steps() -> Vec<StepSummary> {
        [(0, 120.0), (1, 640.0)]
            .into_iter()
            .map(|(index, p95)| StepSummary {
                index,
                label: format!("{} users", 50 * (index + 1)),
                figures: figures(1000, 2, p95, 100.0),
                ..StepSummary::default()
            })
            .collect()
    }

    fn total() -> TotalSummary {
        TotalSummary {
            figures: figures(2000, 30, 600.0, 100.0),
            requests_by_name: Named(vec![
                ("login".to_owned(), figures(10, 0, 80.0, 1.0)),
                ("send".to_owned(), figures(1990, 30, 610.0, 99.0)),
            ]),
            ..TotalSummary::default()
        }
    }

    fn names() -> Vec<String> {
        vec!["login".to_owned(), "send".to_owned()]
    }

    #[test]
    fn run_thresholds_pass_and_fail() {
        let rules = [
            rule(Metric::P95, Op::Lt, 500.0, Scope::Run),
            rule(Metric::ErrorRate, Op::Lt, 0.02, Scope::Run),
            rule(Metric::Rps, Op::Ge, 100.0, Scope::Run),
        ];
        let got = evaluate(&rules, &steps(), &total(), &names());
        let verdicts: Vec<_> = got.iter().map(|r| (r.describe(), r.passed)).collect();
        assert_eq!(
            verdicts,
            [
                ("p95 < 500 ms (run)".to_owned(), false),
                ("error-rate < 2% (run)".to_owned(), true),
                ("rps >= 100/s (run)".to_owned(), true),
            ]
        );
        assert_eq!(got[0].observed, Some(600.0));
        assert_eq!(got[1].observed_text(), "1.5%");
    }

    #[test]
    fn warn_is_a_stricter_condition_that_only_warns() {
        let mut warn = rule(Metric::ErrorRate, Op::Lt, 0.02, Scope::Run);
        warn.warn = Some(Condition {
            op: Op::Lt,
            value: 0.01,
        });
        let got = evaluate(&[warn], &steps(), &total(), &names());
        assert!(got[0].passed && got[0].warned, "{got:?}");
        assert_eq!(got[0].warn_condition.as_deref(), Some("< 1%"));
    }

    #[test]
    fn per_step_judges_each_step() {
        let got = evaluate(
            &[rule(Metric::P95, Op::Le, 500.0, Scope::PerStep)],
            &steps(),
            &total(),
            &names(),
        );
        let verdicts: Vec<_> = got.iter().map(|r| (r.scope_text(), r.passed)).collect();
        assert_eq!(
            verdicts,
            [("step 1".to_owned(), true), ("step 2".to_owned(), false)]
        );
    }

    #[test]
    fn per_request_judges_that_request_over_the_run() {
        let rules = [
            rule(Metric::P95, Op::Lt, 100.0, Scope::Request(0)),
            rule(Metric::P95, Op::Lt, 100.0, Scope::Request(1)),
        ];
        let got = evaluate(&rules, &steps(), &total(), &names());
        assert_eq!(got[0].describe(), "p95 < 100 ms (login)");
        assert!(got[0].passed);
        assert!(!got[1].passed);
        assert_eq!(got[1].observed, Some(610.0));
    }

    #[test]
    fn checks_and_corrected_latency() {
        let mut total = total();
        total.figures.checks_failed = 20;
        total.figures.checks_passed = 1980;
        // An open-model span: the headline is from the scheduled send, and that is judged.
        total.figures.latency_from = stampede_metrics::LatencyFrom::Scheduled;
        total.figures.latency_sent_ms = Some(total.figures.latency_ms);
        total.figures.latency_ms.p95 = 900.0;
        let rules = [
            rule(Metric::Checks, Op::Gt, 0.99, Scope::Run),
            rule(Metric::P95, Op::Lt, 800.0, Scope::Run),
        ];
        let got = evaluate(&rules, &[], &total, &names());
        assert_eq!(got[0].observed, Some(0.99));
        assert!(!got[0].passed);
        assert_eq!(
            got[1].observed,
            Some(900.0),
            "the corrected latency is judged"
        );
    }

    #[test]
    fn no_requests_fails_with_no_data() {
        let got = evaluate(
            &[rule(Metric::ErrorRate, Op::Lt, 0.01, Scope::Run)],
            &[],
            &TotalSummary::default(),
            &names(),
        );
        assert_eq!((got[0].observed, got[0].passed), (None, false));
        assert_eq!(got[0].observed_text(), "no data");
    }
}
