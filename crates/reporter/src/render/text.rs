//! The end-of-run console summary: one table of steps and the total, failures by kind,
//! thresholds with ✓/✗, the analysis in a sentence each, and the verdict last, where the eye
//! lands when the command returns.

use std::fmt::Write;

use crate::summary::stream::StreamSummary;
use crate::summary::{Summary, Verdict, words};
use stampede_metrics::format::{self, grouped, percent, short};
use stampede_metrics::{Figures, Outcome, PhaseMs};
use stampede_plan::Unit;

/// One stream over the run, on one line: what opening it cost, what came, what was lost.
fn stream_line(stream: &StreamSummary) -> String {
    let f = &stream.total;
    let p95 = |label: &str, phase: Option<PhaseMs>| {
        phase.map_or(String::new(), |p| {
            format!(", {label} p95 {} ms", short(p.p95))
        })
    };
    let e2e = f.e2e_ms.map_or(String::new(), |e| {
        format!(
            ", e2e p50 {} ms p95 {} ms, {} lost of {} expected",
            short(e.p50),
            short(e.p95),
            grouped(f.lost),
            grouped(f.expected)
        )
    });
    let lost = if f.e2e_ms.is_none() && f.expected > 0 {
        format!(
            ", {} lost of {} expected",
            grouped(f.lost),
            grouped(f.expected)
        )
    } else {
        String::new()
    };
    // A WebSocket's own messages: how many went out, their round trip, the echoes lost.
    let sent = if f.sent > 0 {
        let rtt = f.rtt_ms.map_or(String::new(), |r| {
            format!(", rtt p50 {} ms p95 {} ms", short(r.p50), short(r.p95))
        });
        let lost = if f.expected == 0 {
            format!(", {} lost", grouped(f.lost))
        } else {
            String::new()
        };
        format!(", {} sent{rtt}{lost}", grouped(f.sent))
    } else {
        String::new()
    };
    format!(
        "stream {} ({}): peak {} open, {} opened, {} failed to open, {} events ({}/s){}{}{}{}{}, {} disconnects, {} reconnects\n",
        stream.name,
        stream.kind,
        grouped(u64::from(f.peak_open)),
        grouped(f.opened),
        grouped(f.failed_opens),
        grouped(f.events),
        short(f.events_per_s),
        p95("connect", f.connect_ms),
        p95("first event", f.first_event_ms),
        e2e,
        lost,
        sent,
        grouped(f.disconnects),
        grouped(f.reconnects),
    )
}

/// Alerts listed at most in the console; summary.json keeps more.
const SHOWN_ALERTS: usize = 5;

impl Summary {
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{} ({}) run {}{}",
            self.scenario,
            self.kind,
            self.run_id,
            self.tag
                .as_ref()
                .map(|t| format!(" [{t}]"))
                .unwrap_or_default()
        );
        let _ = writeln!(
            out,
            "target {}, started {}, {} s",
            self.base_url,
            self.started_at,
            short(self.elapsed_s)
        );
        out.push('\n');
        out.push_str(&self.steps_table());
        out.push_str(&self.requests_table());
        let kinds: Vec<String> = self
            .steps
            .iter()
            .filter_map(|s| {
                failure_kinds(&s.figures).map(|k| format!("  step {}: {k}", s.index + 1))
            })
            .collect();
        if !kinds.is_empty() {
            out.push_str("failures by kind\n");
            for line in kinds {
                out.push_str(&line);
                out.push('\n');
            }
        }
        if let Some(setup) = &self.setup {
            let _ = writeln!(
                out,
                "setup: {} requests, {} failed, p95 {} ms",
                grouped(setup.requests),
                grouped(setup.failed),
                short(setup.latency_ms.p95)
            );
        }
        for stream in &self.streams {
            out.push_str(&stream_line(stream));
        }
        out.push_str(&self.analysis_text());
        out.push_str(&self.findings_text());
        if !self.checks.is_empty() {
            out.push_str("\nchecks\n");
            for check in &self.checks {
                let mark = if check.failed == 0 { "✓" } else { "✗" };
                let _ = writeln!(out, "  {mark} {}", words::check_line(check));
            }
        }
        if !self.thresholds.is_empty() {
            out.push_str("\nthresholds\n");
            for t in &self.thresholds {
                let mark = match (t.passed, t.warned) {
                    (false, _) => "✗",
                    (true, true) => "!",
                    (true, false) => "✓",
                };
                let warn = match (&t.warn_condition, t.warned && t.passed) {
                    (Some(w), true) => format!(", beyond the warning {w}"),
                    _ => String::new(),
                };
                let _ = writeln!(
                    out,
                    "  {mark} {}: {}{warn}",
                    t.describe(),
                    t.observed_text()
                );
            }
        }
        out.push('\n');
        out.push_str(&self.verdict_line());
        out.push('\n');
        out
    }

    /// `PASSED`, `FAILED: 1 of 3 thresholds failed`, ...
    pub fn verdict_line(&self) -> String {
        let failed = self.thresholds.iter().filter(|t| !t.passed).count();
        let warned = self
            .thresholds
            .iter()
            .filter(|t| t.passed && t.warned)
            .count();
        let total = self.thresholds.len();
        let mut line = match self.verdict {
            Verdict::Passed if total == 0 => "PASSED (no thresholds)".to_owned(),
            Verdict::Passed => format!("PASSED: {total} of {total} thresholds held"),
            Verdict::Failed => match (&self.aborted, self.failed_because.first()) {
                (Some(reason), _) => format!("FAILED: aborted: {reason}"),
                (None, Some(why)) if failed > 0 => {
                    format!("FAILED: {why}; {failed} of {total} thresholds failed")
                }
                (None, Some(why)) => format!("FAILED: {why}"),
                (None, None) => format!("FAILED: {failed} of {total} thresholds failed"),
            },
            Verdict::Interrupted => format!(
                "INTERRUPTED: partial results from {} step{}",
                self.steps.len(),
                if self.steps.len() == 1 { "" } else { "s" }
            ),
        };
        if warned > 0 {
            let _ = write!(
                line,
                " ({warned} warning{})",
                if warned == 1 { "" } else { "s" }
            );
        }
        line
    }

    fn steps_table(&self) -> String {
        let header = [
            "step", "users", "requests", "failed", "rps", "min", "mean", "p50", "p90", "p95",
            "p99", "p99.9", "max",
        ];
        let row = |name: String, users: u32, f: &Figures| -> Vec<String> {
            let mut cells = vec![
                name,
                users.to_string(),
                grouped(f.requests),
                if f.failed == 0 {
                    "0".to_owned()
                } else {
                    format!("{} ({})", grouped(f.failed), percent(f.error_rate))
                },
                short(f.rps),
            ];
            cells.extend(f.latency_ms.labelled().iter().map(|&(_, v)| short(v)));
            cells
        };
        let mut rows: Vec<Vec<String>> = self
            .steps
            .iter()
            .map(|s| {
                let name = format!("{} {}", s.index + 1, s.label);
                row(name, s.load.peak_users, &s.figures)
            })
            .collect();
        rows.push(row(
            "total".to_owned(),
            self.total.load.peak_users,
            &self.total.figures,
        ));
        let mut out = table(&header, &rows, 1);
        out.push_str(&words::latency_basis(&self.total.figures));
        out.push('\n');
        if let Some(line) = words::phases_line(self.total.figures.phases.as_ref()) {
            out.push_str(&line);
            out.push('\n');
        }
        out
    }

    /// Per request over the run, as Locust's headline table: shown when there are several.
    fn requests_table(&self) -> String {
        let named: Vec<(&str, &Figures)> = self
            .total
            .requests_by_name
            .iter()
            .filter(|(_, f)| f.requests > 0)
            .collect();
        if named.len() < 2 {
            return String::new();
        }
        let header = [
            "request", "requests", "failed", "rps", "p50", "p95", "p99", "max",
        ];
        let rows: Vec<Vec<String>> = named
            .iter()
            .map(|(name, f)| {
                let l = &f.latency_ms;
                vec![
                    (*name).to_owned(),
                    grouped(f.requests),
                    grouped(f.failed),
                    short(f.rps),
                    short(l.p50),
                    short(l.p95),
                    short(l.p99),
                    short(l.max),
                ]
            })
            .collect();
        let mut out = String::from("\n");
        out.push_str(&table(&header, &rows, 1));
        out
    }

    /// What a reader must see with the figures: why the run stopped, the notes, the alerts.
    fn findings_text(&self) -> String {
        let mut out = String::new();
        if let Some(reason) = &self.stopped {
            let _ = writeln!(out, "\nstopped early: {reason}");
        }
        if !self.notes.is_empty() {
            out.push_str("\nnotes\n");
            for note in &self.notes {
                let _ = writeln!(out, "  {note}");
            }
        }
        if !self.alerts.is_empty() {
            out.push_str("\nalerts while running\n");
            for alert in self.alerts.iter().take(SHOWN_ALERTS) {
                let _ = writeln!(
                    out,
                    "  at {} s: {}",
                    short(alert.at.as_secs_f64()),
                    alert.message
                );
            }
            let more = (self.alerts.len() - self.alerts.len().min(SHOWN_ALERTS)) as u64
                + self.alerts_dropped;
            if more > 0 {
                let _ = writeln!(out, "  and {} more in summary.json", grouped(more));
            }
        }
        out
    }

    fn analysis_text(&self) -> String {
        let mut out = String::new();
        let a = &self.analysis;
        if let Some(knee) = &a.knee {
            let _ = write!(out, "\nknee ({}): ", knee.rule());
            match (knee.step, knee.users, knee.ceiling_users) {
                (Some(step), Some(users), Some(ceiling)) => {
                    let _ = writeln!(
                        out,
                        "step {} at {users} users; safe ceiling {ceiling} users ({users} x {})",
                        step + 1,
                        short(knee.ceiling_factor)
                    );
                }
                _ => out.push_str("not found\n"),
            }
            let _ = writeln!(out, "  {}", knee.why);
            if let Some(rps) = knee.plateau_rps {
                let _ = writeln!(
                    out,
                    "  throughput plateau {}",
                    format::value(Unit::PerSecond, rps)
                );
            }
        }
        if let Some(elbow) = &a.elbow {
            match (elbow.found, elbow.rate_under_limit) {
                (true, Some(rate)) => {
                    let _ = writeln!(
                        out,
                        "\nelbow: {}/s is the highest {} under p95 {} ms ({})",
                        short(rate),
                        elbow.load_axis,
                        short(elbow.limit_ms),
                        elbow.limit_source
                    );
                }
                _ => out.push_str("\nelbow: not found\n"),
            }
            let _ = writeln!(out, "  {}", elbow.why);
        }
        if let Some(drift) = &a.drift {
            let _ = writeln!(out, "\ndrift: {}\n  {}", drift.verdict.as_str(), drift.why);
        }
        if let Some(burst) = &a.burst {
            let head = match burst.recovery_s {
                Some(s) => format!("recovered in {} s", short(s)),
                None => "not recovered".to_owned(),
            };
            let _ = writeln!(
                out,
                "\nburst (step {}): {head}\n  {}",
                burst.step + 1,
                burst.why
            );
        }
        out
    }
}

/// Non-success outcomes and failed checks with their counts: `5xx 10, timeout 2, checks 3`.
fn failure_kinds(f: &Figures) -> Option<String> {
    let mut parts: Vec<String> = f
        .outcomes
        .iter()
        .filter(|&(outcome, n)| {
            n > 0 && !matches!(outcome, Outcome::Status2xx | Outcome::Status3xx)
        })
        .map(|(outcome, n)| format!("{} {}", outcome.key(), grouped(n)))
        .collect();
    if f.checks_failed > 0 {
        parts.push(format!("checks {}", grouped(f.checks_failed)));
    }
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// A plain-text table: the first `left` columns (names) left-aligned, the rest (numbers)
/// right-aligned.
pub(crate) fn table(header: &[&str], rows: &[Vec<String>], left: usize) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut text = String::new();
        for (i, (cell, &w)) in cells.zip(&widths).enumerate() {
            let gap = if i == 0 { "" } else { "  " };
            if i < left {
                let _ = write!(text, "{gap}{cell:<w$}");
            } else {
                let _ = write!(text, "{gap}{cell:>w$}");
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&mut header.iter().copied());
    for row in rows {
        line(&mut row.iter().map(String::as_str));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata;

    #[test]
    fn golden_console_summary() {
        let summary = testdata::summary();
        let want = "\
checkout (capacity) run 20261123T101500Z [nightly]
target http://127.0.0.1:8080, started 2026-11-23T10:15:00Z, 130 s

step         users  requests       failed  rps  min  mean  p50  p90  p95  p99  p99.9  max
1 50 users      50     6,000            0  100    1  4.52    4  7.1  9.8   20     45  120
2 100 users    100    11,400  120 (1.05%)  190  1.1  9.31  8.2   15   22   60    150  900
total          100    17,400  120 (0.69%)  145    1  7.66  6.1   13   18   50    140  900
latency in ms, from the actual send
failures by kind
  step 2: 5xx 100, timeout 20

knee (heuristic): step 1 at 50 users; safe ceiling 40 users (50 x 0.8)
  step 2 (100 users) degraded: p95 22 ms is 2.24x the first step's 9.8 ms (limit 2x); error rate 1.05% is over 1%
  throughput plateau 190/s

thresholds
  ✓ p95 < 500 ms (run): 18 ms
  ✗ error-rate < 1% (step 2): 1.05%
  ! p95 < 100 ms (step 1): 9.8 ms, beyond the warning < 5 ms

FAILED: 1 of 3 thresholds failed (1 warning)
";
        assert_eq!(summary.to_text(), want);
    }

    #[test]
    fn notes_alerts_and_an_early_stop_come_before_the_verdict() {
        let mut summary = testdata::summary();
        summary.stopped = Some("step 2 crossed stop-when p95 > 2 s".to_owned());
        summary.notes = vec!["step 1 (50 users): achieved 310/s of the 2000/s planned".to_owned()];
        summary.alerts = (0..7)
            .map(|n| stampede_metrics::Alert {
                at: std::time::Duration::from_secs(10 + n),
                level: stampede_metrics::AlertLevel::Warning,
                message: format!("p95 was {n} ms"),
            })
            .collect();
        let text = summary.to_text();
        let at = |needle: &str| {
            text.find(needle)
                .unwrap_or_else(|| panic!("{needle}: {text}"))
        };
        assert!(at("stopped early: step 2 crossed stop-when") < at("notes\n"));
        assert!(at("  step 1 (50 users): achieved 310/s") < at("alerts while running"));
        assert!(text.contains("  at 10 s: p95 was 0 ms\n"));
        assert!(!text.contains("p95 was 5 ms"), "five alerts at most");
        assert!(text.contains("  and 2 more in summary.json\n"));
        assert!(at("alerts while running") < at("FAILED:"));
    }

    #[test]
    fn a_run_that_showed_nothing_says_why_it_failed() {
        let mut summary = testdata::summary();
        summary.thresholds.clear();
        summary.failed_because =
            vec!["no request succeeded: all 51,035 failed (51,035 refused)".to_owned()];
        assert_eq!(
            summary.verdict_line(),
            "FAILED: no request succeeded: all 51,035 failed (51,035 refused)"
        );
    }

    #[test]
    fn verdicts_and_exit_codes() {
        let mut summary = testdata::summary();
        summary.thresholds.retain(|t| t.passed && !t.warned);
        summary.verdict = Verdict::Passed;
        assert_eq!(summary.verdict_line(), "PASSED: 1 of 1 thresholds held");
        summary.verdict = Verdict::Interrupted;
        assert_eq!(
            summary.verdict_line(),
            "INTERRUPTED: partial results from 2 steps"
        );
        summary.verdict = Verdict::Failed;
        summary.aborted = Some("error-rate over 5% for 30s".to_owned());
        assert_eq!(
            summary.verdict_line(),
            "FAILED: aborted: error-rate over 5% for 30s"
        );
    }
}
