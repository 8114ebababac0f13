//! Signals in every phase of a run, and what each leaves behind.

use std::path::Path;
use std::time::Duration;

use crate::*;

#[test]
fn sigterm_writes_partial_results_and_exits_105() {
    let out = tempfile::tempdir().expect("tempdir");
    let mut run = long_smoke(out.path(), "stopped").start();
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

/// A light smoke of a minute, logging every 200 ms: long enough to be stopped by a signal.
pub(crate) fn long_smoke(out: &Path, run_id: &str) -> Cmd {
    Cmd::run("smoke")
        .set(&["duration=60s", "interval=200ms"])
        .out(out)
        .run_id(run_id)
        .light()
}

#[test]
fn sighup_is_obeyed_like_sigterm() {
    let out = tempfile::tempdir().expect("tempdir");
    let mut run = long_smoke(out.path(), "hup").start();
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
    let scenario = write_scenario(
        out.path(),
        "slow.toml",
        "kind = \"smoke\"\nbase-url = \"builtin\"\nusers = 2\nduration = \"60s\"\n\
         grace = \"30s\"\n\n[[request]]\nname = \"slow\"\npath = \"/health?latency=20s\"\n\
         timeout = \"30s\"\n",
    );
    let mut run = Cmd::run(out_arg(&scenario))
        .out(out.path())
        .run_id("twice")
        .one_thread()
        .start();
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
    let mut run = long_smoke(out.path(), "early").args(&["-v"]).start();
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
