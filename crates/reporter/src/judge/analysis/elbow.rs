//! The elbow of a throughput sweep: where p95 starts to climb against the offered load, and the
//! highest rate that stayed under the latency limit.
//!
//! The limit is the plan's own p95 threshold when it has one (the strictest `<`/`<=` on the run
//! or per step), else a factor of p95 at the lightest load. Points are ordered by offered load:
//! the target rate of an open-model step, or the achieved throughput of a closed one (a sweep
//! over think times offers load through its users' pace).

use stampede_plan::{Metric, Op, Scope, Threshold};

use super::{AnalysisOptions, curve};
use crate::summary::StepSummary;
use crate::summary::analysis::{CurvePoint, Elbow};
use stampede_metrics::format::{percent, short};

pub(crate) fn elbow(
    steps: &[StepSummary],
    thresholds: &[Threshold],
    options: &AnalysisOptions,
) -> Elbow {
    let open = steps.iter().any(|s| s.load.planned_rate.is_some());
    let mut points = curve(steps, |s| s.load.planned_rate.unwrap_or(s.figures.rps));
    points.sort_by(|a, b| a.load.total_cmp(&b.load));
    let from_plan = thresholds
        .iter()
        .filter(|t| {
            t.metric == Metric::P95
                && matches!(t.condition.op, Op::Lt | Op::Le)
                && matches!(t.scope, Scope::Run | Scope::PerStep)
        })
        .map(|t| t.condition.value)
        .min_by(f64::total_cmp);
    let (limit_ms, limit_source) = match (from_plan, points.first()) {
        (Some(limit), _) => (
            limit,
            format!("the plan's threshold p95 < {} ms", short(limit)),
        ),
        (None, Some(first)) => (
            options.elbow_p95_factor * first.p95_ms,
            format!(
                "{}x the p95 at the lightest load ({} ms)",
                short(options.elbow_p95_factor),
                short(first.p95_ms)
            ),
        ),
        (None, None) => (0.0, "no data".to_owned()),
    };
    let mut elbow = Elbow {
        found: false,
        step: None,
        rate_under_limit: None,
        limit_ms,
        limit_source,
        error_rate_limit: options.error_rate_limit,
        why: String::new(),
        load_axis: if open { "offered rate" } else { "throughput" }.to_owned(),
        points: Vec::new(),
    };
    let over = |p: &CurvePoint| p.p95_ms > limit_ms || p.error_rate > options.error_rate_limit;
    match points.iter().position(over) {
        None if points.is_empty() => {
            elbow.why = "no step had any requests: nothing to find an elbow in".to_owned();
        }
        None => {
            let last = points.last().expect("not empty");
            elbow.rate_under_limit = Some(last.load);
            elbow.why = format!(
                "no elbow within the sweep: p95 stayed under {} ms up to {}/s; extend the sweep",
                short(limit_ms),
                short(last.load)
            );
        }
        Some(0) => {
            elbow.why = format!(
                "the lightest load ({}/s) is already over the limit ({} ms p95 or {} errors)",
                short(points[0].load),
                short(limit_ms),
                percent(options.error_rate_limit)
            );
        }
        Some(k) => {
            let (under, past) = (&points[k - 1], &points[k]);
            elbow.found = true;
            elbow.step = Some(under.step);
            elbow.rate_under_limit = Some(under.load);
            elbow.why = format!(
                "p95 climbs from {} ms at {}/s to {} ms at {}/s{}, past the limit of {} ms",
                short(under.p95_ms),
                short(under.load),
                short(past.p95_ms),
                short(past.load),
                if past.error_rate > options.error_rate_limit {
                    format!(" with {} errors", percent(past.error_rate))
                } else {
                    String::new()
                },
                short(limit_ms)
            );
        }
    }
    elbow.points = points;
    elbow
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::judge::analysis::testing::step;
    use stampede_plan::Condition;

    fn open_sweep(rows: &[(f64, f64, f64)]) -> Vec<StepSummary> {
        rows.iter()
            .enumerate()
            .map(|(i, &(rate, p95, err))| {
                let mut s = step(i, 100, rate * 0.99, p95, err);
                s.load.planned_rate = Some(rate);
                s.label = format!("{rate}/s");
                s
            })
            .collect()
    }

    #[test]
    fn the_elbow_is_the_last_rate_under_the_plans_limit() {
        let steps = open_sweep(&[
            (100.0, 20.0, 0.0),
            (200.0, 22.0, 0.0),
            (400.0, 30.0, 0.0),
            (800.0, 180.0, 0.0),
            (1600.0, 2400.0, 0.08),
        ]);
        let limit = Threshold {
            metric: Metric::P95,
            condition: Condition {
                op: Op::Lt,
                value: 100.0,
            },
            warn: None,
            scope: Scope::Run,
            live: None,
        };
        let elbow = elbow(&steps, &[limit], &AnalysisOptions::default());
        assert!(elbow.found);
        assert_eq!((elbow.step, elbow.rate_under_limit), (Some(2), Some(400.0)));
        assert_eq!(elbow.limit_source, "the plan's threshold p95 < 100 ms");
        assert_eq!(
            elbow.why,
            "p95 climbs from 30 ms at 400/s to 180 ms at 800/s, past the limit of 100 ms"
        );
        assert_eq!(elbow.load_axis, "offered rate");
    }

    #[test]
    fn without_a_threshold_the_limit_is_a_factor_of_the_lightest_load() {
        // Steps out of order are sorted by offered load.
        let steps = open_sweep(&[(400.0, 45.0, 0.0), (100.0, 20.0, 0.0), (200.0, 39.0, 0.0)]);
        let elbow = elbow(&steps, &[], &AnalysisOptions::default());
        assert_eq!(elbow.limit_ms, 40.0);
        assert_eq!(elbow.rate_under_limit, Some(200.0));
        let loads: Vec<f64> = elbow.points.iter().map(|p| p.load).collect();
        assert_eq!(loads, [100.0, 200.0, 400.0]);
    }

    #[test]
    fn a_flat_sweep_has_no_elbow_but_a_rate_under_the_limit() {
        let steps = open_sweep(&[(100.0, 20.0, 0.0), (200.0, 21.0, 0.0)]);
        let elbow = elbow(&steps, &[], &AnalysisOptions::default());
        assert!(!elbow.found);
        assert_eq!(elbow.rate_under_limit, Some(200.0));
        assert!(
            elbow.why.starts_with("no elbow within the sweep"),
            "{}",
            elbow.why
        );
    }
}
