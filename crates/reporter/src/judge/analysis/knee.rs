//! The knee of a capacity sweep: the last step before the system degrades, and the safe
//! ceiling derived from it (knee users x the plan's ceiling factor).
//!
//! A step is degraded when its p95 exceeds a factor of the first step's, its error rate passes a
//! limit, or its throughput stopped growing with users (less than a fraction of linear growth
//! over the previous step). Comparing against the first step, not the previous one, keeps a slow
//! creep from hiding behind small step-to-step changes.

use super::{AnalysisOptions, curve};
use crate::summary::StepSummary;
use crate::summary::analysis::{CurvePoint, Knee};
use stampede_metrics::format::{percent, short};

pub(crate) fn knee(steps: &[StepSummary], ceiling_factor: f64, options: &AnalysisOptions) -> Knee {
    let points = curve(steps, |s| f64::from(s.users));
    let mut knee = Knee {
        found: false,
        step: None,
        users: None,
        why: String::new(),
        ceiling_factor,
        ceiling_users: None,
        p95_factor: options.knee_p95_factor,
        error_rate_limit: options.error_rate_limit,
        min_growth: options.knee_min_growth,
        points: Vec::new(),
    };
    let Some(first) = points.first() else {
        knee.why = "no step had any requests: nothing to find a knee in".to_owned();
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
        let knee = knee(&steps, 0.8, &AnalysisOptions::default());
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
        let knee = knee(&steps, 0.8, &AnalysisOptions::default());
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
        let knee = knee(&steps, 0.8, &AnalysisOptions::default());
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
        let knee = knee(&steps, 0.8, &AnalysisOptions::default());
        assert_eq!((knee.users, knee.ceiling_users), (Some(250), Some(200)));
    }

    #[test]
    fn a_first_step_already_failing_has_no_knee() {
        let steps = sweep(&[(50, 100.0, 40.0, 0.2), (100, 100.0, 400.0, 0.5)]);
        let knee = knee(&steps, 0.8, &AnalysisOptions::default());
        assert!(!knee.found);
        assert!(knee.why.contains("already has 20% errors"), "{}", knee.why);
    }
}
