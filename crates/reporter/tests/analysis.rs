//! The analyses through a whole reporter: a soak's drift and coarser series, a burst's recovery,
//! a throughput sweep's elbow on open-model steps, and a run that never started.

mod common;

use std::time::Duration;

use common::{Ending, request, run, step, threshold};
use stampede_metrics::LatencyFrom;
use stampede_plan::{Drift, Kind, Load, Metric, Op, Plan, Scope};
use stampede_reporter::{Reporter, RunMeta, Verdict};

/// A soak's p95 grows 1 ms per second: a leak, plainly.
fn leaking(_step: usize, second: usize) -> (Vec<u64>, u64, Vec<u64>) {
    (vec![100], 2000 + 1000 * second as u64, vec![0])
}

#[test]
fn a_soak_reports_drift_and_writes_its_series_in_buckets() {
    let plan = Plan {
        name: "soak".to_owned(),
        kind: Kind::Soak,
        requests: vec![request("GET /items", "GET")],
        steps: vec![step("10 users", 10, 30, 0, 0)],
        series_interval: Duration::from_secs(3),
        drift: Some(Drift {
            p95_growth: Some(0.5),
            ..Drift::default()
        }),
        ..Plan::default()
    };
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("soak").join("r1");
    let summary = run(&plan, &dir, "r1", leaking, Ending::Completed);
    let drift = summary.analysis.drift.as_ref().unwrap();
    assert_eq!(
        (drift.verdict.as_str(), drift.limits_from.as_str()),
        ("drifting", "plan")
    );
    assert_eq!(drift.points, 10);
    // The plan's limit is a rule: the soak fails on it.
    let rule = summary.thresholds.last().unwrap();
    assert_eq!(rule.describe(), "p95-growth <= 50% (or under +5 ms) (run)");
    assert!(!rule.passed && summary.verdict == Verdict::Failed);
    // One millisecond more every second: 3,600 ms per hour between the thirds' middles.
    assert!(
        (drift.p95_slope_ms_per_hour - 3600.0).abs() < 100.0,
        "{drift:?}"
    );
    assert_eq!(summary.series.point_s, 3.0);
    // Ten buckets of three seconds in timeseries.csv, each with one request row and Aggregated.
    let csv = std::fs::read_to_string(dir.join("timeseries.csv")).unwrap();
    let offsets: Vec<&str> = csv
        .lines()
        .skip(1)
        .filter(|l| l.contains(",Aggregated,"))
        .map(|l| l.split(',').nth(1).unwrap())
        .collect();
    assert_eq!(
        offsets,
        ["0", "3", "6", "9", "12", "15", "18", "21", "24", "27"]
    );
    assert!(
        csv.lines().nth(1).unwrap().contains(",GET /items,100,0,"),
        "{csv}"
    );
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("aria-label=\"p95 over the soak with its trend\""));
}

/// Baseline 2 ms; the burst step is slow and failing; the next step recovers after 2 s.
fn bursting(step: usize, second: usize) -> (Vec<u64>, u64, Vec<u64>) {
    match (step, second) {
        (1, _) => (vec![200], 300_000, vec![40]),
        (2, 0) => (vec![100], 150_000, vec![5]),
        (2, 1) => (vec![100], 40_000, vec![0]),
        _ => (vec![100], 2000, vec![0]),
    }
}

#[test]
fn a_burst_reports_its_recovery() {
    let mut burst = step("burst", 200, 3, 0, 0);
    burst.load = Load::Burst { requests: 200 };
    let plan = Plan {
        name: "burst".to_owned(),
        kind: Kind::Burst,
        requests: vec![request("POST /events", "POST")],
        steps: vec![
            step("before", 10, 5, 1, 0),
            burst,
            step("after", 10, 8, 0, 0),
        ],
        ..Plan::default()
    };
    let root = tempfile::tempdir().unwrap();
    let summary = run(
        &plan,
        &root.path().join("burst").join("r1"),
        "r1",
        bursting,
        Ending::Completed,
    );
    let burst = summary.analysis.burst.as_ref().unwrap();
    assert_eq!(burst.step, 1);
    assert!(burst.recovered, "{}", burst.why);
    assert_eq!(burst.recovery_s, Some(3.0), "{}", burst.why);
    assert!(
        burst.burst_p95_ms > 300.0 && burst.burst_error_rate == 0.2,
        "{burst:?}"
    );
    assert!(
        summary
            .to_text()
            .contains("burst (step 2): recovered in 3 s")
    );
}

/// Open-model steps at 100, 200 and 400/s; p95 jumps at 400/s.
fn offered(step: usize, _second: usize) -> (Vec<u64>, u64, Vec<u64>) {
    let rate = 100 << step;
    (
        vec![rate],
        if step == 2 {
            250_000
        } else {
            5_000 + 1000 * step as u64
        },
        vec![0],
    )
}

#[test]
fn a_throughput_sweep_finds_its_elbow_on_the_corrected_latency() {
    let steps = [100.0, 200.0, 400.0]
        .into_iter()
        .map(|rate| {
            let mut s = step(&format!("{rate}/s"), 50, 4, 1, 0);
            s.load = Load::Open {
                rate_per_s: rate,
                max_users: 50,
                max_backlog: 100,
            };
            s
        })
        .collect();
    let plan = Plan {
        name: "throughput".to_owned(),
        kind: Kind::Throughput,
        requests: vec![request("POST /events", "POST")],
        steps,
        thresholds: vec![threshold(Metric::P95, Op::Lt, 100.0, Scope::PerStep)],
        ..Plan::default()
    };
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("throughput").join("r1");
    let summary = run(&plan, &dir, "r1", offered, Ending::Completed);
    let elbow = summary.analysis.elbow.as_ref().unwrap();
    assert!(elbow.found, "{}", elbow.why);
    assert_eq!((elbow.step, elbow.rate_under_limit), (Some(1), Some(200.0)));
    assert_eq!(elbow.load_axis, "offered rate");
    let first = &summary.steps[0];
    assert_eq!(
        (first.load.planned_rate, first.load.achieved_rate),
        (Some(100.0), Some(100.0))
    );
    // The headline of an open-model step is from the scheduled send, with the figure from the
    // actual send beside it, and the per-step threshold judged the headline.
    assert_eq!(first.figures.latency_from, LatencyFrom::Scheduled);
    let sent = first.figures.latency_sent_ms.unwrap();
    assert!(first.figures.latency_ms.p95 > sent.p95);
    assert_eq!(
        summary.thresholds[0].observed,
        Some(first.figures.latency_ms.p95)
    );
    assert_eq!(summary.verdict, Verdict::Failed);
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("summary.json")).unwrap()).unwrap();
    assert!(json["steps"][0]["latency_sent_ms"]["p95"].is_f64());
    assert_eq!(json["steps"][0]["latency_from"], "scheduled");
    assert_eq!(json["steps"][0]["planned_rate"], 100.0);
}

#[test]
fn a_run_that_never_started_still_writes_its_files() {
    let plan = Plan {
        name: "empty".to_owned(),
        kind: Kind::Capacity,
        requests: vec![request("GET /", "GET")],
        steps: vec![step("10 users", 10, 5, 0, 0)],
        thresholds: vec![threshold(Metric::P95, Op::Lt, 100.0, Scope::Run)],
        ..Plan::default()
    };
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("empty").join("r1");
    let meta = RunMeta {
        run_id: "r1".to_owned(),
        scenario: "empty".to_owned(),
        kind: "capacity".to_owned(),
        base_url: "http://127.0.0.1:1".to_owned(),
        tag: None,
        ..RunMeta::default()
    };
    let summary = Reporter::create(&plan, meta, &dir)
        .unwrap()
        .finish()
        .unwrap();
    assert_eq!(summary.verdict, Verdict::Interrupted);
    assert_eq!(summary.thresholds[0].observed, None);
    assert!(
        summary
            .analysis
            .knee
            .as_ref()
            .unwrap()
            .why
            .starts_with("no step had any requests")
    );
    for file in [
        "steps.csv",
        "summary.json",
        "report.html",
        "summary.md",
        "histograms.hlog",
    ] {
        assert!(dir.join(file).is_file(), "{file}");
    }
}
