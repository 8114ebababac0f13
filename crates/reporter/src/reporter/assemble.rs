//! The summary of a finished run: totals, thresholds, analysis and verdict, assembled from what
//! the reporter kept.

use std::time::SystemTime;

use stampede_metrics::RunOutcome;

use super::Reporter;
use crate::clock::rfc3339;
use crate::figures::Figures;
use crate::num::{ratio, round};
use crate::summary::{Outcome, SCHEMA_VERSION, Summary, TotalSummary};
use crate::threshold::{drift_rules, evaluate};

impl Reporter {
    pub(super) fn summary(&self) -> Summary {
        let mut steps = self.steps.clone();
        steps.sort_by_key(|s| s.index);
        let duration: f64 = steps.iter().map(|s| s.duration_s).sum();
        let open_model = steps.iter().any(|s| s.target_rate.is_some());
        let total = TotalSummary {
            users: steps.iter().map(|s| s.users).max().unwrap_or(0),
            peak_users: steps.iter().map(|s| s.peak_users).max().unwrap_or(0),
            duration_s: round(duration, 3),
            achieved_rate: open_model
                .then(|| round(ratio(self.total.iterations as f64, duration), 3)),
            figures: Figures::of(&self.total.aggregate(), duration),
            dropped: self.total.dropped,
            reconnects: self.total.reconnects,
            late_starts: self.total.late_starts,
            iterations: self.total.iterations,
            requests_by_name: self.by_name(&self.total, duration),
        };
        let series = self.series.series().clone();
        let analysis = self.plan.analyse(&steps, &series.points, &self.analysis);
        let mut thresholds = evaluate(&self.plan.thresholds, &steps, &total, &self.plan.names);
        // A soak's drift limits written in the plan are rules like thresholds: they decide the
        // verdict. Default limits only inform.
        if let Some(drift) = &analysis.drift {
            thresholds.extend(drift_rules(drift, self.plan.drift));
        }
        let (finished_at, elapsed, run_outcome, setup) = match &self.end {
            Some((at, elapsed, outcome, setup)) => {
                (*at, *elapsed, Some(outcome.clone()), setup.clone())
            }
            None => {
                let now = SystemTime::now();
                let elapsed = now.duration_since(self.started_at).unwrap_or_default();
                (now, elapsed, None, Figures::default())
            }
        };
        let (outcome, aborted) = match run_outcome {
            // Without a RunEnded the run did not finish normally: report it as interrupted.
            None | Some(RunOutcome::Interrupted) => (Outcome::Interrupted, None),
            Some(RunOutcome::Aborted { reason }) => (Outcome::Failed, Some(reason)),
            Some(RunOutcome::Completed) if thresholds.iter().any(|t| !t.passed) => {
                (Outcome::Failed, None)
            }
            Some(RunOutcome::Completed) => (Outcome::Passed, None),
        };
        Summary {
            schema_version: SCHEMA_VERSION,
            scenario: self.meta.scenario.clone(),
            kind: self.meta.kind.clone(),
            description: self.plan.description.clone(),
            run_id: self.meta.run_id.clone(),
            tag: self.meta.tag.clone(),
            base_url: self.meta.base_url.clone(),
            started_at: rfc3339(self.started_at),
            finished_at: rfc3339(finished_at),
            elapsed_s: round(elapsed.as_secs_f64(), 3),
            outcome,
            aborted,
            steps,
            total,
            setup: (setup.requests > 0).then_some(setup),
            thresholds,
            analysis,
            failures: self.failures.rows(
                self.started_at,
                &self.plan.methods,
                &self.plan.names,
                &self.plan.checks,
            ),
            series,
            monitor: self.monitor.summary(),
        }
    }
}
