//! The commands around a run: validation errors, exit codes, init, completions, output.

use std::process::{Command, Stdio};

use crate::*;

#[test]
fn a_typo_exits_2_with_line_and_column_and_writes_nothing() {
    let typo = Scratch::new(
        "typo.toml",
        "kind = \"smoke\"\nbase-url = \"builtin\"\nusers = 2\ndration = \"5s\"\n\n[[request]]\nname = \"h\"\npath = \"/health\"\n",
    );
    let (_, stderr) = exited(&typo.run().output(), 2);
    assert!(stderr.contains("typo.toml:4:1"), "{stderr}");
    assert!(stderr.contains("duration"), "{stderr}");
    assert!(
        !typo.out.exists(),
        "an invalid scenario must write no results"
    );
}

#[test]
fn an_unknown_scenario_lists_the_available_ones() {
    let output = stampede(&["run", "no-such-scenario"]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("smoke"), "{stderr}");
}

#[test]
fn exit_codes_passed_json_thresholds_failed_colour_and_usage() {
    let out = tempfile::tempdir().expect("tempdir");
    // 0, with summary.json alone on stdout.
    let smoke = |id: &str| {
        Cmd::run("smoke")
            .set(&["duration=1s"])
            .out(out.path())
            .run_id(id)
    };
    let output = smoke("passing")
        .args(&["--output-format", "json"])
        .light()
        .output();
    exited(&output, 0);
    let printed = json_of(&output);
    assert_eq!(printed, summary_of(&out.path().join("smoke/passing")));
    assert_eq!(printed["verdict"], "passed");

    // 99: a threshold that cannot hold; --color always colours even without a terminal.
    let output = smoke("failing")
        .set(&["thresholds.rps=> 1000000"])
        .args(&["--color", "always"])
        .light()
        .output();
    let (stdout, stderr) = exited(&output, 99);
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

    // 2: the process a required [monitor] names is not running; a hint says what to do.
    let output = Cmd::run("smoke")
        .set(&["monitor.pid=4000000000", "monitor.required=true"])
        .out(out.path())
        .output();
    let (_, stderr) = exited(&output, 2);
    assert!(
        stderr.contains("4000000000 named by [monitor] is not running"),
        "{stderr}"
    );
    assert!(stderr.contains("hint: start the target first"), "{stderr}");

    let output = Cmd::run("smoke")
        .set(&["monitor.pid-file=no/such.pid", "monitor.rss.stop=1GB"])
        .out(out.path())
        .output();
    let (_, stderr) = exited(&output, 2);
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
fn init_writes_starters_that_validate_and_never_overwrites() {
    let dir = tempfile::tempdir().expect("tempdir");
    exited(&stampede(&["init", out_arg(dir.path())]), 0);
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
    let (said, _) = exited(&stampede(&["validate", "--dir", out_arg(&folder)]), 0);
    assert_eq!(said.matches("ok ").count(), 5);

    std::fs::write(folder.join("smoke.toml"), "mine").expect("write");
    let (_, stderr) = exited(&stampede(&["init", out_arg(dir.path())]), 1);
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
fn a_warning_is_said_at_its_place_and_does_not_fail_validation() {
    let swallowed = Scratch::new(
        "swallowed.toml",
        "kind = \"smoke\"\nbase-url = \"builtin\"\nusers = 2\niterations = 5\nwarmup = 10\n\n[[request]]\nname = \"h\"\npath = \"/health\"\n",
    );
    let output = stampede(&["validate", out_arg(&swallowed.scenario)]);
    let (stdout, stderr) = exited(&output, 0);
    assert!(stdout.contains("(1 warning)"), "{stdout}");
    assert!(stderr.contains("swallowed.toml:5:"), "{stderr}");
    assert!(stderr.contains("warning"), "{stderr}");
    assert!(stderr.contains("swallows the whole run"), "{stderr}");
}

#[test]
fn a_thread_count_outside_1_to_256_is_a_usage_error() {
    for threads in ["0", "257", "100000"] {
        let output = stampede(&["run", "smoke", "--threads", threads]);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{threads}: {stderr}");
        assert!(stderr.contains("1..=256"), "{stderr}");
    }
}
