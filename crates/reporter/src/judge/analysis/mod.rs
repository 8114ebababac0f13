//! What a run means beyond its figures: the knee of a capacity sweep, the elbow of a throughput
//! sweep, the drift of a soak, the recovery after a burst.
//!
//! Each analysis works on step figures or on the series (both in summary.json), never on raw
//! requests, and states its conclusion in a sentence (`why`) as well as in numbers, including
//! when it could not conclude ("no knee within the sweep").

mod burst;
mod drift;
mod elbow;
mod knee;

pub(crate) use burst::burst;
pub(crate) use drift::drift;
pub(crate) use elbow::elbow;
pub(crate) use knee::knee;

use crate::summary::StepSummary;
use crate::summary::analysis::CurvePoint;

/// The limits the analyses judge against. The defaults are the rules of thumb of the plans our
/// users run (p95 doubling, 1 % errors, the 0.8 ceiling comes from the plan itself).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AnalysisOptions {
    /// Knee: p95 more than this many times the first step's.
    pub knee_p95_factor: f64,
    /// Knee and elbow: an error rate above this fraction.
    pub error_rate_limit: f64,
    /// Knee: throughput grew by less than this fraction of linear growth with users.
    pub knee_min_growth: f64,
    /// Elbow without a p95 threshold in the plan: p95 more than this many times the lightest
    /// load's.
    pub elbow_p95_factor: f64,
    /// Drift, without limits in the plan: p95 may grow by this fraction over the run.
    pub drift_p95_growth: f64,
    /// Drift, without limits in the plan: the error rate may rise this much over the run.
    pub drift_error_rate_growth: f64,
    /// Burst: recovered when p95 and error rate are within this fraction of the before window.
    pub burst_tolerance: f64,
    /// Burst: and stay there for this many consecutive points (or to the end of the run).
    pub burst_settle_points: usize,
}

impl Default for AnalysisOptions {
    fn default() -> Self {
        AnalysisOptions {
            knee_p95_factor: 2.0,
            error_rate_limit: 0.01,
            knee_min_growth: 0.5,
            elbow_p95_factor: 2.0,
            drift_p95_growth: 0.2,
            drift_error_rate_growth: 0.01,
            burst_tolerance: 0.10,
            burst_settle_points: 3,
        }
    }
}

/// The steps that had requests, as curve points with `load` chosen by `load_of`.
pub(crate) fn curve(
    steps: &[StepSummary],
    load_of: impl Fn(&StepSummary) -> f64,
) -> Vec<CurvePoint> {
    steps
        .iter()
        .filter(|s| s.figures.requests > 0)
        .map(|s| CurvePoint {
            step: s.index,
            label: s.label.clone(),
            load: load_of(s),
            rps: s.figures.rps,
            p95_ms: s.figures.latency_ms.p95,
            error_rate: s.figures.error_rate,
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod testing {
    use super::*;
    use stampede_metrics::{Figures, LatencyMs};

    /// A step with the given users, rps, p95 and error rate.
    pub(crate) fn step(
        index: usize,
        users: u32,
        rps: f64,
        p95: f64,
        error_rate: f64,
    ) -> StepSummary {
        StepSummary {
            index,
            label: format!("{users} users"),
            users,
            figures: Figures {
                requests: 1000,
                rps,
                error_rate,
                latency_ms: LatencyMs {
                    p95,
                    ..LatencyMs::default()
                },
                ..Figures::default()
            },
            ..StepSummary::default()
        }
    }
}
