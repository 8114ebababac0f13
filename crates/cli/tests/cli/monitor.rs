//! `[monitor]` from the command line: a required monitor that cannot read its target stops the
//! run before anything is written (exit 2), one that is not required is left out with a
//! warning and shown as unavailable, and scrapes that fail mid-run are counted, never fatal.

use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::process::Command;

use crate::*;

const PROMETHEUS: &str = "# TYPE process_resident_memory_bytes gauge\n\
    process_resident_memory_bytes 52000000\n\
    process_cpu_seconds_total 1.5\n";

/// A Prometheus endpoint on 127.0.0.1:0 that answers `answers` requests, then closes.
fn metrics_answering(answers: usize) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for _ in 0..answers {
            let Ok((mut stream, _)) = listener.accept() else {
                return;
            };
            let mut request = [0u8; 2048];
            let _ = stream.read(&mut request);
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{PROMETHEUS}",
                PROMETHEUS.len()
            );
        }
    });
    port
}

fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

fn smoke_with(out: &Path, sets: &[String]) -> Output {
    let sets: Vec<&str> = sets.iter().map(String::as_str).collect();
    Cmd::run("smoke")
        .set(&["duration=1s", "interval=200ms"])
        .set(&sets)
        .out(out)
        .light()
        .output()
}

#[test]
fn a_required_monitor_that_cannot_read_exits_2_before_any_results_exist() {
    let out = tempfile::tempdir().expect("tempdir");
    let port = closed_port();
    // A limit makes the monitor required by default.
    let output = smoke_with(
        out.path(),
        &[
            format!("monitor.metrics-url=http://127.0.0.1:{port}/metrics?token=s3cret"),
            "monitor.rss.stop=1GB".to_owned(),
        ],
    );
    let (_, stderr) = exited(&output, 2);
    assert!(
        stderr.contains(&format!(
            "error: the monitor cannot read its target: cannot scrape \
             http://127.0.0.1:{port}/metrics?...: cannot connect"
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("s3cret"), "{stderr}");
    assert!(stderr.contains("hint: "), "{stderr}");
    assert!(
        !out.path().join("smoke").exists(),
        "a results folder was made"
    );

    // A pid-file holding no number, required explicitly.
    let dir = tempfile::tempdir().expect("tempdir");
    let garbage = dir.path().join("api.pid");
    std::fs::write(&garbage, "<html>\n").expect("write");
    let output = smoke_with(
        out.path(),
        &[
            format!("monitor.pid-file={}", garbage.display()),
            "monitor.required=true".to_owned(),
        ],
    );
    let (_, stderr) = exited(&output, 2);
    assert!(stderr.contains("holds no PID"), "{stderr}");
    assert!(
        !out.path().join("smoke").exists(),
        "a results folder was made"
    );
}

#[test]
fn a_monitor_that_is_not_required_warns_and_the_run_goes_on_without_it() {
    let out = tempfile::tempdir().expect("tempdir");
    let output = smoke_with(out.path(), &["monitor.pid=4000000000".to_owned()]);
    let (stdout, stderr) = exited(&output, 0);
    assert!(
        stderr.contains(
            "the monitor cannot read its target, so the run goes on without it: \
             the target process 4000000000 named by [monitor] is not running"
        ),
        "{stderr}"
    );
    let summary = summary_of(&run_dir(out.path(), "smoke"));
    let monitor = &summary["monitors"][0];
    assert_eq!(monitor["name"], "PID 4000000000");
    let samples = monitor["samples"].as_u64().expect("samples");
    assert!(samples >= 3, "{monitor}");
    assert_eq!(monitor["failed_samples"], samples, "{monitor}");
    assert!(monitor.get("peak_cpu_percent").is_none(), "{monitor}");
    assert!(
        stdout.contains(&format!(
            "monitor PID 4000000000: unavailable, none of its {samples} samples could be read"
        )),
        "{stdout}"
    );
}

#[test]
fn scrapes_that_fail_mid_run_are_counted_logged_once_and_never_fatal() {
    let out = tempfile::tempdir().expect("tempdir");
    // The start check and the first two samples get an answer; then the endpoint is gone.
    let port = metrics_answering(3);
    let output = smoke_with(
        out.path(),
        &[
            format!("monitor.metrics-url=http://127.0.0.1:{port}/metrics"),
            "monitor.rss.stop=1GB".to_owned(),
        ],
    );
    let (stdout, stderr) = exited(&output, 0);
    let failures = stderr
        .lines()
        .filter(|l| l.contains("cannot scrape"))
        .count();
    assert_eq!(failures, 1, "{stderr}");
    assert!(stderr.contains("trying again each interval"), "{stderr}");
    // Unknown memory is not memory past the limit.
    assert!(!stderr.contains("stopping"), "{stderr}");
    let summary = summary_of(&run_dir(out.path(), "smoke"));
    assert_eq!(summary["steps"][0]["cut_short"], false);
    let monitor = &summary["monitors"][0];
    assert_eq!(monitor["peak_rss_mb"], 52.0, "{monitor}");
    let samples = monitor["samples"].as_u64().expect("samples");
    let failed = monitor["failed_samples"].as_u64().expect("failed samples");
    assert_eq!(failed, samples - 2, "{monitor}");
    assert!(
        stdout.contains(&format!("{failed} of {samples} samples failed")),
        "{stdout}"
    );
}

#[test]
fn two_monitors_have_their_own_columns_summaries_and_replay_byte_for_byte() {
    // The builtin target (a [[monitor]] without a source) beside another process, as plan
    // 004 watches its API beside Redis.
    let sleeper = KillOnDrop(Command::new("sleep").arg("60").spawn().expect("sleep"));
    let pair = Scratch::new(
        "pair.toml",
        &format!(
            "kind = \"smoke\"\nbase-url = \"builtin\"\nusers = 2\nduration = \"2s\"\n\
             interval = \"250ms\"\n\n[defaults]\nthink = \"20ms\"\n\n[[request]]\n\
             name = \"health\"\npath = \"/health\"\n\n[[monitor]]\nname = \"runner\"\n\n\
             [[monitor]]\nname = \"sleeper\"\npid = {}\nrss = {{ stop = \"1GB\" }}\n",
            sleeper.0.id()
        ),
    );
    let (stdout, stderr) = exited(&pair.run().one_thread().output(), 0);
    assert!(
        stderr.contains("watching the target: runner (the demo target and http://127.0.0.1:")
            && stderr.contains(&format!("/metrics), sleeper (PID {})", sleeper.0.id())),
        "{stderr}"
    );
    // Each interval line names every monitor's reading.
    assert!(
        stderr
            .lines()
            .any(|l| l.contains("monitors=\"runner cpu ") && l.contains("; sleeper cpu ")),
        "{stderr}"
    );
    let run = run_dir(&pair.out, "pair");

    let csv = std::fs::read_to_string(run.join("timeseries.csv")).expect("timeseries.csv");
    let header: Vec<&str> = csv.lines().next().expect("header").split(',').collect();
    let column = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("no column {name}: {header:?}"))
    };
    let runner_rss = column("runner RSS MB");
    let sleeper_rss = column("sleeper RSS MB");
    column("runner CPU %");
    column("sleeper CPU %");
    assert!(!header.contains(&"Target RSS MB"), "{header:?}");
    let read: Vec<(f64, f64)> = csv
        .lines()
        .filter(|l| l.contains(",Aggregated,"))
        .filter_map(|l| {
            let cells: Vec<&str> = l.split(',').collect();
            Some((
                cells[runner_rss].parse().ok()?,
                cells[sleeper_rss].parse().ok()?,
            ))
        })
        .collect();
    assert!(read.len() >= 3, "{csv}");
    // Two different processes: a test harness and a `sleep` differ in memory.
    assert!(
        read.iter().all(|(a, b)| *a > 0.0 && *b > 0.0 && a != b),
        "{csv}"
    );

    let summary = summary_of(&run);
    let monitors = summary["monitors"].as_array().expect("monitors");
    let names: Vec<&str> = monitors.iter().filter_map(|m| m["name"].as_str()).collect();
    assert_eq!(names, ["runner", "sleeper"]);
    for monitor in monitors {
        assert!(
            monitor["peak_rss_mb"].as_f64().is_some_and(|mb| mb > 0.0),
            "{monitor}"
        );
        assert!(
            monitor["mean_rss_mb"].as_f64().is_some_and(|mb| mb > 0.0),
            "{monitor}"
        );
        assert!(monitor.get("failed_samples").is_none(), "{monitor}");
    }
    let per_point = summary["series"]["monitors"]
        .as_array()
        .expect("readings per point");
    assert_eq!(
        per_point.len(),
        summary["series"]["points"].as_array().map_or(0, Vec::len)
    );
    assert!(
        per_point
            .iter()
            .all(|at| at.as_array().map(Vec::len) == Some(2))
    );
    let html = std::fs::read_to_string(run.join("report.html")).expect("report.html");
    assert!(html.contains("CPU of the watched processes over time"));
    for name in ["runner", "sleeper"] {
        assert_eq!(html.matches(&format!("<title>{name}</title>")).count(), 2);
    }
    assert!(stdout.contains("runner ("), "{stdout}");
    assert!(stdout.contains("sleeper ("), "{stdout}");

    // The record alone rebuilds every file, byte for byte.
    assert_report_rebuilds(&run, "pair");
}
