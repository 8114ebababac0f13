//! Drift over a soak: least-squares lines of p95 and of the error rate over the measured points
//! of the series, their slopes per hour, and the growth they imply from the first point to the
//! last, judged against the plan's drift limits (or defaults).
//!
//! Growth is read off the fitted line, not the first and last points themselves, so one noisy
//! bucket at either end cannot decide the verdict. p95 growth is relative (0.2: the end is 1.2
//! times the start), the error rate's absolute (0.01: one percentage point). Only a rise counts:
//! a system that gets faster over the hours is not leaking.

use super::AnalysisOptions;
use crate::summary::analysis::Drift;
use crate::summary::series::SeriesPoint;
use stampede_metrics::format::{percent, round, short};

/// The plan's limits, when it has them: `(p95 growth, error-rate growth)`.
pub(crate) type DriftLimits = (Option<f64>, Option<f64>);

/// Least-squares `(intercept, slope)` of `y` against `x`; a flat line through the mean when
/// every `x` is the same.
pub(crate) fn least_squares(xs: &[f64], ys: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    if n == 0.0 {
        return (0.0, 0.0);
    }
    let mean_x = xs.iter().sum::<f64>() / n;
    let mean_y = ys.iter().sum::<f64>() / n;
    let sxx: f64 = xs.iter().map(|x| (x - mean_x).powi(2)).sum();
    let sxy: f64 = xs
        .iter()
        .zip(ys)
        .map(|(x, y)| (x - mean_x) * (y - mean_y))
        .sum();
    let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    (mean_y - slope * mean_x, slope)
}

pub(crate) fn drift(points: &[SeriesPoint], plan: DriftLimits, options: &AnalysisOptions) -> Drift {
    let measured: Vec<&SeriesPoint> = points
        .iter()
        .filter(|p| !p.warmup && p.requests > 0)
        .collect();
    let middle = |p: &SeriesPoint| p.offset_s + p.length_s / 2.0;
    let origin = measured.first().map_or(0.0, |p| middle(p));
    let hours: Vec<f64> = measured
        .iter()
        .map(|p| (middle(p) - origin) / 3600.0)
        .collect();
    let p95: Vec<f64> = measured.iter().map(|p| p.p95).collect();
    let errors: Vec<f64> = measured.iter().map(|p| p.error_rate).collect();
    let (p95_intercept, p95_slope) = least_squares(&hours, &p95);
    let (err_intercept, err_slope) = least_squares(&hours, &errors);
    let span = hours.last().copied().unwrap_or(0.0);
    let p95_mean = if p95.is_empty() {
        0.0
    } else {
        p95.iter().sum::<f64>() / p95.len() as f64
    };
    // Relative to the fitted start; a start at or below zero (a steep fall) is no base, so the
    // mean stands in.
    let base = if p95_intercept > 0.0 {
        p95_intercept
    } else {
        p95_mean
    };
    let p95_growth = if base > 0.0 {
        p95_slope * span / base
    } else {
        0.0
    };
    let err_growth = err_slope * span;
    let limits_from = if plan.0.is_some() || plan.1.is_some() {
        "plan"
    } else {
        "defaults"
    };
    let p95_limit = plan.0.unwrap_or(options.drift_p95_growth);
    let err_limit = plan.1.unwrap_or(options.drift_error_rate_growth);

    let mut problems = Vec::new();
    if p95_growth > p95_limit {
        problems.push(format!(
            "p95 grows {} over the run ({} ms per hour; limit {})",
            percent(p95_growth),
            signed(p95_slope),
            percent(p95_limit)
        ));
    }
    if err_growth > err_limit {
        problems.push(format!(
            "the error rate rises {} over the run (limit {})",
            percent(err_growth),
            percent(err_limit)
        ));
    }
    let (verdict, why) = if measured.len() < 3 {
        (
            "too short",
            "fewer than 3 measured points: too short to judge a trend".to_owned(),
        )
    } else if problems.is_empty() {
        (
            "stable",
            format!(
                "stable over {}: p95 {} ms per hour ({} over the run), error rate {} over the \
                 run, within the limits of {} and {}",
                duration_words(span),
                signed(p95_slope),
                percent(p95_growth),
                percent(err_growth),
                percent(p95_limit),
                percent(err_limit)
            ),
        )
    } else {
        (
            "drifting",
            format!(
                "drifting over {}: {}",
                duration_words(span),
                problems.join("; ")
            ),
        )
    };
    Drift {
        verdict: verdict.to_owned(),
        points: measured.len(),
        hours: round(span, 4),
        p95_mean_ms: round(p95_mean, 3),
        p95_intercept_ms: round(p95_intercept, 3),
        p95_slope_ms_per_hour: round(p95_slope, 3),
        p95_growth: round(p95_growth, 4),
        p95_growth_limit: p95_limit,
        error_rate_intercept: round(err_intercept, 6),
        error_rate_slope_per_hour: round(err_slope, 6),
        error_rate_growth: round(err_growth, 6),
        error_rate_growth_limit: err_limit,
        limits_from: limits_from.to_owned(),
        why,
    }
}

fn signed(x: f64) -> String {
    if x > 0.0 {
        format!("+{}", short(x))
    } else {
        short(x)
    }
}

fn duration_words(hours: f64) -> String {
    if hours >= 1.0 {
        format!("{} h", short(hours))
    } else {
        format!("{} min", short(hours * 60.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn soak(
        minutes: usize,
        p95: impl Fn(f64) -> f64,
        err: impl Fn(f64) -> f64,
    ) -> Vec<SeriesPoint> {
        (0..minutes)
            .map(|m| {
                // The point's middle is what the fit uses: half a minute in.
                let hours = (m as f64 + 0.5) / 60.0;
                SeriesPoint {
                    offset_s: m as f64 * 60.0,
                    length_s: 60.0,
                    warmup: m < 2,
                    requests: 600,
                    p95: p95(hours),
                    error_rate: err(hours),
                    ..SeriesPoint::default()
                }
            })
            .collect()
    }

    #[test]
    fn least_squares_recovers_a_line() {
        let (a, b) = least_squares(&[0.0, 1.0, 2.0, 3.0], &[1.0, 3.0, 5.0, 7.0]);
        assert!((a - 1.0).abs() < 1e-12 && (b - 2.0).abs() < 1e-12);
        assert_eq!(least_squares(&[1.0, 1.0], &[2.0, 4.0]), (3.0, 0.0));
    }

    #[test]
    fn a_flat_noisy_soak_is_stable() {
        // +-5 ms of alternating noise around 100 ms for two hours, a noisy last bucket included.
        let noise = |h: f64| {
            if ((h * 60.0) as usize).is_multiple_of(2) {
                5.0
            } else {
                -5.0
            }
        };
        let mut points = soak(120, |h| 100.0 + noise(h), |_| 0.001);
        points.last_mut().unwrap().p95 = 180.0;
        let drift = drift(&points, (None, None), &AnalysisOptions::default());
        assert_eq!(drift.verdict, "stable", "{}", drift.why);
        assert_eq!(
            (drift.points, drift.limits_from.as_str()),
            (118, "defaults")
        );
        assert!(drift.p95_growth < 0.05, "{drift:?}");
        assert!(drift.why.starts_with("stable over 1.95 h"), "{}", drift.why);
    }

    #[test]
    fn a_leak_drifts() {
        // p95 grows 30 ms per hour from about 101 ms: 58 % over 1.95 h, over the 20 % default.
        let drift = drift(
            &soak(120, |h| 100.0 + 30.0 * h, |_| 0.0),
            (None, None),
            &AnalysisOptions::default(),
        );
        assert_eq!(drift.verdict, "drifting");
        assert!(
            (drift.p95_slope_ms_per_hour - 30.0).abs() < 1e-6,
            "{drift:?}"
        );
        assert!(
            drift
                .why
                .contains("p95 grows 57.78% over the run (+30 ms per hour; limit 20%)"),
            "{}",
            drift.why
        );
        assert!(!drift.why.contains("error rate"), "{}", drift.why);
    }

    #[test]
    fn the_plans_limits_replace_the_defaults() {
        // 30 % p95 growth is within the plan's 50 %; 2 points of error rate are not within 1.
        let drift = drift(
            &soak(63, |h| 100.0 + 30.0 * h, |h| 0.02 * h),
            (Some(0.5), Some(0.01)),
            &AnalysisOptions::default(),
        );
        assert_eq!(
            (drift.verdict.as_str(), drift.limits_from.as_str()),
            ("drifting", "plan")
        );
        assert!(
            drift
                .why
                .contains("the error rate rises 2% over the run (limit 1%)"),
            "{}",
            drift.why
        );
        assert!(!drift.why.contains("p95"), "{}", drift.why);
    }

    #[test]
    fn too_few_points_are_too_short() {
        let drift = drift(
            &soak(3, |_| 1.0, |_| 0.0),
            (None, None),
            &AnalysisOptions::default(),
        );
        assert_eq!(drift.verdict, "too short");
    }
}
