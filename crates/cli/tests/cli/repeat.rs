//! `stampede run NAME --repeat N`: N normal runs recorded as one group, one summary of their
//! spread read from their summaries, the worst exit code, and a signal that stops the rest;
//! and `kind = "stages"` run end to end, one row per stage.

use std::path::Path;
use std::time::Duration;

use crate::*;

fn repeat_smoke(out: &Path, extra: &[&str]) -> Output {
    Cmd::run("smoke")
        .set(&["duration=1s"])
        .out(out)
        .args(&["--repeat", "3", "--repeat-cooldown", "100ms"])
        .run_id("r")
        .quiet()
        .light()
        .args(extra)
        .output()
}

#[test]
fn a_repeat_runs_n_times_as_one_group_and_reports_the_spread_of_their_summaries() {
    let out = tempfile::tempdir().expect("tempdir");
    let output = repeat_smoke(out.path(), &["--output-format", "json"]);
    exited(&output, 0);
    let report = json_of(&output);

    let dirs = run_dirs(out.path(), "smoke");
    let names: Vec<String> = dirs
        .iter()
        .map(|d| d.file_name().expect("name").to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["r-1", "r-2", "r-3"]);
    let summaries: Vec<serde_json::Value> = dirs.iter().map(|d| summary_of(d)).collect();
    let group = &report["group"];
    for (i, summary) in summaries.iter().enumerate() {
        assert_eq!(&summary["repeat"]["group"], group, "{summary}");
        assert_eq!(summary["repeat"]["run"], i + 1);
        assert_eq!(summary["repeat"]["of"], 3);
    }
    // History has a line per run, all of one group.
    let history = std::fs::read_to_string(out.path().join("smoke/history.jsonl")).expect("history");
    let lines: Vec<serde_json::Value> = history
        .lines()
        .map(|l| serde_json::from_str(l).expect("a history line"))
        .collect();
    assert_eq!(lines.len(), 3);
    assert!(
        lines.iter().all(|l| &l["repeat"]["group"] == group),
        "{history}"
    );

    // Each run's headline figures are its summary's, and the spread is taken over them.
    let runs = report["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 3);
    for (run, summary) in runs.iter().zip(&summaries) {
        assert_eq!(run["run_id"], summary["run_id"]);
        assert_eq!(run["p95_ms"], summary["total"]["latency_ms"]["p95"]);
        assert_eq!(run["rps"], summary["total"]["rps"]);
        assert_eq!(run["error_rate"], summary["total"]["error_rate"]);
    }
    for figure in ["p95_ms", "rps", "error_rate"] {
        let mut values: Vec<f64> = runs
            .iter()
            .map(|r| r[figure].as_f64().expect("a figure"))
            .collect();
        values.sort_by(f64::total_cmp);
        let spread = &report["spread"][figure];
        assert_eq!(spread["min"].as_f64(), Some(values[0]), "{figure}");
        assert_eq!(spread["median"].as_f64(), Some(values[1]), "{figure}");
        assert_eq!(spread["max"].as_f64(), Some(values[2]), "{figure}");
    }

    let table = stampede(&["history", "smoke", "--out", out_arg(out.path())]);
    let said = text(&table.stdout);
    for i in 1..=3 {
        assert!(said.contains(&format!("r-{i} ({i}/3)")), "{said}");
    }
}

#[test]
fn a_repeat_exits_with_its_worst_run_and_says_so_in_text() {
    let out = tempfile::tempdir().expect("tempdir");
    // No request fails, so a threshold asking for failures fails every run.
    let output = repeat_smoke(out.path(), &["--set", "thresholds.error-rate=\"> 50%\""]);
    let (stdout, _) = exited(&output, 99);
    assert_eq!(run_dirs(out.path(), "smoke").len(), 3);
    assert!(stdout.contains(": 3 of 3 runs of smoke"), "{stdout}");
    assert!(stdout.contains("spread (min / median / max)"), "{stdout}");
    let failed = stdout
        .lines()
        .filter(|l| l.starts_with("  r-") && l.contains(" failed "))
        .count();
    assert_eq!(failed, 3, "{stdout}");
}

#[test]
fn a_capacity_repeat_spreads_the_knee_and_safe_ceiling_of_its_summaries() {
    let out = tempfile::tempdir().expect("tempdir");
    let output = Cmd::run("capacity")
        .out(out.path())
        .args(&[
            "--repeat",
            "2",
            "--repeat-cooldown",
            "0s",
            "--output-format",
            "json",
        ])
        .one_thread()
        .quiet()
        // A level every step crosses: the knee is found in every run.
        .set(&[
            "hold=1s",
            "ramp=0s",
            "warmup=0s",
            "cooldown=0s",
            "users=[2, 4]",
            "knee={ p95 = \"> 0.001ms\" }",
        ])
        .output();
    completed(&output);
    let report = json_of(&output);
    let dirs = run_dirs(out.path(), "capacity");
    assert_eq!(dirs.len(), 2);
    for figure in ["users", "ceiling_users"] {
        let mut values: Vec<u64> = dirs
            .iter()
            .map(|d| {
                summary_of(d)["analysis"]["knee"][figure]
                    .as_u64()
                    .expect("a knee")
            })
            .collect();
        values.sort_unstable();
        let key = if figure == "users" {
            "knee_users"
        } else {
            figure
        };
        let spread = &report["spread"][key];
        assert_eq!(spread["min"].as_f64(), Some(values[0] as f64), "{report}");
        assert_eq!(spread["max"].as_f64(), Some(values[1] as f64), "{report}");
    }
}

#[test]
fn a_signal_stops_the_run_under_way_and_the_repeats_still_to_come() {
    let out = tempfile::tempdir().expect("tempdir");
    let mut run = Cmd::run("smoke")
        .set(&["duration=60s", "interval=200ms"])
        .out(out.path())
        .args(&["--repeat", "3"])
        .light()
        .start();
    run.wait_for_line(" interval ", Duration::from_secs(20));
    run.signal("INT");
    let (status, stderr, stdout) = run.finish(Duration::from_secs(20));
    assert_eq!(status.code(), Some(105), "{stderr}");
    assert_eq!(run_dirs(out.path(), "smoke").len(), 1, "{stderr}");
    assert!(stdout.contains(": 1 of 3 runs of smoke"), "{stdout}");
    assert!(!stderr.contains("repeat 2 of 3"), "{stderr}");
}

/// Plan 002's k6 stages, shrunk: a step per stage, ramping from the stage before, with a row
/// each in steps.csv, and every file rebuilt by `report` from the record.
#[test]
fn stages_run_a_step_each_and_replay_byte_for_byte() {
    let out = tempfile::tempdir().expect("tempdir");
    let output = Cmd::run("scenarios/plans/002-api-k6-stages.toml")
        .set(&["stage=[{target=3, duration=\"1s\"}, {target=5, duration=\"1s\"}, {target=0, duration=\"500ms\"}]"])
        .out(out.path())
        .quiet()
        .one_thread()
        .output();
    completed(&output);
    let dir = run_dir(out.path(), "plans/002-api-k6-stages");
    let summary = summary_of(&dir);
    assert_eq!(summary["kind"], "stages");
    let steps = summary["steps"].as_array().expect("steps");
    let labels: Vec<&str> = steps
        .iter()
        .map(|s| s["label"].as_str().expect("label"))
        .collect();
    assert_eq!(labels, ["0 -> 3 users", "3 -> 5 users", "5 -> 0 users"]);
    let peaks: Vec<u64> = steps
        .iter()
        .map(|s| s["peak_users"].as_u64().expect("peak users"))
        .collect();
    assert!(peaks[0] <= 3 && peaks[1] <= 5 && peaks[2] <= 5, "{peaks:?}");
    // The second stage starts with the first one's users: never from zero.
    assert!(peaks[1] > 0 && peaks[2] > 0, "{peaks:?}");
    let csv = std::fs::read_to_string(dir.join("steps.csv")).expect("steps.csv");
    assert_eq!(
        csv.lines().filter(|l| l.contains(",Aggregated,")).count(),
        3,
        "{csv}"
    );

    let replayed = assert_report_rebuilds(&dir, "stages");
    for name in ["steps.csv", "summary.json"] {
        assert!(replayed.iter().any(|(f, _)| f == name), "{name} replayed");
    }
}
