//! The results store: one folder per scenario, locks, history, compare and report.

use std::path::Path;
use std::time::Duration;

use crate::*;

#[test]
fn a_second_run_of_the_same_scenario_is_refused_with_exit_3() {
    let out = tempfile::tempdir().expect("tempdir");
    let mut args = vec![
        "run",
        "smoke",
        "--set",
        "duration=60s",
        "--out",
        out_arg(out.path()),
        "--run-id",
        "first",
    ];
    args.extend(LIGHT);
    let mut first = Running::start(&args);
    first.wait_for_line("step 1/1 started", Duration::from_secs(20));
    let lock = std::fs::read_to_string(out.path().join("smoke/.lock")).expect("lock file");
    assert!(lock.contains(&format!("pid={}", first.pid())), "{lock}");

    let second = stampede(&[
        "run",
        "smoke",
        "--set",
        "duration=1s",
        "--out",
        out_arg(out.path()),
        "--run-id",
        "second",
    ]);
    let stderr = text(&second.stderr);
    assert_eq!(second.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "another run of `smoke` is in progress (PID {}, run first",
            first.pid()
        )),
        "{stderr}"
    );
    assert!(second.stdout.is_empty());
    assert!(
        !out.path().join("smoke/second").exists(),
        "never interleaved"
    );

    first.terminate();
    let (status, stderr, _) = first.finish(Duration::from_secs(20));
    assert_eq!(status.code(), Some(105), "{stderr}");
    // A clean end empties the lock file, so the next run takes no stale lock over.
    let lock = std::fs::read_to_string(out.path().join("smoke/.lock")).expect("lock file");
    assert_eq!(lock, "");
}

#[test]
fn a_stale_lock_is_taken_over_and_history_shows_the_tag() {
    let out = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(out.path().join("smoke")).expect("mkdir");
    std::fs::write(
        out.path().join("smoke/.lock"),
        "pid=999999\nrun-id=killed\nstarted=2026-01-01T03:00:00Z\n",
    )
    .expect("write lock");
    let mut args = vec![
        "run",
        "smoke",
        "--set",
        "duration=1s",
        "--out",
        out_arg(out.path()),
        "--tag",
        "nightly",
    ];
    args.extend(LIGHT);
    let output = stampede(&args);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(
            "took over the lock of a run that ended without releasing it (PID 999999, run killed"
        ),
        "{stderr}"
    );

    let history = stampede(&["history", "smoke", "--out", out_arg(out.path())]);
    assert_eq!(history.status.code(), Some(0));
    assert!(
        text(&history.stdout).contains("nightly"),
        "{}",
        text(&history.stdout)
    );
    let json = stampede(&[
        "history",
        "smoke",
        "--out",
        out_arg(out.path()),
        "--output-format",
        "json",
    ]);
    let entries: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
    assert_eq!(entries[0]["tag"], "nightly");
    let missing = stampede(&["history", "smok", "--out", out_arg(out.path())]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(text(&missing.stderr).contains("scenarios with results: smoke"));
}

#[test]
fn compare_reads_two_stored_runs_and_report_rerenders_one() {
    let out = tempfile::tempdir().expect("tempdir");
    for tag in ["base", "next"] {
        let output = stampede(&[
            "run",
            "smoke",
            "--set",
            "duration=1s",
            "--set",
            "users=2",
            "--tag",
            tag,
            "--out",
            out_arg(out.path()),
            "--threads",
            "1",
            "-q",
        ]);
        assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    }
    let output = stampede(&["compare", "smoke", "--out", out_arg(out.path())]);
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(stdout.contains("p95"), "{stdout}");

    // A run compared with itself cannot have regressed, whatever the bound.
    let latest = run_dir_latest(out.path(), "smoke");
    let id = latest
        .file_name()
        .and_then(|n| n.to_str())
        .expect("run id")
        .to_owned();
    let output = stampede(&[
        "compare",
        "smoke",
        "--run",
        &id,
        "--baseline",
        &id,
        "--fail-on-regression",
        "0",
        "--out",
        out_arg(out.path()),
        "--output-format",
        "json",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    serde_json::from_slice::<serde_json::Value>(&output.stdout).expect("compare json");

    let output = stampede(&[
        "compare",
        "smoke",
        "--baseline",
        "tag:base",
        "--out",
        out_arg(out.path()),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let output = stampede(&[
        "compare",
        "smoke",
        "--baseline",
        "tag:nope",
        "--out",
        out_arg(out.path()),
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));

    std::fs::remove_file(latest.join("report.html")).expect("remove report");
    let output = stampede(&["report", latest.to_str().expect("utf-8")]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(latest.join("report.html").is_file());
}

/// Writes `text` to `dir/name`, creating folders.
fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(&path, text).expect("write scenario");
    path
}

const TINY: &str = "kind = \"smoke\"\nbase-url = \"builtin\"\nusers = 1\niterations = 3\n\n\
                    [[request]]\nname = \"health\"\npath = \"/health\"\n";

#[test]
fn a_scenario_under_a_folder_has_one_results_folder_for_every_command() {
    let root = tempfile::tempdir().expect("tempdir");
    let scenarios = root.path().join("scen");
    write(&scenarios, "plans/probe.toml", TINY);
    write(&scenarios, "probe.toml", TINY);
    let out = root.path().join("out");
    for name in ["plans/probe", "probe", "plans/probe"] {
        let output = stampede(&[
            "run",
            name,
            "--scenarios",
            out_arg(&scenarios),
            "--out",
            out_arg(&out),
            "--threads",
            "1",
            "-q",
        ]);
        assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    }
    let runs = |key: &str| {
        std::fs::read_dir(out.join(key))
            .expect("results folder")
            .filter(|e| e.as_ref().expect("entry").path().is_dir())
            .count()
    };
    // plans/probe holds its two runs; probe its one (and no other scenario's runs).
    assert_eq!(runs("plans/probe"), 2);
    assert_eq!(runs("probe"), 1, "probe's own run, none of plans/probe's");
    let by_path = scenarios.join("plans/probe.toml");
    for name in ["plans/probe", out_arg(&by_path)] {
        let output = stampede(&[
            "history",
            name,
            "--scenarios",
            out_arg(&scenarios),
            "--out",
            out_arg(&out),
            "--output-format",
            "json",
        ]);
        assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
        let entries: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
        assert_eq!(entries.as_array().expect("array").len(), 2, "{name}");
    }
    let output = stampede(&[
        "compare",
        "plans/probe",
        "--scenarios",
        out_arg(&scenarios),
        "--out",
        out_arg(&out),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
}

#[test]
fn two_files_with_one_stem_outside_the_scenarios_folder_are_not_mixed() {
    let root = tempfile::tempdir().expect("tempdir");
    let one = write(root.path(), "one/probe.toml", TINY);
    let two = write(root.path(), "two/probe.toml", TINY);
    let out = root.path().join("out");
    let run = |file: &Path| {
        stampede(&[
            "run",
            out_arg(file),
            "--out",
            out_arg(&out),
            "--threads",
            "1",
            "-q",
        ])
    };
    assert_eq!(run(&one).status.code(), Some(0));
    let refused = run(&two);
    let stderr = text(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("holds the runs of") && stderr.contains("one/probe.toml"),
        "{stderr}"
    );
    assert!(stderr.contains("hint: "), "{stderr}");
}

#[test]
fn a_run_id_is_one_safe_folder_and_never_reused() {
    let root = tempfile::tempdir().expect("tempdir");
    let scenario = write(root.path(), "probe.toml", TINY);
    let out = root.path().join("results");
    for bad in ["../../../escaped", "/abs", ""] {
        let output = stampede(&[
            "run",
            out_arg(&scenario),
            "--out",
            out_arg(&out),
            "--run-id",
            bad,
        ]);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{bad:?}: {stderr}");
        assert!(stderr.contains("cannot be a run id"), "{stderr}");
    }
    assert!(!root.path().join("escaped").exists());
    let again = |id: &str| {
        stampede(&[
            "run",
            out_arg(&scenario),
            "--out",
            out_arg(&out),
            "--run-id",
            id,
            "-q",
        ])
    };
    assert_eq!(again("nightly-1").status.code(), Some(0));
    let second = again("nightly-1");
    let stderr = text(&second.stderr);
    assert_eq!(second.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("already exists"), "{stderr}");
}

/// Every file of a run folder but its record, as bytes.
pub(crate) fn files_of(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .expect("run folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.file_name().is_some_and(|n| n != "record.jsonl"))
        .map(|p| {
            let name = p.file_name().expect("name").to_string_lossy().into_owned();
            (name, std::fs::read(&p).expect("read"))
        })
        .collect();
    files.sort();
    files
}

/// `stampede report` on a run folder rebuilds every file from the run record alone, byte for
/// byte, for a run of each shipped kind.
#[test]
fn report_rebuilds_every_file_of_every_kind_from_the_record() {
    let out = tempfile::tempdir().expect("tempdir");
    let shrink: &[(&str, &[&str])] = &[
        ("smoke", &["duration=1s", "users=2"]),
        (
            "capacity",
            &[
                "hold=1s",
                "ramp=0s",
                "warmup=0s",
                "cooldown=200ms",
                "users=[2, 4]",
            ],
        ),
        (
            "throughput",
            &["hold=1s", "warmup=0s", "cooldown=200ms", "rates=[20, 40]"],
        ),
        ("burst", &["before=500ms", "burst-for=1s", "after=500ms"]),
        ("soak", &["duration=2s", "ramp=0s", "interval=1s"]),
    ];
    for (kind, sets) in shrink {
        let mut args = vec![
            "run",
            kind,
            "--out",
            out_arg(out.path()),
            "--threads",
            "1",
            "-q",
        ];
        for set in *sets {
            args.extend(["--set", set]);
        }
        let output = stampede(&args);
        assert!(
            matches!(output.status.code(), Some(0 | 99)),
            "{kind}: {}",
            text(&output.stderr)
        );
        let dir = run_dir(out.path(), kind);
        let written = files_of(&dir);
        assert_eq!(
            written.len(),
            7,
            "{kind}: {:?}",
            written.iter().map(|f| &f.0).collect::<Vec<_>>()
        );
        for (name, _) in &written {
            std::fs::remove_file(dir.join(name)).expect("remove");
        }
        let output = stampede(&["report", out_arg(&dir)]);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{kind}: {}",
            text(&output.stderr)
        );
        let rebuilt = files_of(&dir);
        assert_eq!(rebuilt.len(), written.len(), "{kind}");
        for ((name, want), (_, got)) in written.iter().zip(&rebuilt) {
            assert!(want == got, "{kind}: {name} differs after report");
        }
    }
}

#[test]
fn a_soak_killed_with_sigkill_leaves_a_record_that_report_turns_into_results() {
    let out = tempfile::tempdir().expect("tempdir");
    let mut args = vec![
        "run",
        "soak",
        "--set",
        "duration=60s",
        "--set",
        "ramp=0s",
        "--set",
        "interval=1s",
        "--out",
        out_arg(out.path()),
        "--run-id",
        "killed",
    ];
    args.extend(LIGHT);
    let mut run = Running::start(&args);
    // Two bucket rows: at least two intervals are in the record.
    run.wait_for_line("seq=1 ", Duration::from_secs(30));
    run.kill();
    let (status, _, _) = run.finish(Duration::from_secs(10));
    assert_eq!(status.code(), None, "killed by a signal");
    let dir = out.path().join("soak/killed");
    assert!(!dir.join("summary.json").exists());
    assert!(dir.join("record.jsonl").is_file());

    let output = stampede(&["report", out_arg(&dir)]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(
        text(&output.stdout).contains("INTERRUPTED"),
        "{}",
        text(&output.stdout)
    );
    let summary = summary_of(&dir);
    assert_eq!(summary["verdict"], "interrupted");
    assert!(summary["total"]["requests"].as_u64().expect("requests") > 0);
    let debris: Vec<String> = std::fs::read_dir(&dir)
        .expect("run folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(debris.is_empty(), "{debris:?}");
    for file in ["steps.csv", "timeseries.csv", "report.html", "summary.md"] {
        assert!(dir.join(file).is_file(), "{file}");
    }
}
