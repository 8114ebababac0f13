//! The analyses each kind of plan gets, chosen from what the reporter keeps of the plan.

use stampede_plan::Kind;

use crate::judge::analysis::{AnalysisOptions, burst, drift, elbow, knee};
use crate::summary::StepSummary;
use crate::summary::analysis::Analysis;
use crate::summary::plan::PlanFacts;
use crate::summary::series::SeriesPoint;

/// The analyses that fit the plan's kind.
pub(crate) fn analyse(
    facts: &PlanFacts,
    steps: &[StepSummary],
    points: &[SeriesPoint],
    options: &AnalysisOptions,
) -> Analysis {
    let mut analysis = Analysis::default();
    match facts.kind {
        Kind::Capacity => {
            analysis.knee = Some(knee(
                steps,
                facts.ceiling_factor,
                &facts.knee_levels,
                options,
            ));
        }
        Kind::Throughput => analysis.elbow = Some(elbow(steps, &facts.thresholds, options)),
        Kind::Soak => analysis.drift = Some(drift(points, facts.drift, options)),
        Kind::Burst => {
            analysis.burst = facts
                .burst_step
                .and_then(|step| burst(steps, step, points, options));
        }
        Kind::Smoke | Kind::Stages => {}
    }
    analysis
}
