//! Plan 002's WebSocket scenario, shrunk, against the embedded target: its round trips reach
//! summary.json, steps.csv (`WS` rows) and the text summary, and a `rtt-p95` threshold passes
//! or fails the run (0 or 99) as its condition says.

use crate::*;

const SCENARIO: &str = "plans/002-websockets";

/// Runs the shipped scenario for two seconds with four users and `rtt` as its rtt-p95 rule.
fn run_with_rtt(out: &Path, rtt: &str) -> (Output, serde_json::Value) {
    let rule = format!("thresholds.stream.call.rtt-p95={rtt}");
    let output = stampede(&[
        "run",
        SCENARIO,
        "--set",
        "duration=2s",
        "--set",
        "ramp=0s",
        "--set",
        "users=4",
        "--set",
        &rule,
        // Timing is not what this test judges: only the rtt rule decides.
        "--set",
        "thresholds.stream.call.connect-p95=< 1h",
        "--out",
        out_arg(out),
        "--threads",
        "1",
    ]);
    let summary = summary_of(&run_dir_latest(out, SCENARIO));
    (output, summary)
}

/// The rtt-p95 rule's (passed, observed) in `summary`.
fn rtt_rule(summary: &serde_json::Value) -> (bool, f64) {
    let rule = summary["thresholds"]
        .as_array()
        .expect("thresholds")
        .iter()
        .find(|t| t["metric"] == "rtt-p95")
        .expect("an rtt-p95 rule");
    (
        rule["passed"].as_bool().expect("passed"),
        rule["observed"].as_f64().expect("observed"),
    )
}

#[test]
fn a_websocket_rtt_threshold_passes_or_fails_the_run() {
    let out = tempfile::tempdir().expect("tempdir");
    let (output, summary) = run_with_rtt(out.path(), "< 1h");
    let stdout = text(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}{}",
        text(&output.stderr)
    );
    let call = &summary["streams"][0];
    assert_eq!(
        (call["name"].as_str(), call["kind"].as_str()),
        (Some("call"), Some("WS"))
    );
    let sent = call["sent"].as_u64().expect("sent");
    assert!(sent >= 4, "{call}");
    assert_eq!(call["rtt_ms"]["count"].as_u64(), Some(sent), "{call}");
    assert_eq!(
        (call["lost"].as_u64(), call["opened"].as_u64()),
        (Some(0), Some(4))
    );
    let (passed, observed) = rtt_rule(&summary);
    assert!(passed && observed > 0.0, "{summary}");
    assert!(stdout.contains("stream call (WS): peak 4 open"), "{stdout}");
    let steps = std::fs::read_to_string(run_dir_latest(out.path(), SCENARIO).join("steps.csv"))
        .expect("steps.csv");
    assert!(
        steps.lines().any(|l| l.starts_with("1,4,WS,call,")),
        "{steps}"
    );

    let (output, summary) = run_with_rtt(out.path(), "> 1h");
    assert_eq!(output.status.code(), Some(99), "{}", text(&output.stderr));
    let (passed, observed) = rtt_rule(&summary);
    assert!(!passed && observed > 0.0, "{summary}");
}
