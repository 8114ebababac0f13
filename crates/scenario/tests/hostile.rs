//! Hostile and careless input: numbers past what the engine can do, durations that would
//! overflow, control characters in what is sent, secrets in messages, files that are not files,
//! unsafe names, sweeps that go down, thresholds on setup requests, warm-ups that swallow a run.
//! Each is refused (or warned about) at its line and column, never a panic.

mod common;

use std::path::Path;

use common::{REQUEST, errors, fixtures, load, load_with};
use stampede_scenario::{Overrides, Severity, load_checked, load_str_checked};

fn smoke(extra: &str) -> String {
    format!("kind = \"smoke\"\nusers = 2\nduration = \"10s\"\n{extra}\n{REQUEST}")
}

/// Asserts that `source` fails with every one of `wanted` in its rendered errors.
fn fails_with(source: &str, wanted: &[&str]) {
    let text = errors(source);
    for want in wanted {
        assert!(text.contains(want), "missing `{want}` in:\n{text}");
    }
}

#[test]
fn durations_that_would_overflow_are_errors_at_their_line() {
    fails_with(
        "kind = \"smoke\"\nusers = 1\nduration = \"100000000000000h\"\n\n[[request]]\nname = \"a\"\npath = \"/\"\n",
        &[
            "error: duration \"100000000000000h\" is longer than the most stampede plans, 366 days",
            "t.toml:3:12",
        ],
    );
    fails_with(
        &smoke("grace = \"9999999999999999999999h\""),
        &["number too large", "t.toml:4:9"],
    );
    for key in ["interval", "grace", "ramp"] {
        let text = errors(&smoke(&format!("{key} = \"400days\"")));
        assert!(
            text.contains("366 days") && text.contains("t.toml:4:"),
            "{text}"
        );
    }
}

#[test]
fn the_planned_run_and_the_step_count_are_bounded() {
    let many: Vec<String> = (1..=10_001).map(|n| n.to_string()).collect();
    fails_with(
        &format!(
            "kind = \"capacity\"\nusers = [{}]\nhold = \"1s\"\n{REQUEST}",
            many.join(", ")
        ),
        &["`users` makes 10001 steps, more than 10000", "t.toml:2:9"],
    );
    fails_with(
        &format!("kind = \"capacity\"\nusers = [1, 2, 3]\nhold = \"200days\"\n{REQUEST}"),
        &[
            "the planned run is 600 days, longer than the most stampede plans, 366 days",
            "t.toml:3:8",
        ],
    );
}

#[test]
fn rates_users_and_intervals_the_engine_cannot_serve_are_refused() {
    fails_with(
        &format!(
            "kind = \"throughput\"\nrates = [100, 1000000000, 0.0001]\nhold = \"2s\"\nmax-users = 50\n{REQUEST}"
        ),
        &[
            "`rates` 1000000000/s is outside what one generator can schedule, 0.001/s to 1000000/s",
            "t.toml:2:15",
            "`rates` 0.0001/s is outside",
            "t.toml:2:27",
        ],
    );
    fails_with(
        &format!("kind = \"smoke\"\nusers = 2000000\nduration = \"1s\"\n{REQUEST}"),
        &[
            "`users` is 2000000, more than the most stampede runs, 1000000",
            "t.toml:2:9",
        ],
    );
    fails_with(
        &smoke("interval = \"1ms\""),
        &["`interval` is shorter than 10ms", "t.toml:4:12"],
    );
    fails_with(
        &format!("kind = \"soak\"\nrate = 10\nmax-backlog = 5000000\nduration = \"1m\"\n{REQUEST}"),
        &["`max-backlog` is 5000000", "t.toml:3:15"],
    );
}

#[test]
fn control_characters_in_what_is_sent_are_errors_at_their_place() {
    let request = |lines: &str| {
        format!(
            "kind = \"smoke\"\nusers = 1\nduration = \"1s\"\n\n[[request]]\nname = \"a\"\n{lines}\n"
        )
    };
    fails_with(
        &request("path = \"/a\\r\\nX-Injected: 1\""),
        &[
            "path `/a\\r\\nX-Injected: 1` holds a carriage return (CR)",
            "t.toml:7:8",
        ],
    );
    fails_with(
        &request("path = \"/a\"\nheaders = { X-A = \"v\\r\\nX-B: 1\" }"),
        &[
            "header `X-A` value `v\\r\\nX-B: 1` holds a carriage return (CR)",
            "t.toml:8:19",
        ],
    );
    fails_with(
        &request("path = \"/a\"\nquery = { q = \"x\\ny\" }"),
        &[
            "query value `q` is `x\\ny`, which holds a line feed (LF)",
            "t.toml:8:15",
        ],
    );
    fails_with(
        &request("path = \"/a b\""),
        &["path `/a b` is not a valid URI", "t.toml:7:8"],
    );
    // A template is rendered with placeholders (data row 0) and checked the same way.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("rows.csv"), "q\nhas space\n").unwrap();
    let source = "kind = \"smoke\"\nusers = 1\nduration = \"1s\"\n[data]\nfile = \"rows.csv\"\n\n[[request]]\nname = \"a\"\npath = \"/s/${data.q}\"\n";
    let err = stampede_scenario::load_str_with_env(
        source,
        "t.toml",
        dir.path(),
        &Overrides::default(),
        &|_| None,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("path `/s/has space` is not a valid URI") && err.contains("t.toml:9:8"),
        "{err}"
    );
}

#[test]
fn secrets_never_appear_in_any_error() {
    let secret = "correct horse\r\n\"battery\" <staple>\t";
    let env = |name: &str| (name == "DB_PASS").then(|| secret.to_owned());
    let load = |source: String| {
        stampede_scenario::load_str_with_env(
            &source,
            "t.toml",
            &fixtures(),
            &Overrides::default(),
            &env,
        )
    };
    let base = "kind = \"smoke\"\nusers = 1\nduration = \"1s\"\n\n[[request]]\nname = \"login\"\n";
    let cases = [
        "path = \"/login?password=${env:DB_PASS}\"",
        "path = \"/login/${env:DB_PASS}\"",
        "path = \"/login\"\nheaders = { X-Pass = \"${env:DB_PASS}\" }",
        "path = \"/login\"\nheaders = { Authorization = \"Bearer ${env:DB_PASS}\" }",
        "path = \"/login\"\nquery = { password = \"${env:DB_PASS}\" }",
        "path = \"/login\"\nsign = { hmac-sha256 = { secret = \"k\", header = \"${env:DB_PASS}\" } }",
        "path = \"/login\"\nsign = { hmac-sha256 = { secret = \"k\", prefix = \"${env:DB_PASS}\" } }",
    ];
    for case in cases {
        let err = load(format!("{base}{case}\n")).expect_err(case).to_string();
        for part in ["correct horse", "battery", "staple"] {
            assert!(!err.contains(part), "`{part}` shown for {case}:\n{err}");
        }
        assert!(
            err.contains("<redacted>") || err.contains("header name"),
            "{case}:\n{err}"
        );
    }
}

#[test]
fn files_that_are_not_regular_files_are_refused_without_reading() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe.toml");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo");
    let paths = [
        (
            dir.path().to_path_buf(),
            "is a directory, not a regular file",
        ),
        (fifo.clone(), "is a FIFO (named pipe), not a regular file"),
        (
            Path::new("/dev/zero").to_path_buf(),
            "is a device, not a regular file",
        ),
        (
            Path::new("/dev/urandom").to_path_buf(),
            "is a device, not a regular file",
        ),
    ];
    for (path, want) in &paths {
        let err = load_checked(path, &Overrides::default(), &|_| None)
            .unwrap_err()
            .to_string();
        assert!(err.contains(want), "{}: {err}", path.display());
    }
    for (path, want) in &paths {
        let source = smoke(&format!("[data]\nfile = \"{}\"", path.display()));
        let text = stampede_scenario::load_str_with_env(
            &source,
            "t.toml",
            dir.path(),
            &Overrides::default(),
            &|_| None,
        )
        .unwrap_err()
        .to_string();
        assert!(text.contains(want) && text.contains("t.toml:5:8"), "{text}");
    }
    let big = dir.path().join("big.toml");
    std::fs::write(&big, vec![b'#'; 16 * 1024 * 1024 + 1]).unwrap();
    let err = load_checked(&big, &Overrides::default(), &|_| None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("is larger than 16 MiB"), "{err}");
}

#[test]
fn a_byte_that_is_not_utf8_has_a_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("latin1.toml");
    std::fs::write(&path, b"kind = \"smoke\"\nname = \"caf\xe9\"\n").unwrap();
    let err = load_checked(&path, &Overrides::default(), &|_| None)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("byte 0xe9 is not UTF-8 text") && err.contains("latin1.toml:2:12"),
        "{err}"
    );
}

#[test]
fn names_are_one_safe_path_component() {
    for name in ["../../x", "/abs/path", "a/b", ".hidden", "x\\ny"] {
        let source = smoke(&format!("name = \"{name}\""));
        fails_with(
            &source,
            &["t.toml:4:8", "hint: a name is one safe path component"],
        );
    }
    assert!(load(&smoke("name = \"Checkout v2 (EU)\"")).is_ok());
}

#[test]
fn a_capacity_sweep_must_go_up() {
    fails_with(
        &format!("kind = \"capacity\"\nusers = [50, 100, 100, 80]\nhold = \"1m\"\n{REQUEST}"),
        &[
            "`users` must go up step by step: 100 comes after 100",
            "t.toml:2:19",
            "`users` must go up step by step: 80 comes after 100",
            "t.toml:2:24",
            "hint: users = [50, 100, 200]",
        ],
    );
}

#[test]
fn thresholds_on_a_setup_only_request_are_refused_with_a_hint() {
    let source = "kind = \"smoke\"\nusers = 1\nduration = \"1s\"\n\n[setup]\nrequests = [\"login\"]\n\n[[request]]\nname = \"login\"\npath = \"/login\"\nweight = 0\n\n[[request]]\nname = \"a\"\npath = \"/a\"\n";
    let overrides = Overrides {
        set: vec!["thresholds.request.login.error-rate=\"< 1%\"".into()],
        ..Overrides::default()
    };
    let err = load_with(source, &overrides).unwrap_err().to_string();
    assert!(
        err.contains("`login` runs only in [setup], which is measured apart"),
        "{err}"
    );
    assert!(
        err.contains("from --set thresholds.request.login.error-rate"),
        "{err}"
    );
    // The same threshold on a request that also runs in the steps is fine.
    let both = source.replace("weight = 0\n", "");
    assert!(load_with(&both, &overrides).is_ok());
}

#[test]
fn warm_up_by_count_and_its_warnings() {
    let dir = fixtures();
    let check =
        |source: &str| load_str_checked(source, "t.toml", &dir, &Overrides::default(), &|_| None);
    let bounded = |warmup: &str| {
        format!("kind = \"smoke\"\nusers = 5\niterations = 10\nwarmup = {warmup}\n{REQUEST}")
    };
    let ok = check(&bounded("20")).expect("valid");
    assert_eq!(ok.plan.warmup_requests, [20]);
    assert!(ok.warnings.is_empty());
    let swallowed = check(&bounded("50")).expect("a warning, not an error");
    let text = swallowed.warnings.to_string();
    assert!(text.starts_with("warning: the warm-up of 50 requests swallows the whole run (5 users x 10 iterations = 50 requests)"), "{text}");
    assert!(text.contains("t.toml:4:10"), "{text}");
    let by_time = check(&bounded("\"1s\"")).expect("a warning");
    assert_eq!(
        by_time.warnings.iter().next().map(|d| d.severity),
        Some(Severity::Warning)
    );
    assert!(
        by_time
            .warnings
            .to_string()
            .contains("hint: warm up by count instead")
    );
    fails_with(&bounded("0"), &["a warm-up of 0 requests", "t.toml:4:10"]);
    let capacity = load(&format!(
        "kind = \"capacity\"\nusers = [1, 2]\nhold = \"1m\"\nwarmup = 100\n{REQUEST}"
    ))
    .unwrap();
    assert_eq!(capacity.warmup_requests, [100, 100]);
    assert!(stampede_scenario::describe(&capacity).contains("warm-up the first 100 requests"));
}

#[test]
fn plan_000_measures_2000_requests_after_200_of_warm_up() {
    for name in ["000-health-baseline", "000-ready-baseline"] {
        let path = common::scenarios_dir().join(format!("plans/{name}.toml"));
        let checked = load_checked(&path, &Overrides::default(), &common::fake_env).unwrap();
        assert!(checked.warnings.is_empty(), "{}", checked.warnings);
        let plan = checked.plan;
        let step = &plan.steps[0];
        let total = u64::from(step.load.max_users()) * step.iterations_per_user.unwrap_or(0);
        assert_eq!(
            (plan.warmup_requests(0), total - plan.warmup_requests(0)),
            (200, 2000),
            "{name}"
        );
    }
}

#[test]
fn an_unknown_key_does_not_hide_the_other_problems() {
    let source = "kind = \"capacity\"\nusers = [10, 5]\nhold = \"10s\"\nramp = \"20s\"\ncolour = \"red\"\n\n[[request]]\nname = \"a\"\nmethd = \"POST\"\npath = \"a\"\n[monitor]\npid = 1\nmemory = 3\n";
    let wanted = [
        "`users` must go up step by step: 5 comes after 10",
        "`ramp` (20s) is longer than `hold` (10s)",
        "unknown key `colour`",
        "unknown key `methd`",
        "hint: did you mean `method`?",
        "path `a` does not start with `/`",
        "unknown key `memory`",
    ];
    fails_with(source, &wanted);
    // The same with an override layered on top: the unknown keys are left out of it.
    let overrides = Overrides {
        set: vec!["cooldown=5s".into()],
        ..Overrides::default()
    };
    let text = load_with(source, &overrides).unwrap_err().to_string();
    for want in wanted {
        assert!(
            text.contains(want),
            "missing `{want}` with --set in:\n{text}"
        );
    }
}

#[test]
fn a_permission_for_remote_hosts_names_who_gave_it() {
    let source = |extra: &str| {
        format!(
            "kind = \"smoke\"\nbase-url = \"http://127.0.0.1:9\"\nusers = 1\nduration = \"1s\"\n{extra}{REQUEST}"
        )
    };
    let by = |source: &str, overrides: &Overrides| {
        load_with(source, overrides)
            .expect("valid")
            .remote_allowed_by
    };
    assert_eq!(by(&source(""), &Overrides::default()), None);
    let flag = Overrides {
        allow_remote: true,
        ..Overrides::default()
    };
    assert_eq!(by(&source(""), &flag).as_deref(), Some("--allow-remote"));
    let env = Overrides {
        env: vec![("STAMPEDE_ALLOW_REMOTE".to_owned(), "true".to_owned())],
        ..Overrides::default()
    };
    assert_eq!(
        by(&source(""), &env).as_deref(),
        Some("environment variable STAMPEDE_ALLOW_REMOTE")
    );
    let set = Overrides {
        set: vec!["allow-remote=true".to_owned()],
        ..Overrides::default()
    };
    assert_eq!(
        by(&source(""), &set).as_deref(),
        Some("--set allow-remote=true")
    );
    let in_file = by(&source("allow-remote = true\n"), &Overrides::default());
    assert!(
        in_file
            .as_deref()
            .is_some_and(|who| who.starts_with("allow-remote = true in ")),
        "{in_file:?}"
    );
    let denied = by(&source("allow-remote = false\n"), &Overrides::default());
    assert_eq!(denied, None);
}
