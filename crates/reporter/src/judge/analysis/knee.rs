//! The knee of a capacity sweep and the safe ceiling derived from it (knee users x the plan's
//! ceiling factor), found by one of two rules, named as such in every output.
//!
//! With the scenario's own levels (`knee = { p95 = "> 300ms" }`, plan 004's "the user count
//! where metrics first exceed warning thresholds"), the knee is the first step where any level
//! holds, read through `Figures::value` like every other rule.
//!
//! Without, a heuristic: the knee is the last step before the system degrades. A step is
//! degraded when its p95 exceeds a factor of the first step's, its error rate passes a
//! limit, or its throughput stopped growing with users (less than a fraction of linear growth
//! over the previous step). Comparing against the first step, not the previous one, keeps a slow
//! creep from hiding behind small step-to-step changes.

use super::{AnalysisOptions, curve};
use crate::summary::StepSummary;
use crate::summary::analysis::{CurvePoint, Knee, KneeLevel};
use stampede_metrics::format::{self, percent, short};
use stampede_plan::{Condition, Metric};

/// The knee by the scenario's `levels` when it set any, by the heuristic otherwise.
pub(crate) fn knee(
    steps: &[StepSummary],
    ceiling_factor: f64,
    levels: &[(Metric, Condition)],
    options: &AnalysisOptions,
) -> Knee {
    let mut knee = if levels.is_empty() {
        heuristic(steps, ceiling_factor, options)
    } else {
        by_levels(steps, ceiling_factor, levels, options)
    };
    knee.plateau_rps = knee.points.iter().map(|p| p.rps).reduce(f64::max);
    knee
}

/// A knee not found yet, with the sweep's points and the heuristic's limits recorded.
fn empty(steps: &[StepSummary], ceiling_factor: f64, options: &AnalysisOptions) -> Knee {
    Knee {
        found: false,
        step: None,
        users: None,
        why: String::new(),
        ceiling_factor,
        ceiling_users: None,
        p95_factor: options.knee_p95_factor,
        error_rate_limit: options.error_rate_limit,
        min_growth: options.knee_min_growth,
        points: curve(steps, |s| f64::from(s.users)),
        levels: Vec::new(),
        reason: None,
        plateau_rps: None,
    }
}

/// The first step with requests where any level holds is the knee; every level it crossed is
/// named, the first in the scenario's order as the reason.
fn by_levels(
    steps: &[StepSummary],
    ceiling_factor: f64,
    levels: &[(Metric, Condition)],
    options: &AnalysisOptions,
) -> Knee {
    let mut knee = empty(steps, ceiling_factor, options);
    knee.levels = levels
        .iter()
        .map(|&(metric, condition)| KneeLevel { metric, condition })
        .collect();
    for step in steps.iter().filter(|s| s.figures.requests > 0) {
        let crossed: Vec<(Metric, &Condition, f64)> = levels
            .iter()
            .filter_map(|(metric, condition)| {
                let value = step.figures.value(*metric)?;
                condition
                    .holds(value)
                    .then_some((*metric, condition, value))
            })
            .collect();
        let Some(&(metric, condition, _)) = crossed.first() else {
            continue;
        };
        let said: Vec<String> = crossed
            .iter()
            .map(|(m, c, v)| {
                format!(
                    "{} {} {}",
                    m.name(),
                    format::value(m.unit(), *v),
                    format::condition(*m, c)
                )
            })
            .collect();
        knee.found = true;
        knee.step = Some(step.index);
        knee.users = Some(step.users);
        knee.ceiling_users = Some((f64::from(step.users) * ceiling_factor).floor() as u32);
        knee.reason = Some(format!(
            "{} crossed {}",
            metric.name(),
            format::value(metric.unit(), condition.value)
        ));
        knee.why = format!("{} crossed your levels: {}", step.title(), said.join("; "));
        return knee;
    }
    knee.why = match knee.points.last() {
        Some(last) => format!(
            "no knee within the sweep: no step crossed your levels, up to step {} ({}); \
             extend the sweep to find the ceiling",
            last.step + 1,
            last.label
        ),
        None => "no step had any requests: nothing to find a knee in".to_owned(),
    };
    knee
}

/// The built-in rule: the last step before one that degraded.
fn heuristic(steps: &[StepSummary], ceiling_factor: f64, options: &AnalysisOptions) -> Knee {
    let mut knee = empty(steps, ceiling_factor, options);
    let points = std::mem::take(&mut knee.points);
    let Some(first) = points.first() else {
        knee.why = "no step had any requests: nothing to find a knee in".to_owned();
        knee.points = points;
        return knee;
    };
    if first.error_rate > options.error_rate_limit {
        knee.why = format!(
            "step {} ({}) already has {} errors, over the {} limit: the ceiling is below the \
             first step",
            first.step + 1,
            first.label,
            percent(first.error_rate),
            percent(options.error_rate_limit)
        );
        knee.points = points;
        return knee;
    }
    for pair in points.windows(2) {
        let (previous, point) = (&pair[0], &pair[1]);
        let reasons = degraded(first, previous, point, options);
        if !reasons.is_empty() {
            let users = previous.load as u32;
            knee.found = true;
            knee.step = Some(previous.step);
            knee.users = Some(users);
            knee.ceiling_users = Some((f64::from(users) * ceiling_factor).floor() as u32);
            knee.reason = reasons.first().cloned();
            knee.why = format!(
                "step {} ({}) degraded: {}",
                point.step + 1,
                point.label,
                reasons.join("; ")
            );
            knee.points = points;
            return knee;
        }
    }
    let last = points.last().expect("not empty");
    knee.why = format!(
        "no knee within the sweep: p95, error rate and throughput held up to step {} ({}); \
         extend the sweep to find the ceiling",
        last.step + 1,
        last.label
    );
    knee.points = points;
    knee
}

fn degraded(
    first: &CurvePoint,
    previous: &CurvePoint,
    point: &CurvePoint,
    options: &AnalysisOptions,
) -> Vec<String> {
    let mut reasons = Vec::new();
    if first.p95_ms > 0.0 && point.p95_ms > options.knee_p95_factor * first.p95_ms {
        reasons.push(format!(
            "p95 {} ms is {}x the first step's {} ms (limit {}x)",
            short(point.p95_ms),
            short(point.p95_ms / first.p95_ms),
            short(first.p95_ms),
            short(options.knee_p95_factor)
        ));
    }
    if point.error_rate > options.error_rate_limit {
        reasons.push(format!(
            "error rate {} is over {}",
            percent(point.error_rate),
            percent(options.error_rate_limit)
        ));
    }
    let load_growth = (point.load - previous.load) / previous.load;
    if previous.load > 0.0 && previous.rps > 0.0 && load_growth > 0.0 {
        let rps_growth = (point.rps - previous.rps) / previous.rps;
        if rps_growth < options.knee_min_growth * load_growth {
            reasons.push(format!(
                "throughput grew {} for {} more users (less than {} of linear)",
                percent(rps_growth),
                percent(load_growth),
                short(options.knee_min_growth)
            ));
        }
    }
    reasons
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::judge::analysis::testing::step;

    fn sweep(rows: &[(u32, f64, f64, f64)]) -> Vec<StepSummary> {
        rows.iter()
            .enumerate()
            .map(|(i, &(users, rps, p95, err))| step(i, users, rps, p95, err))
            .collect()
    }

    #[test]
    fn latency_doubling_marks_the_knee_and_the_ceiling() {
        let steps = sweep(&[
            (50, 100.0, 40.0, 0.0),
            (100, 198.0, 45.0, 0.0),
            (200, 390.0, 60.0, 0.001),
            (300, 560.0, 75.0, 0.002),
            (400, 600.0, 310.0, 0.004),
        ]);
        let knee = knee(&steps, 0.8, &[], &AnalysisOptions::default());
        assert!(knee.found);
        assert_eq!(
            (knee.step, knee.users, knee.ceiling_users),
            (Some(3), Some(300), Some(240))
        );
        assert_eq!(
            knee.why,
            "step 5 (400 users) degraded: p95 310 ms is 7.75x the first step's 40 ms (limit 2x); \
             throughput grew 7.14% for 33.33% more users (less than 0.5 of linear)"
        );
        assert_eq!(knee.points.len(), 5);
    }

    #[test]
    fn errors_alone_mark_the_knee() {
        let steps = sweep(&[
            (10, 10.0, 40.0, 0.0),
            (20, 20.0, 41.0, 0.0),
            (40, 40.0, 42.0, 0.03),
        ]);
        let knee = knee(&steps, 0.8, &[], &AnalysisOptions::default());
        assert_eq!((knee.step, knee.ceiling_users), (Some(1), Some(16)));
        assert_eq!(
            knee.why,
            "step 3 (40 users) degraded: error rate 3% is over 1%"
        );
    }

    #[test]
    fn a_sweep_that_holds_says_no_knee_was_found() {
        let steps = sweep(&[
            (50, 100.0, 40.0, 0.0),
            (100, 200.0, 41.0, 0.0),
            (150, 300.0, 42.0, 0.0),
        ]);
        let knee = knee(&steps, 0.8, &[], &AnalysisOptions::default());
        assert!(!knee.found);
        assert_eq!((knee.step, knee.ceiling_users), (None, None));
        assert!(
            knee.why.starts_with("no knee within the sweep"),
            "{}",
            knee.why
        );
    }

    #[test]
    fn noise_below_the_limits_does_not_make_a_knee() {
        // Throughput and p95 wobble by +-10 % around linear and flat; the real knee is at 250.
        let steps = sweep(&[
            (50, 104.0, 41.0, 0.0),
            (100, 188.0, 37.0, 0.0),
            (150, 312.0, 44.0, 0.0005),
            (200, 385.0, 39.0, 0.0),
            (250, 515.0, 47.0, 0.0008),
            (300, 520.0, 140.0, 0.002),
        ]);
        let knee = knee(&steps, 0.8, &[], &AnalysisOptions::default());
        assert_eq!((knee.users, knee.ceiling_users), (Some(250), Some(200)));
    }

    #[test]
    fn a_first_step_already_failing_has_no_knee() {
        let steps = sweep(&[(50, 100.0, 40.0, 0.2), (100, 100.0, 400.0, 0.5)]);
        let knee = knee(&steps, 0.8, &[], &AnalysisOptions::default());
        assert!(!knee.found);
        assert!(knee.why.contains("already has 20% errors"), "{}", knee.why);
    }

    /// Plan 004's levels: p95 > 300 ms, error rate > 1 %.
    fn levels() -> Vec<(Metric, Condition)> {
        use stampede_plan::Op;
        vec![
            (
                Metric::P95,
                Condition {
                    op: Op::Gt,
                    value: 300.0,
                },
            ),
            (
                Metric::ErrorRate,
                Condition {
                    op: Op::Gt,
                    value: 0.01,
                },
            ),
        ]
    }

    #[test]
    fn your_levels_make_the_first_step_that_crosses_one_the_knee() {
        // The heuristic would put this knee at 200 users (throughput flattens at 300); the
        // levels put it where p95 first passes 300 ms, at 400 users.
        let steps = sweep(&[
            (100, 200.0, 40.0, 0.0),
            (200, 390.0, 60.0, 0.0),
            (300, 420.0, 150.0, 0.002),
            (400, 430.0, 310.0, 0.004),
            (500, 410.0, 900.0, 0.05),
        ]);
        let knee = knee(&steps, 0.8, &levels(), &AnalysisOptions::default());
        assert!(knee.found);
        assert_eq!(
            (knee.step, knee.users, knee.ceiling_users),
            (Some(3), Some(400), Some(320))
        );
        assert_eq!(knee.reason.as_deref(), Some("p95 crossed 300 ms"));
        assert_eq!(
            knee.why,
            "step 4 (400 users) crossed your levels: p95 310 ms > 300 ms"
        );
        assert_eq!(knee.rule(), "your levels: p95 > 300 ms or error-rate > 1%");
        assert_eq!(knee.plateau_rps, Some(430.0));
        let heuristic = super::knee(&steps, 0.8, &[], &AnalysisOptions::default());
        assert_eq!(
            (heuristic.users, heuristic.rule().as_str()),
            (Some(200), "heuristic")
        );
    }

    #[test]
    fn every_level_crossed_at_the_knee_is_named_and_the_first_is_the_reason() {
        let steps = sweep(&[(10, 10.0, 40.0, 0.0), (20, 12.0, 400.0, 0.02)]);
        let knee = knee(&steps, 0.5, &levels(), &AnalysisOptions::default());
        assert_eq!((knee.users, knee.ceiling_users), (Some(20), Some(10)));
        assert_eq!(knee.reason.as_deref(), Some("p95 crossed 300 ms"));
        assert_eq!(
            knee.why,
            "step 2 (20 users) crossed your levels: p95 400 ms > 300 ms; error-rate 2% > 1%"
        );
    }

    #[test]
    fn levels_never_crossed_say_there_is_no_knee() {
        // p95 doubles and throughput flattens, which the heuristic calls a knee; the team's
        // levels are not crossed, so there is none.
        let steps = sweep(&[
            (50, 100.0, 40.0, 0.0),
            (100, 110.0, 120.0, 0.0),
            (150, 112.0, 290.0, 0.009),
        ]);
        let knee = knee(&steps, 0.8, &levels(), &AnalysisOptions::default());
        assert!(!knee.found);
        assert_eq!(
            (knee.step, knee.users, knee.ceiling_users),
            (None, None, None)
        );
        assert_eq!(knee.reason, None);
        assert_eq!(
            knee.why,
            "no knee within the sweep: no step crossed your levels, up to step 3 (150 users); \
             extend the sweep to find the ceiling"
        );
        assert_eq!(knee.plateau_rps, Some(112.0));
        assert!(super::knee(&steps, 0.8, &[], &AnalysisOptions::default()).found);
    }
}
