//! Scale-out end to end: four `stampede run --segment i/4` processes started together with
//! `--start-at` against one demo target on loopback, merged by `stampede merge`. The merged
//! run must count exactly what the server served, its percentiles must be those of one
//! histogram holding every segment's samples, a second merge must give the same bytes, and
//! sets that are not every segment of one run must be refused, naming the problem.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use stampede_metrics::{LatencyMs, StatsSet};
use stampede_reporter::{RecordLine, read_record};
use stampede_target::{Config, Target};

use crate::*;

const SEGMENTS: usize = 4;

fn scenario(dir: &Path, target: &Target, users: u32) -> PathBuf {
    let path = dir.join(format!("split-{users}.toml"));
    let text = format!(
        "kind = \"smoke\"\nbase-url = \"http://{}\"\nusers = {users}\nduration = \"2s\"\n\
         interval = \"500ms\"\n\n[[request]]\nname = \"health\"\npath = \"/health\"\n\
         think = \"10ms\"\n",
        target.addr()
    );
    std::fs::write(&path, text).expect("scenario written");
    path
}

/// Runs every segment of `scenario` at once, each into `root/seg<i>`, starting together.
fn run_segments(scenario: &Path, root: &Path, start_at: &str) -> Vec<PathBuf> {
    let runs: Vec<(PathBuf, Running)> = (1..=SEGMENTS)
        .map(|i| {
            let out = root.join(format!("seg{i}"));
            let segment = format!("{i}/{SEGMENTS}");
            let args = [
                "run",
                out_arg(scenario),
                "--segment",
                &segment,
                "--start-at",
                start_at,
                "--out",
                out_arg(&out),
                "--threads",
                "1",
                "-q",
            ];
            let run = Running::start(&args);
            (out, run)
        })
        .collect();
    runs.into_iter()
        .map(|(out, run)| {
            let (status, _, stderr) = run.finish(Duration::from_secs(60));
            assert_eq!(status.code(), Some(0), "{stderr}");
            out
        })
        .collect()
}

/// A whole second a few seconds from now, as every segment is given it.
fn start_in_a_moment() -> String {
    let at = SystemTime::now() + Duration::from_secs(3);
    humantime::format_rfc3339_seconds(at).to_string()
}

fn merge(dirs: &[PathBuf], out: &Path) -> (Option<i32>, String) {
    let mut args = vec!["merge"];
    args.extend(dirs.iter().map(|d| out_arg(d)));
    args.extend(["--out", out_arg(out)]);
    let output = stampede(&args);
    (
        output.status.code(),
        format!("{}{}", text(&output.stdout), text(&output.stderr)),
    )
}

/// Every measured sample of every segment, in one set of histograms.
fn all_samples(dirs: &[PathBuf]) -> StatsSet {
    let mut all = StatsSet::new(1);
    for record in stampede_reporter::live::merge::find_records(dirs) {
        read_record(&record, |_, line| {
            if let RecordLine::Interval(i) = line
                && !i.warmup
            {
                all.add(&i.stats);
            }
            Ok(())
        })
        .expect("segment record reads");
    }
    all
}

#[test]
fn four_segments_merge_into_the_servers_count_and_exact_percentiles() {
    let root = tempfile::tempdir().unwrap();
    let target = Target::start(Config::default()).expect("demo target");
    let scenario = scenario(root.path(), &target, 10);
    let start_at = start_in_a_moment();
    let segments = run_segments(&scenario, root.path(), &start_at);

    let merged = root.path().join("merged");
    let (code, out) = merge(&segments, &merged);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("start skew"), "{out}");
    let summary = summary_of(&merged);
    assert_eq!(
        summary["total"]["requests"],
        target.requests_served(),
        "{out}"
    );
    let users: Vec<u64> = segments
        .iter()
        .map(|s| {
            summary_of(&run_dir(s, "split-10"))["total"]["peak_users"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(users, [3, 3, 2, 2], "10 users dealt over 4 segments");

    let exact = LatencyMs::of(&all_samples(&segments).aggregate().latency);
    let merged_ms: LatencyMs =
        serde_json::from_value(summary["total"]["latency_ms"].clone()).expect("latency_ms");
    assert_eq!(merged_ms, exact);

    // Every segment waited for the agreed start, and the merge says how far apart they began.
    for segment in &segments {
        let seg = summary_of(&run_dir(segment, "split-10"));
        assert!(
            seg["started_at"].as_str().unwrap() >= start_at.as_str(),
            "{seg}"
        );
        assert!(seg["scale_out"]["start_late_us"].is_u64(), "{seg}");
    }
    let tag = &summary["scale_out"];
    assert_eq!(tag["segments"], SEGMENTS as u64);
    assert!(tag["start_skew_us"].as_u64().unwrap() < 1_000_000, "{tag}");

    // The same segments merged again: the same bytes, and the merged record replays to them.
    let again = root.path().join("again");
    assert_eq!(merge(&segments, &again).0, Some(0));
    for file in [
        "summary.json",
        "steps.csv",
        "summary.md",
        "report.html",
        "record.jsonl",
    ] {
        let (a, b) = (merged.join(file), again.join(file));
        assert!(
            std::fs::read(&a).unwrap() == std::fs::read(&b).unwrap(),
            "{file} differs"
        );
    }
    let before = std::fs::read(merged.join("summary.json")).unwrap();
    let report = stampede(&["report", out_arg(&merged)]);
    assert_eq!(report.status.code(), Some(0), "{}", text(&report.stderr));
    assert!(std::fs::read(merged.join("summary.json")).unwrap() == before);

    refusals(root.path(), &target, &segments);
}

/// Incomplete, overlapping and mismatched sets are refused with exit 2, naming the problem.
fn refusals(root: &Path, target: &Target, segments: &[PathBuf]) {
    let (code, out) = merge(&segments[..3], &root.join("incomplete"));
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("segment 4/4 missing"), "{out}");

    // Segment 2 of another run of the same scenario and group: two segments 2/4.
    let twice = root.join("twice");
    let group = summary_of(&run_dir(&segments[0], "split-10"))["scale_out"]["group"]
        .as_str()
        .unwrap()
        .to_owned();
    let scenario = root.join("split-10.toml");
    let run = stampede(&[
        "run",
        out_arg(&scenario),
        "--segment",
        "2/4",
        "--group",
        &group,
        "--out",
        out_arg(&twice),
        "--threads",
        "1",
        "-q",
    ]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    let mut overlapping = segments.to_vec();
    overlapping.push(twice);
    let (code, out) = merge(&overlapping, &root.join("overlapping"));
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("segment 2/4 given twice"), "{out}");

    // A segment of a scenario with other contents.
    let other = scenario_with(root, target);
    let stray = root.join("stray");
    let run = stampede(&[
        "run",
        out_arg(&other),
        "--segment",
        "4/4",
        "--group",
        &group,
        "--out",
        out_arg(&stray),
        "--threads",
        "1",
        "-q",
    ]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    let mut mismatched = segments[..3].to_vec();
    mismatched.push(stray);
    let (code, out) = merge(&mismatched, &root.join("mismatched"));
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("different scenarios"), "{out}");
    assert!(
        !root.join("mismatched").exists(),
        "a refused merge writes nothing"
    );
}

/// The same scenario name with one more request: other contents, another hash.
fn scenario_with(root: &Path, target: &Target) -> PathBuf {
    let dir = root.join("other");
    std::fs::create_dir_all(&dir).unwrap();
    let path = scenario(&dir, target, 10);
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("\n[[request]]\nname = \"inbox\"\npath = \"/health\"\n");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_segment_without_an_agreed_group_is_refused() {
    let output = stampede(&["run", "smoke", "--segment", "1/2", "--start-in", "1s"]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
    assert!(
        text(&output.stderr).contains("needs a run group"),
        "{}",
        text(&output.stderr)
    );
}

/// A segment waiting for its start obeys a signal at once: no request is sent, partial (empty)
/// results are written, the exit is 105.
#[test]
fn a_signal_while_waiting_for_the_start_ends_the_run_at_once() {
    let out = tempfile::tempdir().unwrap();
    let mut run = Running::start(&[
        "run",
        "smoke",
        "--segment",
        "1/2",
        "--group",
        "g1",
        "--start-in",
        "10m",
        "--out",
        out_arg(out.path()),
        "--run-id",
        "w1",
        "--threads",
        "1",
    ]);
    run.wait_for_line("for the agreed start", Duration::from_secs(20));
    let signalled = Instant::now();
    run.terminate();
    let (status, stderr, _) = run.finish(Duration::from_secs(20));
    assert_eq!(status.code(), Some(105), "{stderr}");
    assert!(signalled.elapsed() < Duration::from_secs(5), "{stderr}");
    let summary = summary_of(&out.path().join("smoke/w1"));
    assert_eq!(summary["total"]["requests"], 0, "{summary}");
    assert_eq!(summary["scale_out"]["segment"], 1, "{summary}");
}
