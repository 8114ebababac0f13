//! The summary of a finished run: totals, thresholds, analysis and verdict, assembled from what
//! the reporter kept.

use stampede_metrics::format::{grouped, round};
use stampede_metrics::{Figures, LoadFigures, StreamFigures};

use super::Reporter;
use crate::judge::facts::analyse;
use crate::judge::streams;
use crate::judge::thresholds::{drift_rules, evaluate};
use crate::judge::verdict;
use crate::store::clock::rfc3339;
use crate::summary::stream::{StreamStep, StreamSummary};
use crate::summary::{CheckResult, SCHEMA_VERSION, ScaleOut, Summary, TotalSummary};

impl Reporter {
    pub(super) fn summary(&self) -> Summary {
        let mut steps = self.steps.clone();
        steps.sort_by_key(|s| s.index);
        let duration: f64 = steps.iter().map(|s| s.duration_s).sum();
        let peak_users = steps.iter().map(|s| s.load.peak_users).max().unwrap_or(0);
        let open = steps.iter().any(|s| s.load.planned_rate.is_some());
        let monitors = self.monitor.figures();
        let total = TotalSummary {
            users: steps.iter().map(|s| s.users).max().unwrap_or(0),
            duration_s: round(duration, 3),
            load: LoadFigures::of_run(&self.total, duration, peak_users, open),
            figures: Figures::of(&self.total.aggregate(), duration).with_monitors(&monitors),
            requests_by_name: self.by_name(&self.total, duration),
        };
        let series = self.series.series().clone();
        let analysis = analyse(&self.plan, &steps, &series.points, &self.analysis);
        let streams = self.stream_summaries(duration);
        let mut thresholds = evaluate(&self.plan.thresholds, &steps, &total, &self.plan.names);
        thresholds.extend(streams::evaluate(&self.plan.thresholds, &streams));
        // A soak's drift limits written in the plan are rules like thresholds: they decide the
        // verdict. The default limits only inform.
        if let Some(drift) = &analysis.drift {
            thresholds.extend(drift_rules(drift, self.plan.drift));
        }
        let (finished_at, elapsed, run_outcome, setup) = match &self.end {
            Some((at, elapsed, outcome, setup)) => {
                (*at, *elapsed, Some(outcome.clone()), setup.clone())
            }
            // A run that never reported its end (killed, and replayed from its record) ended, as
            // far as anything shows, with the last interval it recorded.
            None => (
                self.started_at + self.last_seen,
                self.last_seen,
                None,
                Figures::default(),
            ),
        };
        let judged = verdict::judge(run_outcome.as_ref(), &thresholds, &total.figures);
        let mut notes = verdict::notes(&steps, &total, &self.plan.thresholds, &monitors);
        notes.extend(self.capture_misses.iter().map(|(message, count)| {
            format!(
                "{message}, {} time{}: the requests after it ran without the value",
                grouped(*count),
                if *count == 1 { "" } else { "s" }
            )
        }));
        let checks = self.check_results(&total);
        Summary {
            schema_version: SCHEMA_VERSION,
            scenario: self.meta.scenario.clone(),
            kind: self.meta.kind.clone(),
            description: self.plan.description.clone(),
            run_id: self.meta.run_id.clone(),
            tag: self.meta.tag.clone(),
            scale_out: self.scale_out(),
            repeat: self.meta.repeat.clone(),
            base_url: self.meta.base_url.clone(),
            fingerprint: self.meta.fingerprint.clone(),
            started_at: rfc3339(self.started_at),
            finished_at: rfc3339(finished_at),
            elapsed_s: round(elapsed.as_secs_f64(), 3),
            verdict: judged.verdict,
            aborted: judged.aborted,
            stopped: judged.stopped,
            failed_because: judged.failed_because,
            notes,
            checks,
            alerts: self.alerts.clone(),
            alerts_dropped: self.alerts_dropped,
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
            monitors,
            streams,
        }
    }

    /// The scale-out tag as the summary shows it: a segment says how late it began its first
    /// step after the agreed start (a merge fills in its own figures).
    fn scale_out(&self) -> Option<ScaleOut> {
        let mut tag = self.meta.scale_out.clone()?;
        if tag.segment.is_some() {
            let agreed = tag.start_at.as_deref();
            let agreed = agreed.and_then(|at| humantime::parse_rfc3339(at).ok());
            tag.start_late_us = agreed.map(|at| late_us(at, self.started_at));
        }
        Some(tag)
    }

    /// Each stream over the run (from the run's summed statistics) and in each step.
    fn stream_summaries(&self, duration: f64) -> Vec<StreamSummary> {
        let mut steps = self.stream_steps.clone();
        steps.sort_by_key(|(index, _)| *index);
        self.plan
            .streams
            .iter()
            .enumerate()
            .map(|(n, name)| StreamSummary {
                name: name.clone(),
                kind: self.plan.stream_kind(n).to_owned(),
                total: StreamFigures {
                    peak_open: steps
                        .iter()
                        .filter_map(|(_, figures)| figures.get(n).map(|f| f.peak_open))
                        .max()
                        .unwrap_or(0),
                    ..self
                        .total
                        .streams
                        .get(n)
                        .map(|s| StreamFigures::of(s, duration))
                        .unwrap_or_default()
                },
                steps: steps
                    .iter()
                    .filter_map(|(index, figures)| {
                        let figures = figures.get(n)?.clone();
                        Some(StreamStep {
                            index: *index,
                            figures,
                        })
                    })
                    .collect(),
            })
            .collect()
    }

    /// Every check of every request over the run, named as the plan names them.
    fn check_results(&self, total: &TotalSummary) -> Vec<CheckResult> {
        let mut results = Vec::new();
        for (id, (request, figures)) in total.requests_by_name.iter().enumerate() {
            let names = self.plan.checks.get(id);
            let fail = self.plan.checks_fail_request.get(id);
            for (n, check) in figures.checks.iter().enumerate() {
                if check.passed + check.failed == 0 {
                    continue;
                }
                results.push(CheckResult {
                    request: request.to_owned(),
                    name: names
                        .and_then(|names| names.get(n))
                        .cloned()
                        .unwrap_or_else(|| format!("check {}", n + 1)),
                    passed: check.passed,
                    failed: check.failed,
                    pass_rate: check.pass_rate,
                    seen: check.seen.clone(),
                    fails_request: fail.and_then(|f| f.get(n)).copied().unwrap_or(false),
                });
            }
        }
        results
    }
}

/// How long after `agreed` the run began, in microseconds (0 when it began on time or early).
pub(crate) fn late_us(agreed: std::time::SystemTime, began: std::time::SystemTime) -> u64 {
    began.duration_since(agreed).map_or(0, |late| {
        u64::try_from(late.as_micros()).unwrap_or(u64::MAX)
    })
}
