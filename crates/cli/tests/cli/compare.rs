//! `stampede compare` flags what is real and only that: identical runs compared pairwise flag
//! nothing, a server made 30 % slower is flagged every time. Against demo targets on loopback
//! whose latency is fixed, so the only differences are the ones the test makes.

use std::path::Path;
use std::time::Duration;

use stampede_target::{Config, Faults, Latency, Target};

use crate::*;

const PROBE: &str = "kind = \"smoke\"\nbase-url = \"http://127.0.0.1:1\"\nusers = 8\n\
                     duration = \"3s\"\ninterval = \"250ms\"\n\n[[request]]\nname = \"health\"\n\
                     path = \"/health\"\n";

fn target(latency_ms: u64) -> Target {
    let config = Config {
        faults: Faults {
            latency: Latency::Fixed(Duration::from_millis(latency_ms)),
            ..Faults::default()
        },
        ..Config::default()
    };
    Target::start(config).expect("demo target")
}

fn run(scenario: &Path, out: &Path, target: &Target, id: &str) {
    let url = format!("http://{}", target.addr());
    let output = stampede_alone(&[
        "run",
        out_arg(scenario),
        "--target",
        &url,
        "--out",
        out_arg(out),
        "--run-id",
        id,
        "--threads",
        "1",
        "-q",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
}

fn compare(scenario: &Path, out: &Path, run: &str, baseline: &str) -> (Option<i32>, String) {
    let output = stampede_alone(&[
        "compare",
        out_arg(scenario),
        "--run",
        run,
        "--baseline",
        baseline,
        "--fail-on-regression",
        "10",
        "--out",
        out_arg(out),
    ]);
    (
        output.status.code(),
        format!("{}{}", text(&output.stdout), text(&output.stderr)),
    )
}

#[test]
fn identical_runs_flag_nothing_and_a_slower_server_is_flagged_every_time() {
    // Alone on the machine: the runs must differ only as the target makes them differ.
    let _quiet = quiet_machine();
    let dir = tempfile::tempdir().expect("tempdir");
    let scenario = dir.path().join("probe.toml");
    std::fs::write(&scenario, PROBE).expect("write scenario");
    let out = dir.path().join("results");
    let same = target(50);
    let ids: Vec<String> = (0..10).map(|n| format!("same-{n}")).collect();
    for id in &ids {
        run(&scenario, &out, &same, id);
    }
    for (n, a) in ids.iter().enumerate() {
        for b in &ids[n + 1..] {
            let (code, said) = compare(&scenario, &out, a, b);
            assert_eq!(code, Some(0), "{a} against {b} flagged noise:\n{said}");
        }
    }
    let slower = target(65);
    for (n, baseline) in ids.iter().take(3).enumerate() {
        let id = format!("slower-{n}");
        run(&scenario, &out, &slower, &id);
        let (code, said) = compare(&scenario, &out, &id, baseline);
        assert_eq!(
            code,
            Some(99),
            "{id} against {baseline}: the slowdown went unseen:\n{said}"
        );
        assert!(
            said.contains("regression: step 1 Aggregated p50 +"),
            "{said}"
        );
    }
}
