//! Signals in every phase of a run, and what each leaves behind.

use std::path::Path;
use std::time::Duration;

use crate::*;

#[test]
fn sigterm_writes_partial_results_and_exits_105() {
    let out = tempfile::tempdir().expect("tempdir");
    let mut args = vec![
        "run",
        "smoke",
        "--set",
        "duration=60s",
        "--set",
        "interval=200ms",
        "--out",
        out_arg(out.path()),
        "--run-id",
        "stopped",
    ];
    args.extend(LIGHT);
    let mut run = Running::start(&args);
    run.wait_for_line(" interval ", Duration::from_secs(20));
    run.terminate();
    let (status, stderr, stdout) = run.finish(Duration::from_secs(20));
    assert_eq!(status.code(), Some(105), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(stdout.contains("INTERRUPTED"), "{stdout}");
    let summary = summary_of(&out.path().join("smoke/stopped"));
    assert_eq!(summary["verdict"], "interrupted");
    let step = &summary["steps"][0];
    assert_eq!(step["cut_short"], true, "{step}");
    assert!(step["requests"].as_u64().expect("requests") > 0, "{step}");
    assert!(summary["elapsed_s"].as_f64().expect("elapsed") < 30.0);
}

/// The names of the files in `dir` that a clean exit must not leave: temporaries.
fn debris(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".tmp"))
                .collect()
        })
        .unwrap_or_default()
}

fn long_smoke(out: &Path, run_id: &'static str) -> Vec<String> {
    let mut args: Vec<String> = [
        "run",
        "smoke",
        "--set",
        "duration=60s",
        "--set",
        "interval=200ms",
        "--out",
        out_arg(out),
        "--run-id",
        run_id,
    ]
    .map(String::from)
    .into();
    args.extend(LIGHT.iter().map(|s| s.to_string()));
    args
}

#[test]
fn sighup_is_obeyed_like_sigterm() {
    let out = tempfile::tempdir().expect("tempdir");
    let args = long_smoke(out.path(), "hup");
    let mut run = Running::start(&args.iter().map(String::as_str).collect::<Vec<_>>());
    run.wait_for_line(" interval ", Duration::from_secs(20));
    run.signal("HUP");
    let (status, stderr, _) = run.finish(Duration::from_secs(20));
    assert_eq!(status.code(), Some(105), "{stderr}");
    assert!(stderr.contains("SIGHUP"), "{stderr}");
    assert_eq!(
        summary_of(&out.path().join("smoke/hup"))["verdict"],
        "interrupted"
    );
}

#[test]
fn a_second_signal_exits_130_and_leaves_no_debris_and_no_held_lock() {
    let out = tempfile::tempdir().expect("tempdir");
    // Requests that take 20 s and a long grace: the second signal lands while the first is
    // still being obeyed (in-flight requests finishing).
    let scenario = out.path().join("slow.toml");
    std::fs::write(
        &scenario,
        "kind = \"smoke\"\nbase-url = \"builtin\"\nusers = 2\nduration = \"60s\"\n\
         grace = \"30s\"\n\n[[request]]\nname = \"slow\"\npath = \"/health?latency=20s\"\n\
         timeout = \"30s\"\n",
    )
    .expect("write scenario");
    let args = [
        "run",
        out_arg(&scenario),
        "--out",
        out_arg(out.path()),
        "--run-id",
        "twice",
        "--threads",
        "1",
    ];
    let mut run = Running::start(&args);
    run.wait_for_line("step 1/1 started", Duration::from_secs(20));
    run.signal("INT");
    run.wait_for_line("finishing in-flight requests", Duration::from_secs(20));
    run.signal("INT");
    let (status, stderr, _) = run.finish(Duration::from_secs(20));
    assert_eq!(status.code(), Some(130), "{stderr}");
    let dir = out.path().join("slow/twice");
    assert_eq!(debris(&dir), Vec::<String>::new());
    assert!(
        !dir.join("summary.json").exists(),
        "no results after a second signal"
    );
    assert!(
        dir.join("record.jsonl").is_file(),
        "the record keeps what was measured"
    );
    let lock = std::fs::read_to_string(out.path().join("slow/.lock")).expect("lock");
    assert_eq!(lock, "", "the lock is not left naming a dead run");
}

#[test]
fn a_signal_while_starting_ends_the_run_cleanly_not_by_the_default_action() {
    use std::os::unix::process::ExitStatusExt as _;
    let out = tempfile::tempdir().expect("tempdir");
    let mut args = long_smoke(out.path(), "early");
    args.push("-v".to_owned());
    let mut run = Running::start(&args.iter().map(String::as_str).collect::<Vec<_>>());
    run.wait_for_line(
        "listening for Ctrl-C, SIGTERM and SIGHUP",
        Duration::from_secs(20),
    );
    run.signal("TERM");
    let (status, stderr, _) = run.finish(Duration::from_secs(20));
    assert_eq!(
        status.signal(),
        None,
        "killed by the default action: {stderr}"
    );
    assert!(matches!(status.code(), Some(105 | 130)), "{stderr}");
    assert_eq!(
        debris(&out.path().join("smoke/early")),
        Vec::<String>::new()
    );
    let lock = std::fs::read_to_string(out.path().join("smoke/.lock")).unwrap_or_default();
    assert_eq!(lock, "");
}
