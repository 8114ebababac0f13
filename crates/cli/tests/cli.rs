//! The real `stampede` binary, end to end, against the embedded demo target.
//!
//! Runs that must be stopped or overlapped are spawned and watched through their log lines and
//! files, each wait bounded by a deadline; nothing sleeps in the hope that something happened.

use std::io::{BufRead as _, BufReader, Read as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn stampede(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stampede"))
        .args(args)
        .current_dir(repo())
        .env_remove("RUST_LOG")
        .output()
        .expect("run stampede")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The only run directory under `out/<scenario>/`.
fn run_dir(out: &Path, scenario: &str) -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(out.join(scenario))
        .expect("scenario results dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    dirs.pop().expect("one run")
}

#[test]
fn smoke_runs_against_the_builtin_target_and_writes_results() {
    let out = tempfile::tempdir().expect("tempdir");
    let out_arg = out.path().to_str().expect("utf-8 path");
    let output = stampede(&[
        "run",
        "smoke",
        "--set",
        "duration=2s",
        "--out",
        out_arg,
        "--threads",
        "1",
    ]);
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert_eq!(
        output.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stdout.contains("p99"), "{stdout}");

    let dir = run_dir(out.path(), "smoke");
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("summary.json")).expect("summary.json"))
            .expect("summary.json parses");
    assert_eq!(summary["schema_version"], 2);
    assert_eq!(summary["scenario"], "smoke");
    assert_eq!(summary["kind"], "smoke");
    assert_eq!(summary["verdict"], "passed");
    let step = &summary["steps"][0];
    let requests = step["requests"].as_u64().expect("requests");
    assert!(requests > 100, "{step}");
    assert_eq!(step["failed"], 0, "{step}");
    assert_eq!(step["outcomes"]["2xx"].as_u64(), Some(requests));
    assert!(step["latency_ms"]["p99"].as_f64().expect("p99") > 0.0);
    assert!(
        step["requests_by_name"]["inbox"]["requests"]
            .as_u64()
            .expect("inbox")
            > 0
    );

    let mut csv = csv::Reader::from_path(dir.join("steps.csv")).expect("steps.csv");
    let headers = csv.headers().expect("headers").clone();
    assert_eq!(&headers[0], "Step");
    assert!(headers.iter().any(|h| h == "99.9%"));
    let names: Vec<String> = csv
        .records()
        .map(|r| r.expect("row")[3].to_owned())
        .collect();
    assert_eq!(names, ["health", "inbox", "Aggregated"]);
}

#[test]
fn a_typo_exits_2_with_line_and_column_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("typo.toml");
    std::fs::write(
        &file,
        "kind = \"smoke\"\nbase-url = \"builtin\"\nusers = 2\ndration = \"5s\"\n\n[[request]]\nname = \"h\"\npath = \"/health\"\n",
    )
    .expect("write");
    let out = dir.path().join("results");
    let output = stampede(&[
        "run",
        file.to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("typo.toml:4:1"), "{stderr}");
    assert!(stderr.contains("duration"), "{stderr}");
    assert!(!out.exists(), "an invalid scenario must write no results");
}

#[test]
fn an_unknown_scenario_lists_the_available_ones() {
    let output = stampede(&["run", "no-such-scenario"]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("smoke"), "{stderr}");
}

#[test]
fn an_unreachable_target_is_a_completed_run_of_refused_requests() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let out = tempfile::tempdir().expect("tempdir");
    let target = format!("http://127.0.0.1:{port}");
    let output = stampede(&[
        "run",
        "smoke",
        "--target",
        &target,
        "--set",
        "duration=1s",
        "--set",
        "users=2",
        "--out",
        out.path().to_str().expect("utf-8"),
        "--threads",
        "1",
    ]);
    let stderr = text(&output.stderr);
    // Completed, not crashed; whether it "passed" depends on thresholds, smoke has none.
    assert!(matches!(output.status.code(), Some(0 | 99)), "{stderr}");
    let dir = run_dir(out.path(), "smoke");
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("summary.json")).expect("summary"))
            .expect("json");
    let step = &summary["steps"][0];
    assert!(
        step["outcomes"]["refused"].as_u64().expect("refused") > 0,
        "{step}"
    );
    assert_eq!(step["outcomes"]["refused"], step["requests"]);
}

/// Light load, so runs of parallel tests do not starve each other on two cores.
const LIGHT: &[&str] = &[
    "--set",
    "users=2",
    "--set",
    "defaults.think=20ms",
    "--threads",
    "1",
];

fn out_arg(dir: &Path) -> &str {
    dir.to_str().expect("utf-8 path")
}

fn summary_of(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("summary.json")).expect("summary.json"))
        .expect("summary.json parses")
}

/// A `stampede` spawned in the background, its stderr read line by line as it comes.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
    stderr: String,
    stdout: mpsc::Receiver<String>,
}

impl Running {
    fn start(args: &[&str]) -> Running {
        let mut child = Command::new(env!("CARGO_BIN_EXE_stampede"))
            .args(args)
            .current_dir(repo())
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn stampede");
        let (line_tx, lines) = mpsc::channel();
        let stderr = child.stderr.take().expect("stderr");
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line_tx.send(line).is_err() {
                    break;
                }
            }
        });
        let (out_tx, stdout) = mpsc::channel();
        let mut out = child.stdout.take().expect("stdout");
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = out.read_to_string(&mut text);
            let _ = out_tx.send(text);
        });
        Running {
            child,
            lines,
            stderr: String::new(),
            stdout,
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for a stderr line containing `needle`, for at most `limit`.
    fn wait_for_line(&mut self, needle: &str, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.stderr.push_str(&line);
                    self.stderr.push('\n');
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => panic!("no line with `{needle}` within {limit:?}:\n{}", self.stderr),
            }
        }
    }

    fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
    }

    /// Waits for the exit, for at most `limit`; then stderr and stdout in full.
    fn finish(mut self, limit: Duration) -> (ExitStatus, String, String) {
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "stampede did not exit within {limit:?}:\n{}",
                self.stderr
            );
            std::thread::sleep(Duration::from_millis(10));
        };
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.stderr.push_str(&line);
            self.stderr.push('\n');
        }
        let stdout = self
            .stdout
            .recv_timeout(Duration::from_secs(5))
            .unwrap_or_default();
        (status, std::mem::take(&mut self.stderr), stdout)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // A failed assertion must not leave a load test running.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[test]
fn without_a_terminal_logs_are_plain_with_one_line_per_interval() {
    let out = tempfile::tempdir().expect("tempdir");
    let mut args = vec![
        "run",
        "smoke",
        "--set",
        "duration=2s",
        "--set",
        "interval=500ms",
        "--out",
        out_arg(out.path()),
    ];
    args.extend(LIGHT);
    let output = stampede(&args);
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains('\x1b'), "escape sequences in:\n{stderr}");
    assert!(!stdout.contains('\x1b'), "escape sequences in:\n{stdout}");
    // One line per interval, in order, each with the figures a cron mail needs.
    let intervals: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains(" interval "))
        .collect();
    let seqs: Vec<u64> = intervals
        .iter()
        .map(|l| {
            let seq = l.split("seq=").nth(1).expect("seq").split(' ').next();
            seq.and_then(|s| s.parse().ok()).expect("a number")
        })
        .collect();
    assert!(seqs.len() >= 3, "{stderr}");
    assert_eq!(seqs, (0..seqs.len() as u64).collect::<Vec<_>>(), "{stderr}");
    for line in &intervals {
        assert!(line.starts_with("20"), "no timestamp: {line}");
        for field in ["INFO", "step=1/1", "users=", "rps=", "p95_ms=", "errors="] {
            assert!(line.contains(field), "`{field}` missing: {line}");
        }
    }
    // The embedded target is watched without being asked: its threads' CPU, and its /metrics
    // scraped for memory.
    assert!(
        intervals.iter().any(|l| l.contains("target_rss_mb=")),
        "{stderr}"
    );
    assert!(
        intervals.iter().any(|l| l.contains("target_cpu_pct=")),
        "{stderr}"
    );
    for phase in ["step 1/1 started", "step 1/1 ended", "run completed"] {
        assert_eq!(
            stderr.lines().filter(|l| l.contains(phase)).count(),
            1,
            "{phase}:\n{stderr}"
        );
    }
    assert!(stdout.contains("PASSED"), "{stdout}");
}

#[test]
fn exit_codes_passed_json_thresholds_failed_colour_and_usage() {
    let out = tempfile::tempdir().expect("tempdir");
    // 0, with summary.json alone on stdout.
    let mut args = vec![
        "run",
        "smoke",
        "--set",
        "duration=1s",
        "--out",
        out_arg(out.path()),
        "--run-id",
        "passing",
        "--output-format",
        "json",
    ];
    args.extend(LIGHT);
    let output = stampede(&args);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let printed: serde_json::Value = serde_json::from_slice(&output.stdout).expect("only JSON");
    assert_eq!(printed, summary_of(&out.path().join("smoke/passing")));
    assert_eq!(printed["verdict"], "passed");

    // 99: a threshold that cannot hold; --color always colours even without a terminal.
    let mut args = vec![
        "run",
        "smoke",
        "--set",
        "duration=1s",
        "--set",
        "thresholds.rps=> 1000000",
        "--out",
        out_arg(out.path()),
        "--run-id",
        "failing",
        "--color",
        "always",
    ];
    args.extend(LIGHT);
    let output = stampede(&args);
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert_eq!(output.status.code(), Some(99), "{stderr}");
    assert!(stdout.contains("FAILED"), "{stdout}");
    assert!(stderr.contains("\x1b["), "{stderr}");
    assert_eq!(
        summary_of(&out.path().join("smoke/failing"))["verdict"],
        "failed"
    );

    // 2: a bad flag, a bad value.
    assert_eq!(
        stampede(&["run", "smoke", "--bogus"]).status.code(),
        Some(2)
    );
    let output = stampede(&["run", "smoke", "--set", "users=abc"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("--set users=abc"));

    // 1: the process [monitor] names is not running; a hint says what to do.
    let output = stampede(&[
        "run",
        "smoke",
        "--set",
        "monitor.pid=4000000000",
        "--out",
        out_arg(out.path()),
    ]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("4000000000 named by [monitor] is not running"),
        "{stderr}"
    );
    assert!(stderr.contains("hint: start the target first"), "{stderr}");

    let output = stampede(&[
        "run",
        "smoke",
        "--set",
        "monitor.pid-file=no/such.pid",
        "--out",
        out_arg(out.path()),
    ]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot read the pid-file"), "{stderr}");

    // --help documents the table.
    let help = text(&stampede(&["run", "--help"]).stdout);
    for line in [
        "3    another run",
        "99   a threshold failed",
        "105  interrupted",
    ] {
        assert!(help.contains(line), "{help}");
    }
}

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

/// A child process killed when the test ends, however it ends.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_monitored_process_past_its_rss_stop_limit_stops_the_sweep() {
    // Grows by 10 MB every 200 ms (written, so resident), up to 400 MB, then idles.
    let grower = KillOnDrop(
        Command::new("python3")
            .args([
                "-c",
                "import time\nkept = []\nfor _ in range(40):\n    kept.append(b'x' * (10 << 20))\n    time.sleep(0.2)\ntime.sleep(60)\n",
            ])
            .stdin(Stdio::null())
            .spawn()
            .expect("python3 is needed for this test"),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let scenario = dir.path().join("sweep.toml");
    std::fs::write(
        &scenario,
        format!(
            "kind = \"capacity\"\nbase-url = \"builtin\"\nusers = [1, 2, 3]\nhold = \"4s\"\n\
             interval = \"250ms\"\n\n[defaults]\nthink = \"20ms\"\n\n[[request]]\nname = \"health\"\n\
             path = \"/health\"\n\n[monitor]\npid = {}\nrss = {{ warn = \"60MB\", stop = \"120MB\" }}\n",
            grower.0.id()
        ),
    )
    .expect("write scenario");
    let out = dir.path().join("results");
    let output = stampede(&[
        "run",
        scenario.to_str().expect("utf-8"),
        "--out",
        out_arg(&out),
        "--threads",
        "1",
    ]);
    let stderr = text(&output.stderr);
    // A sweep that found its limit has completed: the steps so far are the result.
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!("watching the target: PID {}", grower.0.id())),
        "{stderr}"
    );
    let pid = grower.0.id();
    assert!(
        stderr.contains(&format!("PID {pid}: rss "))
            && stderr.contains("passed the warning level 60 MB"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("stopping: PID {pid}: rss "))
            && stderr.contains("reached the stop level 120 MB"),
        "{stderr}"
    );
    let summary = summary_of(&run_dir(&out, "sweep"));
    assert_eq!(summary["verdict"], "passed");
    let stopped = summary["stopped"]
        .as_str()
        .expect("the stop reason is in summary.json");
    assert!(
        stopped.contains("reached the stop level 120 MB"),
        "{stopped}"
    );
    let steps = summary["steps"].as_array().expect("steps");
    assert!(steps.len() < 3, "the sweep went on: {steps:?}");
    assert_eq!(steps.last().expect("a step")["cut_short"], true);
    assert!(summary["elapsed_s"].as_f64().expect("elapsed") < 12.0);
}

#[test]
fn init_writes_starters_that_validate_and_never_overwrites() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = stampede(&["init", out_arg(dir.path())]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let folder = dir.path().join("scenarios");
    for name in ["smoke", "capacity", "throughput", "burst", "soak"] {
        let file = folder.join(format!("{name}.toml"));
        let text = std::fs::read_to_string(&file).expect("written");
        assert!(
            text.starts_with("#:schema stampede.schema.json\n# "),
            "{text}"
        );
    }
    assert!(folder.join("stampede.schema.json").is_file());
    let validate = stampede(&["validate", "--dir", out_arg(&folder)]);
    assert_eq!(
        validate.status.code(),
        Some(0),
        "{}",
        text(&validate.stderr)
    );
    assert_eq!(text(&validate.stdout).matches("ok ").count(), 5);

    std::fs::write(folder.join("smoke.toml"), "mine").expect("write");
    let again = stampede(&["init", out_arg(dir.path())]);
    let stderr = text(&again.stderr);
    assert_eq!(again.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("refusing to overwrite"), "{stderr}");
    assert!(
        stderr.contains("smoke.toml") && stderr.contains("soak.toml"),
        "{stderr}"
    );
    assert!(stderr.contains("hint:"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(folder.join("smoke.toml")).expect("read"),
        "mine"
    );
}

#[test]
fn completions_and_man_page_come_from_the_same_definitions() {
    for shell in ["bash", "zsh", "fish"] {
        let output = stampede(&["completions", shell]);
        assert_eq!(output.status.code(), Some(0), "{shell}");
        let script = text(&output.stdout);
        for word in ["stampede", "run", "output-format", "init"] {
            assert!(script.contains(word), "{shell} lacks {word}");
        }
    }
    let man = stampede(&["man"]);
    assert_eq!(man.status.code(), Some(0));
    let page = text(&man.stdout);
    assert!(page.contains(".TH stampede"), "{page}");
    assert!(
        page.contains("105"),
        "the exit codes belong in the man page"
    );
}

#[test]
fn a_closed_stdout_ends_quietly() {
    for args in [&["schema"][..], &["man"], &["completions", "zsh"]] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_stampede"))
            .args(args)
            .current_dir(repo())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        // Close the reading end before anything is written: every write then fails with EPIPE.
        drop(child.stdout.take());
        let output = child.wait_with_output().expect("wait");
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(stderr.is_empty(), "{args:?}: {stderr}");
    }
}

#[test]
fn a_failing_scrape_is_logged_once_and_never_fatal() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let out = tempfile::tempdir().expect("tempdir");
    let url = format!("monitor.metrics-url=http://127.0.0.1:{port}/metrics");
    let mut args = vec![
        "run",
        "smoke",
        "--set",
        "duration=1s",
        "--set",
        "interval=200ms",
        "--set",
        &url,
        "--set",
        "monitor.rss.stop=1MB",
        "--out",
        out_arg(out.path()),
    ];
    args.extend(LIGHT);
    let output = stampede(&args);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let failures = stderr
        .lines()
        .filter(|l| l.contains("cannot scrape"))
        .count();
    assert_eq!(failures, 1, "{stderr}");
    assert!(stderr.contains("trying again each interval"), "{stderr}");
    // Unknown memory is not memory past the limit.
    assert!(!stderr.contains("stopping the run"), "{stderr}");
    let summary = summary_of(&run_dir(out.path(), "smoke"));
    assert_eq!(summary["steps"][0]["cut_short"], false);
}

/// Each shipped kind against the embedded target, shrunk to a couple of seconds: the plans
/// the engine gets from every kind run to completion and write their results.
#[test]
fn every_shipped_kind_runs_against_the_builtin_target() {
    let out = tempfile::tempdir().expect("tempdir");
    let shrink: &[(&str, &[&str])] = &[
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
        let stderr = text(&output.stderr);
        assert!(
            matches!(output.status.code(), Some(0 | 99)),
            "{kind}: {stderr}"
        );
        let summary = summary_of(&run_dir(out.path(), kind));
        assert_eq!(summary["kind"], *kind);
        let steps = summary["steps"].as_array().expect("steps");
        assert!(!steps.is_empty(), "{kind}: {summary}");
        for step in steps {
            assert!(
                step["requests"].as_u64().expect("requests") > 0,
                "{kind}: {step}"
            );
        }
    }
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

/// The newest run directory under `out/<scenario>/` (run ids sort by time).
fn run_dir_latest(out: &Path, scenario: &str) -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(out.join(scenario))
        .expect("scenario results dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs.pop().expect("a run")
}
