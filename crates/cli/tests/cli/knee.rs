//! A knee you define, end to end: a capacity sweep against a demo target whose latency is
//! fixed, so the step where a level is crossed is known in advance; then `history` and
//! `compare` read the knee and the ceiling back.

use crate::*;

/// One user can make at most 20 requests a second against a 50 ms target, six can make 120:
/// `rps > 40` can only hold at the second step.
const SWEEP: &str = "kind = \"capacity\"\nbase-url = \"http://127.0.0.1:1\"\nusers = [1, 6]\n\
                     hold = \"1s\"\ninterval = \"250ms\"\nknee = { rps = \"> 40\" }\n\n\
                     [[request]]\nname = \"health\"\npath = \"/health\"\n";

/// Runs `scratch`'s sweep as `id` on one thread, with `extra` words, and asserts it passed;
/// returns its stdout and summary.
fn sweep(scratch: &Scratch, id: &str, extra: &[&str]) -> (String, serde_json::Value) {
    let output = scratch.run().run_id(id).one_thread().args(extra).output();
    let (stdout, _) = exited(&output, 0);
    let name = scratch
        .scenario
        .file_stem()
        .and_then(|s| s.to_str())
        .expect("stem");
    (stdout, summary_of(&scratch.out.join(name).join(id)))
}

#[test]
fn your_knee_levels_are_found_stored_shown_in_history_and_compared() {
    let scratch = Scratch::new("sweep.toml", SWEEP);
    let (scenario, out) = (&scratch.scenario, &scratch.out);
    let target = slow_target(50);
    let url = format!("http://{}", target.addr());

    let (said, summary) = sweep(&scratch, "base", &["--target", &url]);
    assert!(
        said.contains(
            "knee (your levels: rps > 40/s): step 2 at 6 users; safe ceiling 4 users (6 x 0.8)"
        ),
        "{said}"
    );
    let knee = &summary["analysis"]["knee"];
    assert_eq!(knee["users"], 6);
    assert_eq!(knee["ceiling_users"], 4);
    assert_eq!(knee["reason"], "rps crossed 40/s");
    assert!(
        knee["plateau_rps"].as_f64().expect("plateau") > 40.0,
        "{knee}"
    );

    // A level no step reaches: no knee, and the run says so.
    let (said, _) = sweep(
        &scratch,
        "next",
        &["--target", &url, "--set", "knee.rps=> 100000"],
    );
    assert!(
        said.contains("knee (your levels: rps > 100000/s): not found"),
        "{said}"
    );
    assert!(said.contains("no step crossed your levels"), "{said}");

    // The two runs differ by an override, so only `--all` puts them in one table.
    let history = stampede(&["history", out_arg(scenario), "--out", out_arg(out), "--all"]);
    let (table, _) = exited(&history, 0);
    let rows: Vec<&str> = table.lines().collect();
    assert!(rows[0].ends_with("knee users  ceiling"), "{table}");
    assert!(
        rows[1].starts_with("base") && rows[1].ends_with("6        4"),
        "{table}"
    );
    assert!(
        rows[2].starts_with("next") && rows[2].ends_with("none     none"),
        "{table}"
    );

    let compared = stampede(&[
        "compare",
        out_arg(scenario),
        "--run",
        "next",
        "--baseline",
        "base",
        "--out",
        out_arg(out),
    ]);
    let said = text(&compared.stdout);
    assert!(
        said.contains("safe ceiling 4 -> none: no knee within the sweep now, it was at 6 users"),
        "{said}"
    );
}

/// The builtin target is watched without a `[monitor]`: its CPU under load is a knee level.
#[test]
fn the_targets_cpu_is_a_knee_level_that_can_hold_and_can_fail_to() {
    let scratch = Scratch::new(
        "cpu.toml",
        "kind = \"capacity\"\nbase-url = \"builtin\"\nusers = [1, 2]\nhold = \"1s\"\n\
         interval = \"250ms\"\nknee = { target-cpu = \"> 0.1%\" }\n\n\
         [[request]]\nname = \"health\"\npath = \"/health\"\n",
    );

    let (said, summary) = sweep(&scratch, "busy", &[]);
    let step = &summary["steps"][0];
    let cpu = step["target_cpu_percent"]
        .as_f64()
        .expect("the step's target CPU");
    assert!(
        cpu > 0.1,
        "a target serving a busy user uses some CPU: {step}"
    );
    assert_eq!(step["monitors"][0]["name"], "the demo target", "{step}");
    assert!(
        said.contains("knee (your levels: target-cpu > 0.1%): step 1 at 1 users"),
        "{said}"
    );
    assert_eq!(
        summary["analysis"]["knee"]["reason"],
        "target-cpu crossed 0.1%"
    );

    let (said, summary) = sweep(&scratch, "idle", &["--set", "knee.target-cpu=> 100000%"]);
    assert!(
        said.contains("knee (your levels: target-cpu > 100000%): not found"),
        "{said}"
    );
    assert_eq!(summary["analysis"]["knee"]["found"], false);
}
