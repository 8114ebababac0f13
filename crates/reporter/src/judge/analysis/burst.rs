//! Recovery after a burst: how long after the burst ends until p95 and the error rate are back
//! within a tolerance of the window before it, read from the series.
//!
//! The burst ends with the last interval of the burst step that had any traffic (its requests
//! drained), not with the step's planned hold, which may run on idle long after.
//!
//! "Back" means the point is within bounds and stays there for a few consecutive points (or to
//! the end of the run), so one lucky interval in the middle of a recovery does not count. The
//! time is measured to the end of the first point of that settled run: it is only known to be
//! recovered once that interval is over, so the answer is exact to one point's length.

use super::AnalysisOptions;
use crate::summary::StepSummary;
use crate::summary::analysis::Burst;
use crate::summary::series::SeriesPoint;
use stampede_metrics::format::{percent, round, short};

/// Errors are judged with an absolute floor as well as the relative tolerance: with none before
/// the burst, 10 % of zero would make a single stray failure "not recovered".
const ERROR_RATE_FLOOR: f64 = 0.001;

pub(crate) fn burst(
    steps: &[StepSummary],
    burst_step: usize,
    points: &[SeriesPoint],
    options: &AnalysisOptions,
) -> Option<Burst> {
    let position = steps.iter().position(|s| s.index == burst_step)?;
    let step = &steps[position];
    let before = position.checked_sub(1).map(|i| &steps[i]);
    let in_burst = points
        .iter()
        .filter(|p| p.step == burst_step && p.requests > 0);
    let burst_end = in_burst
        .clone()
        .map(|p| p.offset_s + p.length_s)
        .reduce(f64::max)
        .unwrap_or(step.offset_s + step.hold_s);
    let burst_p95 = in_burst.clone().map(|p| p.p95).fold(0.0, f64::max);
    let burst_err = in_burst.map(|p| p.error_rate).fold(0.0, f64::max);
    let mut result = Burst {
        step: burst_step,
        recovered: false,
        ended_at_s: round(burst_end, 3),
        recovery_s: None,
        before_p95_ms: 0.0,
        before_error_rate: 0.0,
        burst_p95_ms: burst_p95,
        burst_error_rate: burst_err,
        tolerance: options.burst_tolerance,
        why: String::new(),
    };
    let Some(before) = before.filter(|b| b.figures.requests > 0) else {
        result.why = "no measured step before the burst to compare with".to_owned();
        return Some(result);
    };
    let p95_bound = before.figures.latency_ms.p95 * (1.0 + options.burst_tolerance);
    let err_bound = before.figures.error_rate * (1.0 + options.burst_tolerance) + ERROR_RATE_FLOOR;
    result.before_p95_ms = before.figures.latency_ms.p95;
    result.before_error_rate = before.figures.error_rate;

    let after: Vec<&SeriesPoint> = points
        .iter()
        .filter(|p| p.step != burst_step && p.offset_s + 0.0005 >= burst_end && p.requests > 0)
        .collect();
    let within = |p: &SeriesPoint| p.p95 <= p95_bound && p.error_rate <= err_bound;
    let settle = options.burst_settle_points.max(1);
    let recovered_at = (0..after.len()).find(|&i| {
        let run = &after[i..after.len().min(i + settle)];
        run.iter().all(|p| within(p))
    });
    match recovered_at {
        Some(i) => {
            let seconds = round(after[i].offset_s + after[i].length_s - burst_end, 3);
            result.recovered = true;
            result.recovery_s = Some(seconds);
            result.why = format!(
                "recovered {} s after the burst: p95 {} ms and error rate {} back within {} of \
                 before ({} ms, {})",
                short(seconds),
                short(after[i].p95),
                percent(after[i].error_rate),
                percent(options.burst_tolerance),
                short(result.before_p95_ms),
                percent(result.before_error_rate)
            );
        }
        None if after.is_empty() => {
            result.why = "no traffic after the burst: recovery cannot be measured".to_owned();
        }
        None => {
            let last = after.last().expect("not empty");
            result.why = format!(
                "not recovered by the end of the run: p95 {} ms, error rate {} (before: {} ms, {})",
                short(last.p95),
                percent(last.error_rate),
                short(result.before_p95_ms),
                percent(result.before_error_rate)
            );
        }
    }
    Some(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::judge::analysis::testing::step;

    /// Baseline step 0 (0..60 s, p95 50 ms), burst step 1 (60..70 s), recovery step 2 from 70 s.
    fn run(after: &[(f64, f64)]) -> (Vec<StepSummary>, Vec<SeriesPoint>) {
        let mut steps = vec![
            step(0, 10, 100.0, 50.0, 0.0),
            step(1, 250, 900.0, 900.0, 0.2),
        ];
        steps[0].hold_s = 60.0;
        steps[1].offset_s = 60.0;
        steps[1].hold_s = 10.0;
        steps.push(step(2, 10, 100.0, 60.0, 0.0));
        steps[2].offset_s = 70.0;
        let mut points = Vec::new();
        let mut push = |offset: f64, step: usize, p95: f64, error_rate: f64| {
            points.push(SeriesPoint {
                offset_s: offset,
                length_s: 1.0,
                step,
                requests: 100,
                p95,
                error_rate,
                ..SeriesPoint::default()
            })
        };
        for s in 0..60 {
            push(f64::from(s), 0, 50.0, 0.0);
        }
        for s in 60..70 {
            push(f64::from(s), 1, 900.0, 0.2);
        }
        for (i, &(p95, err)) in after.iter().enumerate() {
            push(70.0 + i as f64, 2, p95, err);
        }
        (steps, points)
    }

    #[test]
    fn recovery_is_timed_from_the_end_of_the_burst() {
        let (steps, points) = run(&[
            (400.0, 0.05),
            (120.0, 0.0),
            (54.0, 0.0),
            (70.0, 0.0), // a relapse: the run from 72 s does not hold
            (52.0, 0.0),
            (51.0, 0.0005),
            (50.0, 0.0),
            (49.0, 0.0),
        ]);
        let burst = burst(&steps, 1, &points, &AnalysisOptions::default()).unwrap();
        assert!(burst.recovered);
        assert_eq!(burst.recovery_s, Some(5.0));
        assert_eq!((burst.burst_p95_ms, burst.burst_error_rate), (900.0, 0.2));
        assert_eq!(
            burst.why,
            "recovered 5 s after the burst: p95 52 ms and error rate 0% back within 10% of before \
             (50 ms, 0%)"
        );
    }

    #[test]
    fn a_run_that_ends_degraded_has_not_recovered() {
        let (steps, points) = run(&[(400.0, 0.05), (300.0, 0.02)]);
        let burst = burst(&steps, 1, &points, &AnalysisOptions::default()).unwrap();
        assert!(!burst.recovered);
        assert!(
            burst.why.starts_with("not recovered by the end of the run"),
            "{}",
            burst.why
        );
    }

    #[test]
    fn recovery_in_the_last_points_counts_without_a_full_settle_run() {
        let (steps, points) = run(&[(400.0, 0.05), (50.0, 0.0)]);
        let burst = burst(&steps, 1, &points, &AnalysisOptions::default()).unwrap();
        assert_eq!(burst.recovery_s, Some(2.0));
    }

    #[test]
    fn without_a_step_before_there_is_nothing_to_compare() {
        let (steps, points) = run(&[(50.0, 0.0)]);
        let burst = burst(&steps[1..], 1, &points, &AnalysisOptions::default()).unwrap();
        assert!(!burst.recovered);
        assert_eq!(
            burst.why,
            "no measured step before the burst to compare with"
        );
    }
}
