//! summary.md: the verdict, thresholds, steps and analysis in GitHub-flavoured Markdown, sized
//! for a CI job summary (`cat summary.md >> $GITHUB_STEP_SUMMARY`).

use std::fmt::Write;

use crate::summary::{Summary, Verdict, words};
use stampede_metrics::Figures;
use stampede_metrics::format::{self, grouped, percent, short};
use stampede_plan::Unit;

/// Failures listed at most; the rest are in failures.csv.
const FAILURE_ROWS: usize = 10;

pub(crate) fn render(summary: &Summary) -> String {
    let mut out = String::new();
    let icon = match summary.verdict {
        Verdict::Passed => "✅",
        Verdict::Failed => "❌",
        Verdict::Interrupted => "⏹️",
    };
    let _ = writeln!(
        out,
        "## {icon} {} ({}): {}\n",
        cell(&summary.scenario),
        summary.kind,
        summary.verdict.as_str().to_uppercase()
    );
    let _ = writeln!(out, "{}\n", summary.verdict_line());
    let _ = writeln!(
        out,
        "Run `{}`{}, started {}, {} s, target `{}`.\n",
        summary.run_id,
        summary
            .tag
            .as_ref()
            .map(|t| format!(" ({})", cell(t)))
            .unwrap_or_default(),
        summary.started_at,
        short(summary.elapsed_s),
        summary.base_url
    );

    if !summary.thresholds.is_empty() {
        out.push_str("### Thresholds\n\n| | threshold | scope | observed |\n|---|---|---|--:|\n");
        for t in &summary.thresholds {
            let mark = match (t.passed, t.warned) {
                (false, _) => "❌",
                (true, true) => "⚠️",
                (true, false) => "✅",
            };
            let warn = t
                .warn_condition
                .as_ref()
                .map(|w| format!(" (warn {w})"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "| {mark} | {} {}{warn} | {} | {} |",
                t.metric,
                cell(&t.condition),
                cell(&t.scope_text()),
                t.observed_text()
            );
        }
        out.push('\n');
    }

    out.push_str(
        "### Steps\n\n| step | users | requests | failed | rps | p50 ms | p90 ms | p95 ms | p99 ms | max ms |\n\
         |---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n",
    );
    for s in &summary.steps {
        let name = format!("{} {}", s.index + 1, cell(&s.label));
        out.push_str(&row(&name, s.load.peak_users, &s.figures));
    }
    out.push_str(&row(
        "**total**",
        summary.total.load.peak_users,
        &summary.total.figures,
    ));
    let _ = writeln!(out, "\n{}.\n", words::latency_basis(&summary.total.figures));
    if let Some(line) = words::phases_line(summary.total.figures.phases.as_ref()) {
        let _ = writeln!(out, "{line}.\n");
    }
    findings(&mut out, summary);
    if !summary.checks.is_empty() {
        out.push_str("### Checks\n\n");
        for check in &summary.checks {
            let mark = if check.failed == 0 { "✅" } else { "❌" };
            let _ = writeln!(out, "- {mark} {}", cell(&words::check_line(check)));
        }
        out.push('\n');
    }

    let analysis = analysis(summary);
    if !analysis.is_empty() {
        out.push_str("### Analysis\n\n");
        out.push_str(&analysis);
    }

    if !summary.failures.is_empty() {
        out.push_str("### Failures\n\n| request | error | occurrences | first seen | last seen |\n|---|---|--:|---|---|\n");
        for f in summary.failures.iter().take(FAILURE_ROWS) {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                cell(&f.name),
                cell(&f.error),
                grouped(f.occurrences),
                f.first_seen,
                f.last_seen
            );
        }
        if summary.failures.len() > FAILURE_ROWS {
            let _ = writeln!(
                out,
                "\n{} more in failures.csv.",
                summary.failures.len() - FAILURE_ROWS
            );
        }
        out.push('\n');
    }
    out
}

/// Why the run stopped early, the notes and the alerts, as a list.
fn findings(out: &mut String, summary: &Summary) {
    let mut items: Vec<String> = Vec::new();
    if let Some(reason) = &summary.stopped {
        items.push(format!("stopped early: {reason}"));
    }
    items.extend(summary.notes.iter().cloned());
    items.extend(
        summary
            .alerts
            .iter()
            .map(|a| format!("at {} s: {}", short(a.at.as_secs_f64()), a.message)),
    );
    if items.is_empty() {
        return;
    }
    out.push_str("### Notes\n\n");
    for item in items {
        let _ = writeln!(out, "- {}", cell(&item));
    }
    out.push('\n');
}

fn row(name: &str, users: u32, f: &Figures) -> String {
    let failed = if f.failed == 0 {
        "0".to_owned()
    } else {
        format!("{} ({})", grouped(f.failed), percent(f.error_rate))
    };
    let l = &f.latency_ms;
    format!(
        "| {name} | {users} | {} | {failed} | {} | {} | {} | {} | {} | {} |\n",
        grouped(f.requests),
        short(f.rps),
        short(l.p50),
        short(l.p90),
        short(l.p95),
        short(l.p99),
        short(l.max)
    )
}

fn analysis(summary: &Summary) -> String {
    let mut out = String::new();
    let a = &summary.analysis;
    if let Some(knee) = &a.knee {
        let rule = cell(&knee.rule());
        match (knee.users, knee.ceiling_users) {
            (Some(users), Some(ceiling)) => {
                let _ = write!(
                    out,
                    "**Knee ({rule}):** {users} users. **Safe ceiling: {ceiling} users** \
                     ({users} x {}). ",
                    short(knee.ceiling_factor)
                );
            }
            _ => {
                let _ = write!(out, "**Knee ({rule}):** not found. ");
            }
        }
        let _ = write!(out, "{}", cell(&knee.why));
        if let Some(rps) = knee.plateau_rps {
            let _ = write!(
                out,
                ". Throughput plateau {}.",
                format::value(Unit::PerSecond, rps)
            );
        }
        out.push_str("\n\n");
    }
    if let Some(elbow) = &a.elbow {
        match (elbow.found, elbow.rate_under_limit) {
            (true, Some(rate)) => {
                let _ = write!(
                    out,
                    "**Elbow:** {}/s, the highest {} under p95 {} ms ({}). ",
                    short(rate),
                    elbow.load_axis,
                    short(elbow.limit_ms),
                    elbow.limit_source
                );
            }
            _ => out.push_str("**Elbow:** not found. "),
        }
        let _ = writeln!(out, "{}\n", cell(&elbow.why));
    }
    if let Some(drift) = &a.drift {
        let _ = writeln!(
            out,
            "**Drift:** {}. {}\n",
            drift.verdict.as_str(),
            cell(&drift.why)
        );
    }
    if let Some(burst) = &a.burst {
        let _ = writeln!(
            out,
            "**Burst (step {}):** {}\n",
            burst.step + 1,
            cell(&burst.why)
        );
    }
    out
}

/// Text safe inside a table cell: pipes escaped, no line breaks.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata;

    #[test]
    fn golden_markdown() {
        let want = "\
## ❌ checkout (capacity): FAILED

FAILED: 1 of 3 thresholds failed (1 warning)

Run `20261123T101500Z` (nightly), started 2026-11-23T10:15:00Z, 130 s, target `http://127.0.0.1:8080`.

### Thresholds

| | threshold | scope | observed |
|---|---|---|--:|
| ✅ | p95 < 500 ms | run | 18 ms |
| ❌ | error-rate < 1% | step 2 | 1.05% |
| ⚠️ | p95 < 100 ms (warn < 5 ms) | step 1 | 9.8 ms |

### Steps

| step | users | requests | failed | rps | p50 ms | p90 ms | p95 ms | p99 ms | max ms |
|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|
| 1 50 users | 50 | 6,000 | 0 | 100 | 4 | 7.1 | 9.8 | 20 | 120 |
| 2 100 users | 100 | 11,400 | 120 (1.05%) | 190 | 8.2 | 15 | 22 | 60 | 900 |
| **total** | 100 | 17,400 | 120 (0.69%) | 145 | 6.1 | 13 | 18 | 50 | 900 |

latency in ms, from the actual send.

### Analysis

**Knee (heuristic):** 50 users. **Safe ceiling: 40 users** (50 x 0.8). step 2 (100 users) degraded: p95 22 ms is 2.24x the first step's 9.8 ms (limit 2x); error rate 1.05% is over 1%. Throughput plateau 190/s.

### Failures

| request | error | occurrences | first seen | last seen |
|---|---|--:|---|---|
| GET /items | HTTP 503 | 100 | 2026-11-23T10:16:15Z | 2026-11-23T10:17:10Z |

";
        assert_eq!(render(&testdata::summary()), want);
    }

    #[test]
    fn pipes_in_names_do_not_break_the_table() {
        assert_eq!(cell("a|b\nc"), "a\\|b c");
    }
}
