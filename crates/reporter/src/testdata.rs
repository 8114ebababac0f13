//! Test data: a hand-built summary for the renderers' golden tests (two capacity steps, one
//! failing threshold, one warning, a knee, failures and a series), and engine intervals.

use std::time::Duration;

use stampede_metrics::{
    Figures, IntervalSnapshot, LatencyMs, LoadFigures, Outcome, OutcomeCounts, StatsSet,
};
use stampede_plan::Metric;

use crate::judge::analysis::{AnalysisOptions, knee};
use crate::summary::analysis::Analysis;
use crate::summary::named::Named;
use crate::summary::series::{Series, SeriesPoint};
use crate::summary::threshold::{JudgedScope, ThresholdResult};
use crate::summary::{FailureRow, SCHEMA_VERSION, StepSummary, Summary, TotalSummary, Verdict};

fn figures(requests: u64, failed: u64, rps: f64, latency: [f64; 8]) -> Figures {
    let [min, mean, p50, p90, p95, p99, p99_9, max] = latency;
    Figures {
        requests,
        failed,
        error_rate: stampede_metrics::format::round(failed as f64 / requests as f64, 6),
        rps,
        outcomes: counts(&[
            (Outcome::Status2xx, requests - failed),
            (Outcome::Status5xx, failed * 5 / 6),
            (Outcome::Timeout, failed / 6),
        ]),
        latency_ms: LatencyMs {
            min,
            mean,
            p50,
            p90,
            p95,
            p99,
            p99_9,
            max,
        },
        ..Figures::default()
    }
}

fn counts(pairs: &[(Outcome, u64)]) -> OutcomeCounts {
    let mut counts = OutcomeCounts::default();
    for &(outcome, n) in pairs {
        for _ in 0..n {
            counts.bump(outcome);
        }
    }
    counts
}

fn threshold(
    metric: Metric,
    scope: JudgedScope,
    condition: &str,
    observed: f64,
    passed: bool,
) -> ThresholdResult {
    ThresholdResult {
        metric: metric.name().to_owned(),
        unit: metric.unit().into(),
        scope,
        condition: condition.to_owned(),
        warn_condition: None,
        observed: Some(observed),
        passed,
        warned: false,
    }
}

pub(crate) fn summary() -> Summary {
    let step1 = figures(
        6000,
        0,
        100.0,
        [1.0, 4.52, 4.0, 7.1, 9.8, 20.0, 45.0, 120.0],
    );
    let step2 = figures(
        11400,
        120,
        190.0,
        [1.1, 9.31, 8.2, 15.0, 22.0, 60.0, 150.0, 900.0],
    );
    let total = figures(
        17400,
        120,
        145.0,
        [1.0, 7.66, 6.1, 13.0, 18.0, 50.0, 140.0, 900.0],
    );
    let steps = vec![
        StepSummary {
            index: 0,
            label: "50 users".to_owned(),
            users: 50,
            offset_s: 0.0,
            warmup_s: 5.0,
            hold_s: 60.0,
            cooldown_s: 10.0,
            duration_s: 55.0,
            load: LoadFigures {
                peak_users: 50,
                iterations: 6000,
                ..LoadFigures::default()
            },
            figures: step1.clone(),
            requests_by_name: Named(vec![("GET /items".to_owned(), step1)]),
            ..StepSummary::default()
        },
        StepSummary {
            index: 1,
            label: "100 users".to_owned(),
            users: 100,
            offset_s: 70.0,
            warmup_s: 5.0,
            hold_s: 60.0,
            duration_s: 55.0,
            load: LoadFigures {
                peak_users: 100,
                iterations: 11400,
                reconnects: 3,
                ..LoadFigures::default()
            },
            figures: step2.clone(),
            requests_by_name: Named(vec![("GET /items".to_owned(), step2)]),
            ..StepSummary::default()
        },
    ];
    let mut warned = threshold(
        Metric::P95,
        JudgedScope::Step { index: 0 },
        "< 100 ms",
        9.8,
        true,
    );
    warned.warn_condition = Some("< 5 ms".to_owned());
    warned.warned = true;
    let points = (0..130)
        .filter(|s| !(60..70).contains(s))
        .map(|s| {
            let step = usize::from(s >= 70);
            let load = if step == 0 { 1.0 } else { 2.0 };
            SeriesPoint {
                offset_s: f64::from(s),
                length_s: 1.0,
                step,
                warmup: (s % 70) < 5,
                users: 50 * (step as u32 + 1),
                requests: (100.0 * load) as u64,
                failed: if step == 1 { 2 } else { 0 },
                rps: 100.0 * load,
                failed_rps: if step == 1 { 2.0 } else { 0.0 },
                error_rate: if step == 1 { 0.01 } else { 0.0 },
                p50: 4.0 * load,
                p95: 9.8 * load + f64::from(s % 3),
                p99: 20.0 * load + f64::from(s % 5),
                cpu_percent: None,
                rss_mb: None,
            }
        })
        .collect();
    let knee = knee(&steps, 0.8, &[], &AnalysisOptions::default());
    Summary {
        schema_version: SCHEMA_VERSION,
        scenario: "checkout".to_owned(),
        kind: "capacity".to_owned(),
        description: "Checkout <capacity> sweep, see https://example.com/runbook".to_owned(),
        run_id: "20261123T101500Z".to_owned(),
        tag: Some("nightly".to_owned()),
        scale_out: None,
        repeat: None,
        base_url: "http://127.0.0.1:8080".to_owned(),
        fingerprint: None,
        started_at: "2026-11-23T10:15:00Z".to_owned(),
        finished_at: "2026-11-23T10:17:10Z".to_owned(),
        elapsed_s: 130.0,
        verdict: Verdict::Failed,
        aborted: None,
        stopped: None,
        failed_because: Vec::new(),
        notes: Vec::new(),
        checks: Vec::new(),
        alerts: Vec::new(),
        alerts_dropped: 0,
        steps,
        total: TotalSummary {
            users: 100,
            duration_s: 110.0,
            load: LoadFigures {
                peak_users: 100,
                iterations: 17400,
                reconnects: 3,
                ..LoadFigures::default()
            },
            figures: total.clone(),
            requests_by_name: Named(vec![("GET /items".to_owned(), total)]),
        },
        setup: None,
        thresholds: vec![
            threshold(Metric::P95, JudgedScope::Run, "< 500 ms", 18.0, true),
            threshold(
                Metric::ErrorRate,
                JudgedScope::Step { index: 1 },
                "< 1%",
                0.010526,
                false,
            ),
            warned,
        ],
        analysis: Analysis {
            knee: Some(knee),
            ..Analysis::default()
        },
        failures: vec![FailureRow {
            method: "GET".to_owned(),
            name: "GET /items".to_owned(),
            error: "HTTP 503".to_owned(),
            occurrences: 100,
            first_seen: "2026-11-23T10:16:15Z".to_owned(),
            last_seen: "2026-11-23T10:17:10Z".to_owned(),
            sample: None,
        }],
        series: Series {
            point_s: 1.0,
            points,
            monitors: Vec::new(),
            streams: Vec::new(),
        },
        monitors: Vec::new(),
        streams: Vec::new(),
    }
}

/// Engine interval `seq` of step 0 as most tests want it: one second long starting at second
/// `seq`, not warming up, one active user, no monitor or streams. Tests change what they need
/// with struct update syntax.
pub(crate) fn second(seq: u64, stats: StatsSet) -> IntervalSnapshot {
    IntervalSnapshot {
        step: 0,
        seq,
        start: Duration::from_secs(seq),
        length: Duration::from_secs(1),
        warmup: false,
        active_users: 1,
        stats,
        monitor: Vec::new(),
        streams_open: Vec::new(),
    }
}
