//! `stampede history`: a scenario's runs as a table with trends, from history.jsonl.

use std::fmt::Write as _;

use stampede_metrics::format::{grouped, percent, round, short};

use crate::render::text::table;
use crate::store::history::{HistoryEntry, HistoryFigures};

/// The last `limit` runs as a table (oldest first, so the trend reads left to right), with each
/// run's change in p95 and RPS over the one before, and sparklines of both.
pub fn history_table(entries: &[HistoryEntry], limit: usize) -> String {
    let shown = &entries[entries.len().saturating_sub(limit)..];
    if shown.is_empty() {
        return "no runs recorded yet\n".to_owned();
    }
    // A capacity scenario's runs show their knee and ceiling; other kinds have none to show.
    let knees = shown.iter().any(|e| e.knee.is_some());
    let mut header = vec![
        "run",
        "tag",
        "verdict",
        "requests",
        "rps",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "errors",
        "p95 vs prev",
        "rps vs prev",
    ];
    if knees {
        header.extend(["knee users", "ceiling"]);
    }
    let mut previous: Option<&HistoryFigures> = None;
    let rows: Vec<Vec<String>> = shown
        .iter()
        .map(|e| {
            let t = &e.total;
            let change = |now: f64, before: Option<f64>| match before {
                Some(b) if b > 0.0 => {
                    let pct = round((now - b) / b * 100.0, 1);
                    format!("{}{}%", if pct > 0.0 { "+" } else { "" }, pct)
                }
                _ => "-".to_owned(),
            };
            let mut row = vec![
                e.run_id.clone(),
                e.tag.clone().unwrap_or_default(),
                e.verdict.as_str().to_owned(),
                grouped(t.requests),
                short(t.rps),
                short(t.p50_ms),
                short(t.p95_ms),
                short(t.p99_ms),
                percent(t.error_rate),
                change(t.p95_ms, previous.map(|p| p.p95_ms)),
                change(t.rps, previous.map(|p| p.rps)),
            ];
            if knees {
                let users = |u: Option<u32>| u.map_or("none".to_owned(), |u| u.to_string());
                let knee = e.knee.as_ref();
                row.push(users(knee.and_then(|k| k.users)));
                row.push(users(knee.and_then(|k| k.ceiling_users)));
            }
            previous = Some(t);
            row
        })
        .collect();
    let mut out = table(&header, &rows, 3);
    let p95: Vec<f64> = shown.iter().map(|e| e.total.p95_ms).collect();
    let rps: Vec<f64> = shown.iter().map(|e| e.total.rps).collect();
    let _ = writeln!(out, "p95 trend  {}", sparkline(&p95));
    let _ = writeln!(out, "rps trend  {}", sparkline(&rps));
    let mut rules: Vec<&str> = shown
        .iter()
        .filter_map(|e| e.knee.as_ref().map(|k| k.rule.as_str()))
        .collect();
    rules.dedup();
    for rule in rules {
        let _ = writeln!(out, "knee by    {rule}");
    }
    out
}

fn sparkline(values: &[f64]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    values
        .iter()
        .map(|&v| {
            if hi > lo {
                BARS[(((v - lo) / (hi - lo)) * 7.0).round() as usize]
            } else {
                BARS[3]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::history::HistoryKnee;
    use crate::store::history::tests::entry;

    #[test]
    fn no_history_says_so() {
        assert_eq!(history_table(&[], 10), "no runs recorded yet\n");
    }

    #[test]
    fn golden_table_with_trends() {
        let entries = [
            entry(1, 10.0, 100.0),
            entry(2, 12.0, 95.0),
            entry(3, 30.0, 80.0),
        ];
        let want = "\
run               tag  verdict  requests  rps  p50 ms  p95 ms  p99 ms  errors  p95 vs prev  rps vs prev
20261121T101500Z       passed      1,000  100       5      10      20    0.1%            -            -
20261122T101500Z  fix  passed      2,000   95       6      12      24    0.1%         +20%          -5%
20261123T101500Z       passed      3,000   80      15      30      60    0.1%        +150%       -15.8%
p95 trend  ▁▂█
rps trend  █▆▁
";
        assert_eq!(history_table(&entries, 10), want);
    }

    #[test]
    fn capacity_runs_show_their_knee_ceiling_and_rule() {
        let knee = |users: Option<u32>, rule: &str| HistoryKnee {
            rule: rule.to_owned(),
            step: users.map(|_| 3),
            users,
            ceiling_users: users.map(|u| u * 4 / 5),
            reason: None,
            plateau_rps: Some(430.0),
        };
        let mut entries = [entry(1, 10.0, 100.0), entry(3, 30.0, 80.0)];
        entries[0].knee = Some(knee(Some(400), "your levels: p95 > 300 ms"));
        entries[1].knee = Some(knee(None, "your levels: p95 > 300 ms"));
        let text = history_table(&entries, 10);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].ends_with("knee users  ceiling"), "{text}");
        assert!(lines[1].ends_with("400      320"), "{text}");
        assert!(lines[2].ends_with("none     none"), "{text}");
        assert_eq!(lines[5], "knee by    your levels: p95 > 300 ms");
        assert_eq!(lines.len(), 6, "{text}");
    }
}
