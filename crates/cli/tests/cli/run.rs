//! `stampede run` against the embedded target: results, logs, monitors, every kind.

use std::process::{Command, Stdio};

use crate::*;

#[test]
fn smoke_runs_against_the_builtin_target_and_writes_results() {
    let out = tempfile::tempdir().expect("tempdir");
    let output = Cmd::run("smoke")
        .set(&["duration=2s"])
        .out(out.path())
        .one_thread()
        .output();
    let (stdout, _) = exited(&output, 0);
    assert!(stdout.contains("p99"), "{stdout}");

    let dir = run_dir(out.path(), "smoke");
    let summary = summary_of(&dir);
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
fn an_unreachable_target_is_a_completed_run_that_fails_for_want_of_a_success() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let out = tempfile::tempdir().expect("tempdir");
    let target = format!("http://127.0.0.1:{port}");
    let output = Cmd::run("smoke")
        .args(&["--target", &target])
        .set(&["duration=1s", "users=2"])
        .out(out.path())
        .one_thread()
        .output();
    // Completed, not crashed, and failed whatever the thresholds (smoke has none): a dead
    // target is not a passing one.
    let (stdout, _) = exited(&output, 99);
    assert!(
        stdout.contains("FAILED: no request succeeded: all ") && stdout.contains(" refused)"),
        "{stdout}"
    );
    let summary = summary_of(&run_dir(out.path(), "smoke"));
    let step = &summary["steps"][0];
    assert!(
        step["outcomes"]["refused"].as_u64().expect("refused") > 0,
        "{step}"
    );
    assert_eq!(step["outcomes"]["refused"], step["requests"]);
}

#[test]
fn log_every_sets_the_cadence_of_interval_lines_with_elapsed_and_planned_time() {
    let out = tempfile::tempdir().expect("tempdir");
    let output = Cmd::run("smoke")
        .set(&["duration=3s", "interval=250ms"])
        .args(&["--log-every", "1s"])
        .out(out.path())
        .light()
        .output();
    let (_, stderr) = exited(&output, 0);
    // Twelve intervals of 250 ms, one line per second of them: three, not twelve.
    let intervals: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains(" interval "))
        .collect();
    assert!((2..=3).contains(&intervals.len()), "{stderr}");
    for line in &intervals {
        for field in ["step=1/1", "elapsed=00:00:0", "planned=00:00:03", "rps="] {
            assert!(line.contains(field), "`{field}` missing: {line}");
        }
    }
}

#[test]
fn without_a_terminal_logs_are_plain_with_one_line_per_interval() {
    let out = tempfile::tempdir().expect("tempdir");
    let output = Cmd::run("smoke")
        .set(&["duration=2s", "interval=500ms"])
        .out(out.path())
        .light()
        .output();
    let (stdout, stderr) = exited(&output, 0);
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
    let sweep = Scratch::new(
        "sweep.toml",
        &format!(
            "kind = \"capacity\"\nbase-url = \"builtin\"\nusers = [1, 2, 3]\nhold = \"4s\"\n\
             interval = \"250ms\"\n\n[defaults]\nthink = \"20ms\"\n\n[[request]]\nname = \"health\"\n\
             path = \"/health\"\n\n[monitor]\npid = {}\nrss = {{ warn = \"60MB\", stop = \"120MB\" }}\n",
            grower.0.id()
        ),
    );
    // A sweep that found its limit has completed: the steps so far are the result.
    let (_, stderr) = exited(&sweep.run().one_thread().output(), 0);
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
    let summary = summary_of(&run_dir(&sweep.out, "sweep"));
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

/// Each shipped kind against the embedded target, shrunk to a couple of seconds: the plans
/// the engine gets from every kind run to completion and write their results.
#[test]
fn every_shipped_kind_runs_against_the_builtin_target() {
    let out = tempfile::tempdir().expect("tempdir");
    for (kind, overrides) in SHRUNK_KINDS {
        run_shrunk(kind, overrides, out.path());
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

/// An open-model step whose users cannot keep up (2,000/s asked of 2 users against requests
/// that take 1-5 ms): every output shows the same headline p95, measured from the scheduled
/// send, and the users column shows the users that were active, not the pool's cap.
#[test]
fn every_output_shows_the_same_headline_figures() {
    let out = tempfile::tempdir().expect("tempdir");
    let output = Cmd::run("throughput")
        .set(&[
            "rates=[2000]",
            "max-users=2",
            "hold=1s",
            "warmup=0s",
            "cooldown=0s",
            "thresholds.p99=\"< 50ms\"",
            "thresholds.per-step=false",
        ])
        .out(out.path())
        .one_thread()
        .output();
    let (stdout, _) = completed(&output);
    let dir = run_dir(out.path(), "throughput");
    let summary = summary_of(&dir);
    let step = &summary["steps"][0];
    assert_eq!(step["latency_from"], "scheduled", "{step}");
    let p95 = step["latency_ms"]["p95"].as_f64().expect("p95");
    let p99 = summary["total"]["latency_ms"]["p99"].as_f64().expect("p99");
    let peak = step["peak_users"].as_u64().expect("peak users");
    assert!((1..=2).contains(&peak), "{step}");
    assert_eq!(step["users"], 2);

    // Nothing is lost: 2,000 arrivals planned for the 1 s hold, each completed, abandoned or
    // dropped, the sum checked by the reporter.
    let arrivals = &step["arrivals"];
    assert_eq!(arrivals["scheduled"], 2000, "{arrivals}");
    assert_eq!(arrivals["unaccounted"], 0, "{arrivals}");
    let ends: u64 = ["completed", "abandoned", "dropped"]
        .iter()
        .map(|end| arrivals[end].as_u64().expect("a count"))
        .sum();
    assert_eq!(ends, 2000, "{arrivals}");
    assert!(
        arrivals["dropped"].as_u64() > Some(0),
        "2 users cannot keep up: {arrivals}"
    );

    // The threshold judged the headline.
    let rule = summary["thresholds"]
        .as_array()
        .expect("thresholds")
        .iter()
        .find(|t| t["metric"] == "p99")
        .expect("the p99 rule");
    assert_eq!(rule["observed"].as_f64(), Some(p99));

    // steps.csv: the Aggregated row's 95% and Users columns.
    let mut reader = csv::Reader::from_path(dir.join("steps.csv")).expect("steps.csv");
    let header: Vec<String> = reader
        .headers()
        .expect("header")
        .iter()
        .map(String::from)
        .collect();
    let column = |name: &str| header.iter().position(|h| h == name).expect(name);
    let aggregated = reader
        .records()
        .map(|r| r.expect("row"))
        .find(|r| &r[column("Name")] == "Aggregated")
        .expect("Aggregated row");
    assert_eq!(aggregated[column("95%")].parse::<f64>().ok(), Some(p95));
    assert_eq!(aggregated[column("Users")], peak.to_string());
    assert_eq!(&aggregated[column("Latency From")], "scheduled");

    // The console table, summary.md and report.html show that p95 (as `short` writes it).
    let shown = stampede_metrics::format::short(p95);
    let table_row = stdout
        .lines()
        .find(|l| l.starts_with("1 2000/s"))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(
        table_row.split_whitespace().any(|cell| cell == shown),
        "{shown} in {table_row}"
    );
    assert!(stdout.contains("from the scheduled send"), "{stdout}");
    let markdown = std::fs::read_to_string(dir.join("summary.md")).expect("summary.md");
    assert!(
        markdown.contains(&format!("| {shown} |")),
        "{shown} in {markdown}"
    );
    let html = std::fs::read_to_string(dir.join("report.html")).expect("report.html");
    assert!(
        html.contains(&format!("{shown} ms")),
        "{shown} in report.html"
    );
}

/// The soak that flapped: a fast webhook's p95 jitters by a few milliseconds, which a relative
/// rule alone read as "p95 grows 2851%". Too short to judge a trend, it passes, and says so.
#[test]
fn a_short_soak_of_a_fast_service_does_not_flap_on_drift() {
    let out = tempfile::tempdir().expect("tempdir");
    let output = Cmd::run("plans/001-webhook-sustained")
        .set(&["rate=20", "duration=5s", "interval=1s"])
        .out(out.path())
        .one_thread()
        .output();
    let (stdout, _) = exited(&output, 0);
    assert!(stdout.contains("drift: too short"), "{stdout}");
    let summary = summary_of(&run_dir(out.path(), "plans/001-webhook-sustained"));
    for rule in summary["thresholds"].as_array().expect("thresholds") {
        if rule["metric"]
            .as_str()
            .is_some_and(|m| m.ends_with("-growth"))
        {
            assert_eq!(
                (rule["passed"].as_bool(), rule["warned"].as_bool()),
                (Some(true), Some(true)),
                "{rule}"
            );
        }
    }
}

#[test]
fn http_debug_shows_one_exchange_with_its_secret_redacted() {
    let debugged = Scratch::new(
        "debugged.toml",
        "kind = \"smoke\"\nbase-url = \"builtin\"\nusers = 4\nduration = \"5s\"\n\n[[request]]\nname = \"health\"\npath = \"/health\"\nheaders = { Authorization = \"Bearer ${env:DEBUG_TEST_TOKEN}\" }\n",
    );
    let output = debugged
        .run()
        .args(&["--http-debug", "-q"])
        .env("DEBUG_TEST_TOKEN", "tok-Ж-very-secret")
        .output();
    let (stdout, stderr) = exited(&output, 0);
    assert!(stderr.contains("> GET /health HTTP/1.1"), "{stderr}");
    assert!(stderr.contains("< HTTP/1.1 200"), "{stderr}");
    assert!(stderr.contains("<redacted>"), "{stderr}");
    // One user, one iteration: exactly one exchange, and the secret nowhere.
    assert_eq!(stderr.matches("* #").count(), 1, "{stderr}");
    // The scenario and its results, every file under the folder.
    let files = walk(debugged.path());
    for text in [&stdout, &stderr].into_iter().chain(files.iter()) {
        assert!(!text.contains("very-secret"), "the secret leaked: {text}");
    }
}

/// Every file under `dir`, as text.
fn walk(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read_dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            found.push(String::from_utf8_lossy(&std::fs::read(&path).expect("read")).into_owned());
        }
    }
    found
}
