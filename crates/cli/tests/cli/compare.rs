//! `stampede compare` flags what is real and only that: identical runs compared pairwise flag
//! nothing, a server made 30 % slower is flagged every time. Against demo targets on loopback
//! whose latency is fixed, so the only differences are the ones the test makes.

use stampede_target::Target;

use crate::*;

const PROBE: &str = "kind = \"smoke\"\nbase-url = \"http://127.0.0.1:1\"\nusers = 8\n\
                     duration = \"3s\"\ninterval = \"250ms\"\n\n[[request]]\nname = \"health\"\n\
                     path = \"/health\"\n";

fn run(probe: &Scratch, target: &Target, id: &str) {
    let url = format!("http://{}", target.addr());
    let output = probe
        .run()
        .args(&["--target", &url])
        .run_id(id)
        .one_thread()
        .quiet()
        .output_alone();
    exited(&output, 0);
}

fn compare(probe: &Scratch, run: &str, baseline: &str) -> (Option<i32>, String) {
    let output = Cmd::new(&["compare", out_arg(&probe.scenario)])
        .args(&[
            "--run",
            run,
            "--baseline",
            baseline,
            "--fail-on-regression",
            "10",
        ])
        .out(&probe.out)
        .output_alone();
    (
        output.status.code(),
        format!("{}{}", text(&output.stdout), text(&output.stderr)),
    )
}

#[test]
fn identical_runs_flag_nothing_and_a_slower_server_is_flagged_every_time() {
    // Alone on the machine: the runs must differ only as the target makes them differ.
    let _quiet = quiet_machine();
    let probe = Scratch::new("probe.toml", PROBE);
    let same = slow_target(50);
    let ids: Vec<String> = (0..10).map(|n| format!("same-{n}")).collect();
    for id in &ids {
        run(&probe, &same, id);
    }
    for (n, a) in ids.iter().enumerate() {
        for b in &ids[n + 1..] {
            let (code, said) = compare(&probe, a, b);
            assert_eq!(code, Some(0), "{a} against {b} flagged noise:\n{said}");
        }
    }
    let slower = slow_target(65);
    for (n, baseline) in ids.iter().take(3).enumerate() {
        let id = format!("slower-{n}");
        run(&probe, &slower, &id);
        let (code, said) = compare(&probe, &id, baseline);
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
