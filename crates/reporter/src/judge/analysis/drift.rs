//! Drift over a soak: the last third of the measured points against the first.
//!
//! The rule, chosen so that it can fail on a real leak and does not fail on noise:
//! - the measured points (buckets with requests, warm-up excluded) are cut in thirds; at least
//!   [`MIN_POINTS`] are needed, or nothing is judged and the analysis says the run is too short;
//! - p95 drifts when the median p95 of the last third exceeds the first third's by more than the
//!   relative limit **and** by at least `min-change` milliseconds (default 5 ms): medians ignore
//!   a single slow bucket, and the floor keeps microsecond jitter of a fast service from ever
//!   reading as a 300 % growth;
//! - the error rate drifts when the last third's error rate (all its requests together) exceeds
//!   the first third's by more than the limit, in percentage points;
//! - the monitored target's memory drifts when its median RSS grows faster than the limit in MB
//!   per hour between the thirds' middles, judged only when those middles are at least
//!   [`MIN_RSS_SPAN_S`] apart and at least [`MIN_SLOPE_SAMPLES`] points read the memory (the
//!   same floor as the monitor summary's slope): a five-second run says nothing per hour.
//!
//! Only a rise counts: a system that gets faster over the hours is not leaking.

use stampede_metrics::format::{percent, round, short};
use stampede_plan::Drift as Limits;

use super::AnalysisOptions;
use crate::summary::analysis::{Drift, DriftVerdict};
use crate::summary::series::SeriesPoint;
use stampede_metrics::MIN_SLOPE_SAMPLES;

/// Measured points needed to judge a trend: three per third.
pub const MIN_POINTS: usize = 9;
/// The thirds' middles must be this far apart for a memory growth per hour.
pub const MIN_RSS_SPAN_S: f64 = 300.0;
/// The default floor under a p95 growth, in ms.
pub const DEFAULT_MIN_CHANGE_MS: f64 = 5.0;

pub(crate) fn drift(
    points: &[SeriesPoint],
    plan: Option<Limits>,
    options: &AnalysisOptions,
) -> Drift {
    let measured: Vec<&SeriesPoint> = points
        .iter()
        .filter(|p| !p.warmup && p.requests > 0)
        .collect();
    let limits = plan.unwrap_or_default();
    let limits_from = if plan.is_some() { "plan" } else { "defaults" };
    let p95_limit = limits.p95_growth.unwrap_or(options.drift_p95_growth);
    let err_limit = limits
        .error_rate_growth
        .unwrap_or(options.drift_error_rate_growth);
    let min_change = limits.min_change_ms.unwrap_or(DEFAULT_MIN_CHANGE_MS);
    let middle = |p: &SeriesPoint| p.offset_s + p.length_s / 2.0;
    let origin = measured.first().map_or(0.0, |p| middle(p));
    let span_s = measured.last().map_or(0.0, |p| middle(p) - origin);
    let third = measured.len() / 3;
    let (first, last) = (&measured[..third], &measured[measured.len() - third..]);

    let p95_first = median(first.iter().map(|p| p.p95));
    let p95_last = median(last.iter().map(|p| p.p95));
    let p95_change = p95_last - p95_first;
    let p95_growth = if p95_first > 0.0 {
        p95_change / p95_first
    } else {
        0.0
    };
    let err_first = pooled_error_rate(first);
    let err_last = pooled_error_rate(last);
    let err_growth = err_last - err_first;
    // The thirds' middles, from the first measured point, in hours: where the chart's line runs.
    let centre = |part: &[&SeriesPoint]| median(part.iter().map(|p| middle(p) - origin)) / 3600.0;
    let (x_first, x_last) = (centre(first), centre(last));
    let line = |a: f64, b: f64| {
        let slope = if x_last > x_first {
            (b - a) / (x_last - x_first)
        } else {
            0.0
        };
        (a - slope * x_first, slope)
    };
    let (p95_intercept, p95_slope) = line(p95_first, p95_last);
    let (err_intercept, err_slope) = line(err_first, err_last);
    let read = measured.iter().filter(|p| p.rss_mb.is_some()).count() as u64;
    let rss = rss_growth(first, last, (x_last - x_first) * 3600.0, read);

    let mut problems = Vec::new();
    if p95_growth > p95_limit && p95_change >= min_change {
        problems.push(format!(
            "p95 grew {} ({} -> {} ms, +{} ms; limit {} and at least {} ms)",
            percent(p95_growth),
            short(p95_first),
            short(p95_last),
            short(p95_change),
            percent(p95_limit),
            short(min_change)
        ));
    }
    if err_growth > err_limit {
        problems.push(format!(
            "the error rate rose {} points ({} -> {}; limit {})",
            short(err_growth * 100.0),
            percent(err_first),
            percent(err_last),
            percent(err_limit)
        ));
    }
    if let (Some(growth), Some(limit)) = (rss.growth, limits.target_rss_growth_mb_per_hour)
        && growth > limit
    {
        problems.push(format!(
            "the target's memory grew {} MB per hour (limit {} MB/h)",
            short(growth),
            short(limit)
        ));
    }
    let hours = span_s / 3600.0;
    let (verdict, why) = if measured.len() < MIN_POINTS {
        (
            DriftVerdict::TooShort,
            format!(
                "{} measured points: at least {MIN_POINTS} are needed to tell a trend from noise; \
                 drift was not judged",
                measured.len()
            ),
        )
    } else if problems.is_empty() {
        (
            DriftVerdict::Stable,
            format!(
                "stable over {}: p95 {} -> {} ms, error rate {} -> {}{}",
                duration_words(hours),
                short(p95_first),
                short(p95_last),
                percent(err_first),
                percent(err_last),
                rss.words()
            ),
        )
    } else {
        (
            DriftVerdict::Drifting,
            format!(
                "drifting over {}: {}",
                duration_words(hours),
                problems.join("; ")
            ),
        )
    };
    Drift {
        verdict,
        points: measured.len(),
        hours: round(hours, 4),
        p95_first_ms: round(p95_first, 3),
        p95_last_ms: round(p95_last, 3),
        p95_change_ms: round(p95_change, 3),
        p95_growth: round(p95_growth, 4),
        p95_growth_limit: p95_limit,
        min_change_ms: min_change,
        error_rate_first: round(err_first, 6),
        error_rate_last: round(err_last, 6),
        error_rate_growth: round(err_growth, 6),
        error_rate_growth_limit: err_limit,
        rss_first_mb: rss.first.map(|v| round(v, 3)),
        rss_last_mb: rss.last.map(|v| round(v, 3)),
        rss_growth_mb_per_hour: rss.growth.map(|v| round(v, 3)),
        rss_growth_limit_mb_per_hour: limits.target_rss_growth_mb_per_hour,
        p95_intercept_ms: round(p95_intercept, 3),
        p95_slope_ms_per_hour: round(p95_slope, 3),
        error_rate_intercept: round(err_intercept, 6),
        error_rate_slope_per_hour: round(err_slope, 6),
        limits_from: limits_from.to_owned(),
        why,
    }
}

/// The median of some values; 0 for none.
fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut values: Vec<f64> = values.filter(|v| v.is_finite()).collect();
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

/// Failed over all requests of some points.
fn pooled_error_rate(points: &[&SeriesPoint]) -> f64 {
    let requests: u64 = points.iter().map(|p| p.requests).sum();
    let failed: u64 = points.iter().map(|p| p.failed).sum();
    if requests == 0 {
        0.0
    } else {
        failed as f64 / requests as f64
    }
}

/// The target's memory in the first and last thirds, and its growth per hour when the thirds
/// are far enough apart.
struct RssGrowth {
    first: Option<f64>,
    last: Option<f64>,
    growth: Option<f64>,
}

impl RssGrowth {
    fn words(&self) -> String {
        match (self.first, self.last, self.growth) {
            (Some(a), Some(b), Some(g)) => format!(
                ", target memory {} -> {} MB ({} MB per hour)",
                short(a),
                short(b),
                short(g)
            ),
            (Some(a), Some(b), None) => format!(
                ", target memory {} -> {} MB (too short a span for a growth per hour)",
                short(a),
                short(b)
            ),
            _ => String::new(),
        }
    }
}

fn rss_growth(first: &[&SeriesPoint], last: &[&SeriesPoint], apart_s: f64, read: u64) -> RssGrowth {
    let of = |part: &[&SeriesPoint]| {
        let values: Vec<f64> = part.iter().filter_map(|p| p.rss_mb).collect();
        (values.len() * 2 >= part.len() && !values.is_empty()).then(|| median(values.into_iter()))
    };
    let (a, b) = (of(first), of(last));
    let growth = match (a, b) {
        (Some(a), Some(b)) if apart_s >= MIN_RSS_SPAN_S && read >= MIN_SLOPE_SAMPLES => {
            Some((b - a) / (apart_s / 3600.0))
        }
        _ => None,
    };
    RssGrowth {
        first: a,
        last: b,
        growth,
    }
}

fn duration_words(hours: f64) -> String {
    if hours >= 1.0 {
        format!("{} h", short(hours))
    } else if hours * 60.0 >= 1.0 {
        format!("{} min", short(hours * 60.0))
    } else {
        format!("{} s", short(hours * 3600.0))
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
                let hours = (m as f64 + 0.5) / 60.0;
                SeriesPoint {
                    offset_s: m as f64 * 60.0,
                    length_s: 60.0,
                    warmup: m < 2,
                    requests: 600,
                    failed: (err(hours) * 600.0).round() as u64,
                    p95: p95(hours),
                    error_rate: err(hours),
                    ..SeriesPoint::default()
                }
            })
            .collect()
    }

    fn limits(p95: f64, err: f64) -> Option<Limits> {
        Some(Limits {
            p95_growth: Some(p95),
            error_rate_growth: Some(err),
            ..Limits::default()
        })
    }

    #[test]
    fn a_flat_noisy_soak_with_a_slow_last_bucket_is_stable() {
        let noise = |h: f64| {
            if ((h * 60.0) as usize).is_multiple_of(2) {
                5.0
            } else {
                -5.0
            }
        };
        let mut points = soak(120, |h| 100.0 + noise(h), |_| 0.001);
        points.last_mut().unwrap().p95 = 180.0;
        let drift = drift(&points, None, &AnalysisOptions::default());
        assert_eq!(drift.verdict, DriftVerdict::Stable, "{}", drift.why);
        assert_eq!(
            (drift.points, drift.limits_from.as_str()),
            (118, "defaults")
        );
        assert!(
            drift.why.starts_with("stable over 1.95 h: p95 "),
            "{}",
            drift.why
        );
    }

    #[test]
    fn microsecond_jitter_of_a_fast_service_is_not_drift() {
        // The webhook soak that flapped: p95 0.36 / 0.30 / 2.46 / 0.34 / 3.66 ms, and worse:
        // a fast service whose last third is three times its first, by two milliseconds.
        let points = soak(30, |h| if h > 0.33 { 3.0 } else { 1.0 }, |_| 0.0);
        let drift = drift(&points, limits(0.5, 0.01), &AnalysisOptions::default());
        assert_eq!(drift.verdict, DriftVerdict::Stable, "{}", drift.why);
        assert!(
            drift.p95_growth > 1.0,
            "the relative growth alone would have failed"
        );
        // With a floor of 1 ms, the same growth is a drift.
        let strict = Some(Limits {
            min_change_ms: Some(1.0),
            ..limits(0.5, 0.01).unwrap()
        });
        assert_eq!(drift_of(&points, strict), DriftVerdict::Drifting);
    }

    fn drift_of(points: &[SeriesPoint], limits: Option<Limits>) -> DriftVerdict {
        drift(points, limits, &AnalysisOptions::default()).verdict
    }

    #[test]
    fn a_leak_drifts_and_says_by_how_much() {
        let drift = drift(
            &soak(120, |h| 100.0 + 30.0 * h, |_| 0.0),
            None,
            &AnalysisOptions::default(),
        );
        assert_eq!(drift.verdict, DriftVerdict::Drifting);
        assert!(drift.why.contains("p95 grew 3"), "{}", drift.why);
        assert!(
            drift.why.contains("limit 20% and at least 5 ms"),
            "{}",
            drift.why
        );
        assert!(
            (drift.p95_slope_ms_per_hour - 30.0).abs() < 1.0,
            "{drift:?}"
        );
    }

    #[test]
    fn the_error_rate_drifts_by_points_over_the_plans_limit() {
        let points = soak(63, |_| 100.0, |h| 0.03 * h);
        let drift = drift(&points, limits(0.5, 0.01), &AnalysisOptions::default());
        assert_eq!(
            (drift.verdict, drift.limits_from.as_str()),
            (DriftVerdict::Drifting, "plan")
        );
        assert!(drift.why.contains("the error rate rose"), "{}", drift.why);
        assert!(!drift.why.contains("p95"), "{}", drift.why);
    }

    #[test]
    fn memory_growth_is_judged_only_over_a_long_enough_span() {
        let with_rss = |minutes: usize, step_s: f64| -> Vec<SeriesPoint> {
            (0..minutes)
                .map(|n| SeriesPoint {
                    offset_s: n as f64 * step_s,
                    length_s: step_s,
                    requests: 10,
                    p95: 10.0,
                    rss_mb: Some(100.0 + n as f64 * step_s / 60.0),
                    ..SeriesPoint::default()
                })
                .collect()
        };
        let leak = Some(Limits {
            target_rss_growth_mb_per_hour: Some(10.0),
            ..Limits::default()
        });
        // One MB a minute is 60 MB per hour, over an hour: a leak.
        let drift = drift(&with_rss(60, 60.0), leak, &AnalysisOptions::default());
        assert_eq!(drift.verdict, DriftVerdict::Drifting, "{}", drift.why);
        let growth = drift.rss_growth_mb_per_hour.unwrap();
        assert!((growth - 60.0).abs() < 1.0, "{growth}");
        // The same slope over 12 seconds is no figure per hour, and no verdict on memory.
        let short = super::drift(&with_rss(12, 1.0), leak, &AnalysisOptions::default());
        assert_eq!(short.rss_growth_mb_per_hour, None);
        assert_eq!(short.verdict, DriftVerdict::Stable, "{}", short.why);
        assert!(
            short.why.contains("too short a span for a growth per hour"),
            "{}",
            short.why
        );
    }

    #[test]
    fn memory_growth_needs_ten_readings_however_long_the_span() {
        // Nine points an hour apart: long enough, but nine readings are too few for a rate.
        let hourly: Vec<SeriesPoint> = (0..9)
            .map(|n| SeriesPoint {
                offset_s: n as f64 * 3600.0,
                length_s: 3600.0,
                requests: 10,
                p95: 10.0,
                rss_mb: Some(100.0 + n as f64 * 50.0),
                ..SeriesPoint::default()
            })
            .collect();
        let leak = Some(Limits {
            target_rss_growth_mb_per_hour: Some(10.0),
            ..Limits::default()
        });
        let nine = drift(&hourly, leak, &AnalysisOptions::default());
        assert_eq!(nine.rss_growth_mb_per_hour, None);
        assert!(
            nine.why.contains("too short a span for a growth per hour"),
            "{}",
            nine.why
        );
        let mut ten = hourly.clone();
        ten.push(SeriesPoint {
            offset_s: 9.0 * 3600.0,
            rss_mb: Some(550.0),
            ..hourly[8]
        });
        let ten = drift(&ten, leak, &AnalysisOptions::default());
        assert_eq!(ten.verdict, DriftVerdict::Drifting, "{}", ten.why);
    }

    #[test]
    fn too_few_points_are_too_short_to_judge() {
        let drift = drift(
            &soak(8, |h| 1000.0 * h, |_| 0.5),
            None,
            &AnalysisOptions::default(),
        );
        assert_eq!(drift.verdict, DriftVerdict::TooShort);
        assert!(drift.why.contains("at least 9 are needed"), "{}", drift.why);
    }
}
