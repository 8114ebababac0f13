//! The results store: one folder per scenario, locks, history, compare and report.

use std::path::Path;
use std::time::Duration;

use crate::*;

#[test]
fn a_second_run_of_the_same_scenario_is_refused_with_exit_3() {
    let out = tempfile::tempdir().expect("tempdir");
    let mut first = Cmd::run("smoke")
        .set(&["duration=60s"])
        .out(out.path())
        .run_id("first")
        .light()
        .start();
    first.wait_for_line("step 1/1 started", Duration::from_secs(20));
    let lock = std::fs::read_to_string(out.path().join("smoke/.lock")).expect("lock file");
    assert!(lock.contains(&format!("pid={}", first.pid())), "{lock}");

    let second = Cmd::run("smoke")
        .set(&["duration=1s"])
        .out(out.path())
        .run_id("second")
        .output();
    let (_, stderr) = exited(&second, 3);
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
    let output = Cmd::run("smoke")
        .set(&["duration=1s"])
        .out(out.path())
        .args(&["--tag", "nightly"])
        .light()
        .output();
    let (_, stderr) = exited(&output, 0);
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
    let entries = json_of(&history_json("smoke", out.path()));
    assert_eq!(entries[0]["tag"], "nightly");
    let missing = stampede(&["history", "smok", "--out", out_arg(out.path())]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(text(&missing.stderr).contains("scenarios with results: smoke"));
}

#[test]
fn compare_reads_two_stored_runs_and_report_rerenders_one() {
    let out = tempfile::tempdir().expect("tempdir");
    for tag in ["base", "next"] {
        let output = Cmd::run("smoke")
            .set(&["duration=1s", "users=2"])
            .args(&["--tag", tag])
            .out(out.path())
            .one_thread()
            .quiet()
            .output();
        exited(&output, 0);
    }
    let compare = |words: &[&str]| {
        Cmd::new(&["compare", "smoke"])
            .args(words)
            .out(out.path())
            .output()
    };
    let (stdout, _) = exited(&compare(&[]), 0);
    assert!(stdout.contains("p95"), "{stdout}");

    // A run compared with itself cannot have regressed, whatever the bound.
    let latest = run_dir_latest(out.path(), "smoke");
    let id = latest
        .file_name()
        .and_then(|n| n.to_str())
        .expect("run id")
        .to_owned();
    let output = compare(&[
        "--run",
        &id,
        "--baseline",
        &id,
        "--fail-on-regression",
        "0",
        "--output-format",
        "json",
    ]);
    exited(&output, 0);
    json_of(&output);

    exited(&compare(&["--baseline", "tag:base"]), 0);
    exited(&compare(&["--baseline", "tag:nope"]), 1);

    std::fs::remove_file(latest.join("report.html")).expect("remove report");
    exited(&stampede(&["report", out_arg(&latest)]), 0);
    assert!(latest.join("report.html").is_file());
}

const TINY: &str = "kind = \"smoke\"\nbase-url = \"builtin\"\nusers = 1\niterations = 3\n\n\
                    [[request]]\nname = \"health\"\npath = \"/health\"\n";

#[test]
fn a_scenario_under_a_folder_has_one_results_folder_for_every_command() {
    let root = tempfile::tempdir().expect("tempdir");
    let scenarios = root.path().join("scen");
    write_scenario(&scenarios, "plans/probe.toml", TINY);
    write_scenario(&scenarios, "probe.toml", TINY);
    let out = root.path().join("out");
    for name in ["plans/probe", "probe", "plans/probe"] {
        let output = Cmd::run(name)
            .args(&["--scenarios", out_arg(&scenarios)])
            .out(&out)
            .one_thread()
            .quiet()
            .output();
        exited(&output, 0);
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
        let output = Cmd::new(&["history", name, "--scenarios", out_arg(&scenarios)])
            .out(&out)
            .args(&["--output-format", "json"])
            .output();
        exited(&output, 0);
        let entries = json_of(&output);
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
    exited(&output, 0);
}

#[test]
fn two_files_with_one_stem_outside_the_scenarios_folder_are_not_mixed() {
    let root = tempfile::tempdir().expect("tempdir");
    let one = write_scenario(root.path(), "one/probe.toml", TINY);
    let two = write_scenario(root.path(), "two/probe.toml", TINY);
    let out = root.path().join("out");
    let run = |file: &Path| {
        Cmd::run(out_arg(file))
            .out(&out)
            .one_thread()
            .quiet()
            .output()
    };
    assert_eq!(run(&one).status.code(), Some(0));
    let (_, stderr) = exited(&run(&two), 1);
    assert!(
        stderr.contains("holds the runs of") && stderr.contains("one/probe.toml"),
        "{stderr}"
    );
    assert!(stderr.contains("hint: "), "{stderr}");
}

#[test]
fn a_run_id_is_one_safe_folder_and_never_reused() {
    let root = tempfile::tempdir().expect("tempdir");
    let scenario = write_scenario(root.path(), "probe.toml", TINY);
    let out = root.path().join("results");
    for bad in ["../../../escaped", "/abs", ""] {
        let output = Cmd::run(out_arg(&scenario)).out(&out).run_id(bad).output();
        let (_, stderr) = exited(&output, 1);
        assert!(stderr.contains("cannot be a run id"), "{stderr}");
    }
    assert!(!root.path().join("escaped").exists());
    let again = |id: &str| {
        Cmd::run(out_arg(&scenario))
            .out(&out)
            .run_id(id)
            .quiet()
            .output()
    };
    assert_eq!(again("nightly-1").status.code(), Some(0));
    let (_, stderr) = exited(&again("nightly-1"), 1);
    assert!(stderr.contains("already exists"), "{stderr}");
}

/// `stampede report` on a run folder rebuilds every file from the run record alone, byte for
/// byte, for a run of each shipped kind.
#[test]
fn report_rebuilds_every_file_of_every_kind_from_the_record() {
    let out = tempfile::tempdir().expect("tempdir");
    let smoke: &[(&str, &[&str])] = &[("smoke", &["duration=1s", "users=2"])];
    for (kind, overrides) in smoke.iter().chain(SHRUNK_KINDS) {
        run_shrunk(kind, overrides, out.path());
        let written = assert_report_rebuilds(&run_dir(out.path(), kind), kind);
        assert_eq!(
            written.len(),
            7,
            "{kind}: {:?}",
            written.iter().map(|f| &f.0).collect::<Vec<_>>()
        );
    }
}

#[test]
fn a_soak_killed_with_sigkill_leaves_a_record_that_report_turns_into_results() {
    let out = tempfile::tempdir().expect("tempdir");
    let mut run = Cmd::run("soak")
        .set(&["duration=60s", "ramp=0s", "interval=1s"])
        .out(out.path())
        .run_id("killed")
        .light()
        .start();
    // Two bucket rows: at least two intervals are in the record.
    run.wait_for_line("seq=1 ", Duration::from_secs(30));
    run.kill();
    let (status, _, _) = run.finish(Duration::from_secs(10));
    assert_eq!(status.code(), None, "killed by a signal");
    let dir = out.path().join("soak/killed");
    assert!(!dir.join("summary.json").exists());
    assert!(dir.join("record.jsonl").is_file());

    let (stdout, _) = exited(&stampede(&["report", out_arg(&dir)]), 0);
    assert!(stdout.contains("INTERRUPTED"), "{stdout}");
    let summary = summary_of(&dir);
    assert_eq!(summary["verdict"], "interrupted");
    assert!(summary["total"]["requests"].as_u64().expect("requests") > 0);
    let debris = debris(&dir);
    assert!(debris.is_empty(), "{debris:?}");
    for file in ["steps.csv", "timeseries.csv", "report.html", "summary.md"] {
        assert!(dir.join(file).is_file(), "{file}");
    }
}
