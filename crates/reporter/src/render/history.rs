//! `stampede history`: a scenario's runs as a table with trends, from history.jsonl.

use std::fmt::Write as _;

use stampede_metrics::format::{grouped, percent, round, short};

use crate::render::text::table;
use crate::store::history::{HistoryEntry, HistoryFigures, HistoryKnee};
use crate::summary::Fingerprint;

/// The last `limit` runs, oldest first so a trend reads left to right. By default one table per
/// configuration (fingerprint), so a trend never mixes runs that are not comparable; `all`
/// mixes them in one table. Each run's change in p95 and RPS is over the one before it in its
/// table, with sparklines of both; a last line says how many runs `limit` left out.
pub fn history_table(entries: &[HistoryEntry], limit: usize, all: bool) -> String {
    let shown = &entries[entries.len().saturating_sub(limit)..];
    if shown.is_empty() {
        return "no runs recorded yet\n".to_owned();
    }
    let groups: Vec<Vec<&HistoryEntry>> = if all {
        vec![shown.iter().collect()]
    } else {
        by_configuration(shown)
    };
    let mut out = String::new();
    for (n, group) in groups.iter().enumerate() {
        if !all {
            if n > 0 {
                out.push('\n');
            }
            let config = group[0].fingerprint.as_ref().map_or_else(
                || "not recorded (runs of an older stampede)".to_owned(),
                Fingerprint::describe,
            );
            let _ = writeln!(out, "configuration {} of {}: {config}", n + 1, groups.len());
        }
        out.push_str(&group_table(group));
    }
    if shown.len() < entries.len() {
        let _ = writeln!(out, "{} of {} shown; --limit N", shown.len(), entries.len());
    }
    out
}

/// Runs grouped by equal fingerprints, each group in run order, the group of the latest run
/// last (nearest the prompt).
fn by_configuration(shown: &[HistoryEntry]) -> Vec<Vec<&HistoryEntry>> {
    let mut groups: Vec<Vec<&HistoryEntry>> = Vec::new();
    for entry in shown {
        match groups
            .iter_mut()
            .find(|g| g[0].fingerprint == entry.fingerprint)
        {
            Some(group) => group.push(entry),
            None => groups.push(vec![entry]),
        }
    }
    groups.sort_by_key(|g| {
        let last = g.last().expect("groups are never empty");
        shown.iter().position(|e| std::ptr::eq(e, *last))
    });
    groups
}

/// One table: a row per run, trends within the table.
fn group_table(shown: &[&HistoryEntry]) -> String {
    // A capacity scenario's runs show their knee and ceiling; other kinds have none to show.
    let knees = shown.iter().any(|e| e.knee.is_some());
    let mut header = vec![
        "run",
        "tag",
        "verdict",
        "target",
        "overrides",
        "users/rate",
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
            let fingerprint = e.fingerprint.as_ref();
            let run = match &e.repeat {
                Some(r) => format!("{} ({}/{})", e.run_id, r.run, r.of),
                None => e.run_id.clone(),
            };
            let mut row = vec![
                run,
                e.tag.clone().unwrap_or_default(),
                e.verdict.as_str().to_owned(),
                fingerprint.map_or("-".to_owned(), |f| f.target.clone()),
                overrides(fingerprint),
                // An open-model run is defined by its rate; its users are only a pool cap.
                t.rate_per_s
                    .map_or_else(|| t.users.to_string(), |r| format!("{}/s", short(r))),
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
    // The first five columns are words, left-aligned; the figures right-aligned.
    let mut out = table(&header, &rows, 5);
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

/// A run's overrides in a cell: `-` for none or unrecorded.
fn overrides(fingerprint: Option<&Fingerprint>) -> String {
    match fingerprint {
        Some(f) if !f.overrides.is_empty() => f.overrides.join(" "),
        _ => "-".to_owned(),
    }
}

/// The shown runs as CSV, a row per run, for a spreadsheet.
pub fn history_csv(entries: &[HistoryEntry]) -> String {
    let mut csv = csv::Writer::from_writer(Vec::new());
    let header = [
        "run_id",
        "tag",
        "started_at",
        "verdict",
        "users",
        "rate_per_s",
        "target",
        "overrides",
        "scenario_sha256",
        "threads",
        "version",
        "host",
        "cpus",
        "requests",
        "rps",
        "p50_ms",
        "p95_ms",
        "p99_ms",
        "error_rate",
        "knee_users",
        "ceiling_users",
    ];
    // Writing to memory fails only on a row with another number of fields than the header: a
    // bug here, never the data's fault.
    csv.write_record(header).expect("the header is one record");
    for e in entries {
        let f = e.fingerprint.as_ref();
        let text = |pick: fn(&Fingerprint) -> String| f.map(pick).unwrap_or_default();
        let knee = |pick: fn(&HistoryKnee) -> Option<u32>| {
            e.knee
                .as_ref()
                .and_then(pick)
                .map_or(String::new(), |u| u.to_string())
        };
        let t = &e.total;
        csv.write_record([
            e.run_id.clone(),
            e.tag.clone().unwrap_or_default(),
            e.started_at.clone(),
            e.verdict.as_str().to_owned(),
            t.users.to_string(),
            t.rate_per_s.map_or(String::new(), |r| r.to_string()),
            text(|f| f.target.clone()),
            text(|f| f.overrides.join(" ")),
            text(|f| f.scenario_sha256.clone()),
            text(|f| f.threads.to_string()),
            text(|f| f.version.clone()),
            text(|f| f.host.clone()),
            text(|f| f.cpus.to_string()),
            t.requests.to_string(),
            t.rps.to_string(),
            t.p50_ms.to_string(),
            t.p95_ms.to_string(),
            t.p99_ms.to_string(),
            t.error_rate.to_string(),
            knee(|k| k.users),
            knee(|k| k.ceiling_users),
        ])
        .expect("a row has the header's fields");
    }
    let bytes = csv.into_inner().unwrap_or_default();
    String::from_utf8(bytes).unwrap_or_default()
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
    use crate::store::history::tests::entry;

    fn config(target: &str, overrides: &[&str]) -> Option<Fingerprint> {
        Some(Fingerprint {
            scenario_sha256: "3f2a9c1b00".to_owned(),
            overrides: overrides.iter().map(|o| (*o).to_owned()).collect(),
            target: target.to_owned(),
            threads: 1,
            version: "0.1.0".to_owned(),
            host: "ci-7".to_owned(),
            cpus: 2,
        })
    }

    #[test]
    fn no_history_says_so() {
        assert_eq!(history_table(&[], 10, false), "no runs recorded yet\n");
    }

    #[test]
    fn golden_table_with_trends() {
        let entries = [
            entry(1, 10.0, 100.0),
            entry(2, 12.0, 95.0),
            entry(3, 30.0, 80.0),
        ];
        let want = "\
run               tag  verdict  target  overrides  users/rate  requests  rps  p50 ms  p95 ms  p99 ms  errors  p95 vs prev  rps vs prev
20261121T101500Z       passed   -       -                  10     1,000  100       5      10      20    0.1%            -            -
20261122T101500Z  fix  passed   -       -                  10     2,000   95       6      12      24    0.1%         +20%          -5%
20261123T101500Z       passed   -       -                  10     3,000   80      15      30      60    0.1%        +150%       -15.8%
p95 trend  ▁▂█
rps trend  █▆▁
";
        assert_eq!(history_table(&entries, 10, true), want);
    }

    #[test]
    fn runs_are_grouped_by_configuration_and_trends_stay_inside_one() {
        let mut entries = [
            entry(1, 10.0, 100.0),
            entry(2, 100.0, 5.0),
            entry(3, 11.0, 110.0),
            entry(4, 12.0, 90.0),
        ];
        entries[0].fingerprint = config("builtin", &[]);
        entries[1].fingerprint = config("http://127.0.0.1:9", &["--set users=3"]);
        entries[2].fingerprint = config("builtin", &[]);
        entries[3].fingerprint = config("builtin", &[]);
        let text = history_table(&entries, 10, false);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "configuration 1 of 2: target http://127.0.0.1:9, 1 thread, --set users=3, \
             stampede 0.1.0 on ci-7 (2 CPUs), scenario 3f2a9c1b"
        );
        assert!(lines[2].contains("--set users=3"), "{text}");
        // The builtin runs' trend skips the other configuration's run between them: +10%, not
        // the -89% a mixed table would show.
        assert_eq!(
            lines[6],
            "configuration 2 of 2: target builtin, 1 thread, no overrides, stampede 0.1.0 on \
             ci-7 (2 CPUs), scenario 3f2a9c1b"
        );
        assert!(lines[9].contains(" +10% "), "{text}");
        assert!(lines[10].contains(" +9.1% "), "{text}");
        assert_eq!(text.matches("configuration").count(), 2);
        let mixed = history_table(&entries, 10, true);
        assert!(!mixed.contains("configuration"), "{mixed}");
        assert!(mixed.lines().nth(3).unwrap().contains(" -89% "), "{mixed}");
    }

    #[test]
    fn the_runs_of_a_repeat_say_which_run_of_how_many_they_are() {
        let mut entries = [
            entry(1, 10.0, 100.0),
            entry(2, 11.0, 99.0),
            entry(3, 9.0, 98.0),
        ];
        for (i, e) in entries.iter_mut().enumerate().skip(1) {
            e.repeat = Some(crate::summary::Repeat {
                group: "repeat-1".to_owned(),
                run: i as u32,
                of: 2,
            });
        }
        let text = history_table(&entries, 10, true);
        let rows: Vec<&str> = text.lines().skip(1).take(3).collect();
        assert!(rows[0].starts_with("20261121T101500Z "), "{text}");
        assert!(rows[1].starts_with("20261122T101500Z (1/2) "), "{text}");
        assert!(rows[2].starts_with("20261123T101500Z (2/2) "), "{text}");
    }

    #[test]
    fn the_rows_left_out_are_counted() {
        let entries: Vec<HistoryEntry> = (1..=5).map(|n| entry(n, 10.0, 100.0)).collect();
        let text = history_table(&entries, 2, false);
        assert!(text.ends_with("2 of 5 shown; --limit N\n"), "{text}");
        assert_eq!(text.matches("passed").count(), 2, "{text}");
        assert!(!history_table(&entries, 5, false).contains("shown;"));
    }

    #[test]
    fn csv_has_a_row_per_run_with_its_configuration() {
        let mut entries = [entry(1, 10.0, 100.0), entry(2, 12.0, 95.0)];
        entries[1].fingerprint = config("builtin", &["--set users=3"]);
        let csv = history_csv(&entries);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 3, "{csv}");
        assert!(lines[0].starts_with("run_id,tag,started_at,verdict,users,rate_per_s,target"));
        assert_eq!(
            lines[2],
            "20261122T101500Z,fix,2026-11-23T10:15:00Z,passed,10,,builtin,--set users=3,\
             3f2a9c1b00,1,0.1.0,ci-7,2,2000,95,6,12,24,0.001,,"
        );
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
        let text = history_table(&entries, 10, true);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].ends_with("knee users  ceiling"), "{text}");
        assert!(lines[1].ends_with("400      320"), "{text}");
        assert!(lines[2].ends_with("none     none"), "{text}");
        assert_eq!(lines[5], "knee by    your levels: p95 > 300 ms");
        assert_eq!(lines.len(), 6, "{text}");
    }

    #[test]
    fn an_open_model_run_shows_its_rate_not_its_pool_of_users() {
        let mut entries = [entry(1, 10.0, 100.0)];
        entries[0].total.rate_per_s = Some(200.0);
        entries[0].total.users = 1000;
        let text = history_table(&entries, 10, true);
        let row = text.lines().nth(1).unwrap();
        assert!(row.contains(" 200/s ") && !row.contains("1000"), "{text}");
        assert!(
            history_csv(&entries)
                .lines()
                .nth(1)
                .unwrap()
                .contains(",1000,200,")
        );
    }
}
