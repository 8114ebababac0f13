//! The verdict of a run, and the notes a person must read with it.
//!
//! A verdict must be able to fail and must not pass a run that showed nothing: a run in which no
//! request completed, or none succeeded, fails whatever its thresholds (a dead target is not a
//! passing one). Thresholds, a limit that aborted the run, and an interrupt decide the rest.
//!
//! Notes are the sentences every rendering shows on its first screen, computed here once: the
//! rate the open model achieved against the one planned, arrivals dropped, abandoned or started
//! late, a failure share above the default warning level with no threshold gating it, why a run
//! or a sweep stopped early, what the monitor saw, and the warning that closed-model latency
//! hides queueing.

use stampede_metrics::format::{self, grouped, percent, short};
use stampede_metrics::{Figures, LatencyFrom, Outcome, RunEnding};
use stampede_plan::{Metric, Threshold};

use crate::summary::threshold::ThresholdResult;
use crate::summary::{StepSummary, TotalSummary, Verdict};
use stampede_metrics::MonitorFigures;

/// Without a threshold on the error rate, a run whose failures pass this share gets a warning
/// note (it does not fail: gate it with `thresholds.error-rate`).
pub const DEFAULT_ERROR_WARNING: f64 = 0.10;

/// A closed-model step whose max latency passes this many times its p99 gets the note that
/// closed-model latency hides queueing.
const QUEUEING_FACTOR: f64 = 10.0;

/// The verdict and why.
pub(crate) struct Judgement {
    pub(crate) verdict: Verdict,
    /// A limit that must hold aborted the run.
    pub(crate) aborted: Option<String>,
    /// A sweep ended early, having found its limit.
    pub(crate) stopped: Option<String>,
    /// Why the run failed besides thresholds: nothing completed, nothing succeeded.
    pub(crate) failed_because: Vec<String>,
}

/// Judges a run from how it ended, its thresholds and its total.
pub(crate) fn judge(
    ending: Option<&RunEnding>,
    thresholds: &[ThresholdResult],
    total: &Figures,
) -> Judgement {
    let failed_because = nothing_shown(total);
    let failed = thresholds.iter().any(|t| !t.passed) || !failed_because.is_empty();
    let passed_unless = |failed: bool| {
        if failed {
            Verdict::Failed
        } else {
            Verdict::Passed
        }
    };
    let (verdict, aborted, stopped) = match ending {
        // Without a RunEnded the run did not finish normally: report it as interrupted.
        None | Some(RunEnding::Interrupted) => (Verdict::Interrupted, None, None),
        Some(RunEnding::Aborted { reason }) => (Verdict::Failed, Some(reason.clone()), None),
        Some(RunEnding::StoppedEarly { reason }) => {
            (passed_unless(failed), None, Some(reason.clone()))
        }
        Some(RunEnding::Completed) => (passed_unless(failed), None, None),
    };
    Judgement {
        verdict,
        aborted,
        stopped,
        failed_because,
    }
}

/// Why a run showed nothing worth passing: no request completed, or none succeeded.
fn nothing_shown(total: &Figures) -> Vec<String> {
    if total.requests == 0 {
        return vec!["no request completed".to_owned()];
    }
    if total.failed < total.requests {
        return Vec::new();
    }
    let kinds: Vec<String> = total
        .outcomes
        .iter()
        .filter(|&(_, n)| n > 0)
        .map(|(outcome, n)| format!("{} {}", grouped(n), outcome_words(outcome)))
        .collect();
    vec![format!(
        "no request succeeded: all {} failed ({})",
        grouped(total.requests),
        kinds.join(", ")
    )]
}

fn outcome_words(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Timeout => "timed out",
        Outcome::Refused => "refused",
        Outcome::Reset => "reset",
        Outcome::Other => "protocol errors",
        Outcome::Abandoned => "still unanswered when the grace period ended",
        Outcome::Status2xx | Outcome::Status3xx => "unexpected or failed checks",
        Outcome::Status4xx => "4xx",
        Outcome::RateLimited => "429",
        Outcome::Status5xx => "5xx",
    }
}

/// The notes of a run, in the order a reader needs them.
pub(crate) fn notes(
    steps: &[StepSummary],
    total: &TotalSummary,
    plan_thresholds: &[Threshold],
    monitors: &[MonitorFigures],
) -> Vec<String> {
    let mut notes = Vec::new();
    for step in steps {
        notes.extend(load_note(step));
    }
    let gated = plan_thresholds
        .iter()
        .any(|t| t.metric == Metric::ErrorRate);
    let f = &total.figures;
    notes.extend(rate_limit_note(f));
    // When nothing succeeded the verdict itself fails the run and says why; a note that the
    // error rate "does not fail the run" would contradict it.
    let something_succeeded = f.failed < f.requests;
    if !gated && something_succeeded && f.error_rate > DEFAULT_ERROR_WARNING {
        notes.push(format!(
            "{} of requests failed ({} of {}), over the {} warning level; no threshold gates the \
             error rate, so this does not fail the run: add thresholds.error-rate to make it",
            percent(f.error_rate),
            grouped(f.failed),
            grouped(f.requests),
            percent(DEFAULT_ERROR_WARNING)
        ));
    }
    for step in steps {
        notes.extend(queueing_note(step));
    }
    for monitor in monitors {
        notes.push(monitor_note(monitor));
    }
    notes
}

/// Responses that said 429: their share, how many said when to come back, how often users
/// backed off, and the rate of requests that succeeded.
fn rate_limit_note(f: &Figures) -> Option<String> {
    let limited = f.outcomes.get(Outcome::RateLimited);
    if limited == 0 {
        return None;
    }
    let mut text = format!(
        "{} of responses were 429, rate limited ({} of {}",
        percent(f.rate_limited),
        grouped(limited),
        grouped(f.requests)
    );
    if f.retry_after_seen > 0 {
        text.push_str(&format!(
            ", {} with Retry-After",
            grouped(f.retry_after_seen)
        ));
    }
    text.push(')');
    if f.backoffs > 0 {
        text.push_str(&format!("; users backed off {} times", grouped(f.backoffs)));
    }
    text.push_str(&format!(
        "; {} successful requests/s of {}/s",
        short(f.success_rps),
        short(f.rps)
    ));
    Some(text)
}

/// An open-model step that did not deliver its schedule: the rate achieved against the one
/// planned, arrivals dropped or started late.
fn load_note(step: &StepSummary) -> Option<String> {
    let load = &step.load;
    let planned = load.planned_rate?;
    let achieved = load.achieved_rate.unwrap_or(0.0);
    let short_of = planned > 0.0 && achieved < planned * 0.99;
    let arrivals = step.arrivals.unwrap_or_default();
    let lost_count = arrivals.unaccounted != 0;
    if !short_of && load.dropped == 0 && load.late_starts == 0 && load.abandoned == 0 && !lost_count
    {
        return None;
    }
    let mut parts = vec![format!(
        "{}: achieved {}/s of the {}/s planned",
        step.title(),
        short(achieved),
        short(planned)
    )];
    if load.dropped > 0 {
        parts.push(format!(
            "{} of {} arrivals dropped, never sent (every user busy and the backlog full)",
            grouped(load.dropped),
            grouped(load.scheduled)
        ));
    }
    if load.late_starts > 0 {
        parts.push(format!("{} started late", grouped(load.late_starts)));
    }
    if load.abandoned > 0 {
        parts.push(format!(
            "{} abandoned, still unanswered when the grace period ended",
            grouped(load.abandoned)
        ));
    }
    if lost_count {
        parts.push(format!(
            "{} scheduled arrivals are unaccounted for ({} scheduled, {} completed, {} \
             abandoned, {} dropped): stampede lost count, a bug to report",
            arrivals.unaccounted,
            grouped(arrivals.scheduled),
            grouped(arrivals.completed),
            grouped(arrivals.abandoned),
            grouped(arrivals.dropped)
        ));
    }
    Some(parts.join("; "))
}

/// A closed-model step whose slowest request took many times its p99: the senders waited too,
/// so the percentiles understate what users of a queueing system see.
fn queueing_note(step: &StepSummary) -> Option<String> {
    let f = &step.figures;
    let l = &f.latency_ms;
    // A step in which nothing succeeded timed only its failures (refused connects, resets):
    // their spread says nothing about queueing, and the verdict already says what happened.
    let hidden = f.latency_from == LatencyFrom::Sent
        && l.p99 > 0.0
        && l.max > QUEUEING_FACTOR * l.p99
        && f.requests > f.failed;
    hidden.then(|| {
        format!(
            "{}: max {} ms is over {}x p99 {} ms; closed-model latency hides queueing (a \
             stalled server also stalls the senders), so measure with the open model (kind = \
             \"throughput\" with rates) for latency from the scheduled send",
            step.title(),
            short(l.max),
            format::trim(QUEUEING_FACTOR, 0),
            short(l.p99)
        )
    })
}

fn monitor_note(m: &MonitorFigures) -> String {
    if m.unavailable() {
        return format!(
            "monitor {}: unavailable, none of its {} samples could be read (no figure is 0 %)",
            m.name,
            grouped(m.samples)
        );
    }
    let mut parts = Vec::new();
    if let Some(cpu) = m.peak_cpu_percent {
        parts.push(format!("peak CPU {}% of a core", short(cpu)));
    }
    if let Some(rss) = m.peak_rss_mb {
        parts.push(format!("peak RSS {} MB", short(rss)));
    }
    if let (Some(first), Some(last)) = (m.first_rss_mb, m.last_rss_mb) {
        parts.push(format!("RSS {} -> {} MB", short(first), short(last)));
    }
    if parts.is_empty() {
        parts.push("no value could be read".to_owned());
    }
    if m.failed_samples > 0 {
        parts.push(format!(
            "{} of {} samples failed",
            grouped(m.failed_samples),
            grouped(m.samples)
        ));
    }
    format!(
        "{} ({} samples): {}",
        m.name,
        grouped(m.samples),
        parts.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use stampede_metrics::OutcomeCounts;

    fn total(outcomes: &[(Outcome, u64)], failed: u64) -> Figures {
        let mut f = Figures::default();
        for &(outcome, n) in outcomes {
            for _ in 0..n {
                f.outcomes.bump(outcome);
            }
        }
        f.requests = f.outcomes.total();
        f.failed = failed;
        f
    }

    #[test]
    fn a_dead_target_fails_whatever_the_thresholds() {
        let refused = total(&[(Outcome::Refused, 51_035)], 51_035);
        let judged = judge(Some(&RunEnding::Completed), &[], &refused);
        assert_eq!(judged.verdict, Verdict::Failed);
        assert_eq!(
            judged.failed_because,
            ["no request succeeded: all 51,035 failed (51,035 refused)"]
        );
        let nothing = judge(Some(&RunEnding::Completed), &[], &Figures::default());
        assert_eq!(nothing.verdict, Verdict::Failed);
        assert_eq!(nothing.failed_because, ["no request completed"]);
    }

    #[test]
    fn one_success_is_enough_to_be_judged_by_thresholds() {
        let mostly = total(&[(Outcome::Status2xx, 1), (Outcome::Status5xx, 99)], 99);
        let judged = judge(Some(&RunEnding::Completed), &[], &mostly);
        assert_eq!(judged.verdict, Verdict::Passed);
        assert!(judged.failed_because.is_empty());
    }

    #[test]
    fn an_interrupted_or_stopped_run_keeps_its_ending() {
        let fine = total(&[(Outcome::Status2xx, 10)], 0);
        assert_eq!(
            judge(Some(&RunEnding::Interrupted), &[], &fine).verdict,
            Verdict::Interrupted
        );
        let stopped = RunEnding::StoppedEarly {
            reason: "knee".to_owned(),
        };
        let judged = judge(Some(&stopped), &[], &fine);
        assert_eq!(
            (judged.verdict, judged.stopped.as_deref()),
            (Verdict::Passed, Some("knee"))
        );
    }

    #[test]
    fn failures_past_the_default_level_warn_unless_a_threshold_gates_them() {
        let mut t = TotalSummary {
            figures: total(&[(Outcome::Status2xx, 70), (Outcome::Status5xx, 30)], 30),
            ..TotalSummary::default()
        };
        t.figures.error_rate = 0.3;
        let notes = notes(&[], &t, &[], &[]);
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(
            notes[0].starts_with("30% of requests failed (30 of 100)"),
            "{notes:?}"
        );
        let gate = Threshold {
            metric: Metric::ErrorRate,
            condition: stampede_plan::Condition {
                op: stampede_plan::Op::Lt,
                value: 0.5,
            },
            warn: None,
            scope: stampede_plan::Scope::Run,
            live: None,
        };
        assert!(super::notes(&[], &t, &[gate], &[]).is_empty());
    }

    #[test]
    fn rate_limited_answers_say_their_share_and_the_successful_rate() {
        let mut f = total(&[(Outcome::Status2xx, 30), (Outcome::RateLimited, 70)], 0);
        f.rate_limited = 0.7;
        f.retry_after_seen = 70;
        f.backoffs = 12;
        f.rps = 10.0;
        f.success_rps = 3.0;
        assert_eq!(
            rate_limit_note(&f).as_deref(),
            Some(
                "70% of responses were 429, rate limited (70 of 100, 70 with Retry-After); \
                 users backed off 12 times; 3 successful requests/s of 10/s"
            )
        );
        f.outcomes = OutcomeCounts::default();
        assert_eq!(rate_limit_note(&f), None);
    }

    #[test]
    fn a_monitor_note_counts_failed_samples_and_says_unavailable() {
        let mut m = MonitorFigures {
            name: "api".to_owned(),
            samples: 120,
            failed_samples: 3,
            peak_cpu_percent: Some(42.0),
            ..MonitorFigures::default()
        };
        assert_eq!(
            monitor_note(&m),
            "api (120 samples): peak CPU 42% of a core, 3 of 120 samples failed"
        );
        m.failed_samples = 120;
        m.peak_cpu_percent = None;
        assert_eq!(
            monitor_note(&m),
            "monitor api: unavailable, none of its 120 samples could be read (no figure is 0 %)"
        );
    }

    #[test]
    fn a_saturated_open_model_step_says_what_it_achieved_and_dropped() {
        let step = StepSummary {
            label: "2000/s".to_owned(),
            load: stampede_metrics::LoadFigures {
                planned_rate: Some(2000.0),
                achieved_rate: Some(310.0),
                scheduled: 20_000,
                dropped: 6_760,
                late_starts: 745,
                ..Default::default()
            },
            ..StepSummary::default()
        };
        assert_eq!(
            load_note(&step).as_deref(),
            Some(
                "step 1 (2000/s): achieved 310/s of the 2000/s planned; 6,760 of 20,000 \
                 arrivals dropped, never sent (every user busy and the backlog full); 745 \
                 started late"
            )
        );
    }

    #[test]
    fn abandoned_arrivals_are_said_and_a_lost_count_is_called_a_bug() {
        let arrivals = |completed, abandoned| stampede_metrics::Arrivals {
            scheduled: 1000,
            completed,
            abandoned,
            dropped: 0,
            unaccounted: 1000 - completed as i64 - abandoned as i64,
        };
        let mut step = StepSummary {
            label: "100/s".to_owned(),
            load: stampede_metrics::LoadFigures {
                planned_rate: Some(100.0),
                achieved_rate: Some(100.0),
                scheduled: 1000,
                ..Default::default()
            },
            arrivals: Some(arrivals(1000, 0)),
            ..StepSummary::default()
        };
        assert_eq!(
            load_note(&step),
            None,
            "every arrival completed: nothing to say"
        );
        step.load.abandoned = 4;
        step.arrivals = Some(arrivals(996, 4));
        let note = load_note(&step).expect("abandoned arrivals are noted");
        assert!(note.contains("4 abandoned"), "{note}");
        assert!(!note.contains("unaccounted"), "{note}");
        step.arrivals = Some(arrivals(990, 4));
        let note = load_note(&step).expect("a lost count is noted");
        assert!(
            note.contains("6 scheduled arrivals are unaccounted for (1,000 scheduled, 990"),
            "{note}"
        );
    }

    #[test]
    fn an_ungated_error_rate_is_noted_unless_the_verdict_already_failed_for_it() {
        let mut total = TotalSummary::default();
        total.figures.requests = 100;
        total.figures.failed = 20;
        total.figures.error_rate = 0.2;
        let noted = |total: &TotalSummary| {
            notes(&[], total, &[], &[])
                .iter()
                .any(|n| n.contains("no threshold gates the error rate"))
        };
        assert!(noted(&total), "20% failed, some succeeded: the note is due");
        total.figures.failed = 100;
        total.figures.error_rate = 1.0;
        assert!(!noted(&total), "nothing succeeded: the verdict says it");
    }

    #[test]
    fn a_stalled_closed_model_step_gets_the_queueing_note() {
        let mut step = StepSummary::default();
        step.figures.requests = 1000;
        step.figures.latency_ms.p99 = 26.0;
        step.figures.latency_ms.max = 1018.0;
        let note = queueing_note(&step).expect("max is 39x p99");
        assert!(
            note.contains("closed-model latency hides queueing"),
            "{note}"
        );
        step.figures.latency_ms.max = 200.0;
        assert_eq!(queueing_note(&step), None);
        // Every request refused: the spread of connect errors is no sign of queueing.
        step.figures.latency_ms.max = 1018.0;
        step.figures.failed = 1000;
        assert_eq!(queueing_note(&step), None);
    }
}
