//! `--set`, `STAMPEDE_*` and `--target` layered over a file: precedence, dotted keys into
//! tables, lists replaced, and errors that name the override rather than the file.

mod common;

use std::time::Duration;

use common::{SMOKE, load, load_file, load_with, scenarios_dir, set};
use stampede_plan::{BaseUrl, Load, Metric};
use stampede_scenario::Overrides;

#[test]
fn set_overrides_apply() {
    let plan = load_with(SMOKE, &set(&["duration=5s", "users=20"])).unwrap();
    assert_eq!(plan.steps[0].load, Load::Closed { users: 20 });
    assert_eq!(plan.steps[0].hold, Duration::from_secs(5));
    // Everything else is still the file's.
    assert_eq!(plan.requests.len(), 2);
    assert!(plan.requests[1].headers[0].secret);
}

#[test]
fn bad_override_values_name_their_source() {
    let err = load_with(SMOKE, &set(&["users=abc"]))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "error: invalid value for `users` from --set users=abc: expected a positive integer\n"
    );
    let env = Overrides {
        env: vec![("STAMPEDE_USERS".into(), "abc".into())],
        ..Overrides::default()
    };
    let err = load_with(SMOKE, &env).unwrap_err().to_string();
    assert_eq!(
        err,
        "error: invalid value for `users` from environment variable STAMPEDE_USERS: expected a positive integer\n"
    );
    let err = load_with(SMOKE, &set(&["duration=soon"]))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "error: invalid value for `duration` from --set duration=soon: invalid duration \"soon\": expected a number, expected something like \"30s\" or \"5m\"\n"
    );
    let err = load_with(SMOKE, &set(&["dration=5s", "users"]))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "error: invalid --set `users`: expected key=value\n   = hint: --set users=20\n\nerror: unknown key `dration` (from --set dration=5s)\n   = hint: did you mean `duration`?\n"
    );
}

#[test]
fn environment_overrides_and_their_precedence() {
    let overrides = Overrides {
        env: vec![
            ("STAMPEDE_USERS".into(), "7".into()),
            ("STAMPEDE_DURATION".into(), "5s".into()),
        ],
        set: vec!["users=8".into()],
        ..Overrides::default()
    };
    let plan = load_with(SMOKE, &overrides).unwrap();
    // --set beats the environment, which beats the file.
    assert_eq!(plan.steps[0].load, Load::Closed { users: 8 });
    assert_eq!(plan.steps[0].hold, Duration::from_secs(5));
    // A variable for another kind's key is skipped: the environment applies to every scenario.
    let other = Overrides {
        env: vec![("STAMPEDE_RATES".into(), "[1]".into())],
        ..Overrides::default()
    };
    assert!(load_with(SMOKE, &other).is_ok());
    let typo = Overrides {
        env: vec![("STAMPEDE_DURATON".into(), "5s".into())],
        ..Overrides::default()
    };
    assert_eq!(
        load_with(SMOKE, &typo).unwrap_err().to_string(),
        "error: unknown key `duraton` (from environment variable STAMPEDE_DURATON)\n   = hint: did you mean `duration`?\n"
    );
}

#[test]
fn dotted_overrides_reach_into_tables_the_file_lacks() {
    let plan = load_with(
        SMOKE,
        &set(&["defaults.timeout=2s", "thresholds.p95=< 300ms"]),
    )
    .unwrap();
    assert!(
        plan.requests
            .iter()
            .all(|r| r.timeout == Duration::from_secs(2))
    );
    assert_eq!(plan.thresholds.len(), 1);
    assert_eq!(
        (
            plan.thresholds[0].metric,
            plan.thresholds[0].condition.value
        ),
        (Metric::P95, 300.0)
    );
}

#[test]
fn validation_of_overridden_values_names_the_override() {
    let err = load_with(SMOKE, &set(&["ramp=1m"]))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "error: `ramp` (1m) is longer than `duration` (30s) (from --set ramp=1m)\n   = hint: the ramp happens inside `duration`; make `duration` longer or `ramp` shorter\n"
    );
    let err = load_with(SMOKE, &set(&["rates=[1]"]))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "error: `rates` is a throughput key; this file is kind = \"smoke\" (from --set rates=[1])\n"
    );
    let err = load_with(SMOKE, &set(&["request.name=x"]))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "error: `request` cannot be overridden (from --set request.name=x)\n   = hint: edit the scenario file instead\n"
    );
}

#[test]
fn target_replaces_base_url_on_loopback_only() {
    let target = |url: &str, allow_remote| Overrides {
        target: Some(url.into()),
        allow_remote,
        ..Overrides::default()
    };
    let plan = load_with(SMOKE, &target("http://127.0.0.1:8080/api", false)).unwrap();
    let BaseUrl::Http(base) = plan.base_url else {
        panic!("not http")
    };
    assert_eq!(
        (base.host.as_str(), base.port, base.path_prefix.as_str()),
        ("127.0.0.1", 8080, "/api")
    );
    let err = load_with(SMOKE, &target("http://10.1.2.3", false))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("error: base-url host `10.1.2.3` is not a loopback address (from --target http://10.1.2.3)\n   = hint: "),
        "{err}"
    );
    assert!(err.contains("--allow-remote"), "{err}");
    assert!(load_with(SMOKE, &target("http://10.1.2.3", true)).is_ok());
    let in_file = SMOKE.replace(
        "base-url = \"builtin\"",
        "base-url = \"http://example.com\"\nallow-remote = true",
    );
    assert!(load(&in_file).is_ok());
}

#[test]
fn overrides_replace_lists_and_keys_inside_existing_tables() {
    let path = scenarios_dir().join("capacity.toml");
    let plan = load_file(
        &path,
        &set(&[
            "users=[1, 2]",
            "stop-when.p95=> 3s",
            "hold=4s",
            "ramp=1s",
            "warmup=1s",
        ]),
    )
    .unwrap();
    let loads: Vec<&Load> = plan.steps.iter().map(|s| &s.load).collect();
    assert_eq!(
        loads,
        [&Load::Closed { users: 1 }, &Load::Closed { users: 2 }]
    );
    // The other key of the same inline table keeps the file's value.
    let stop: Vec<(Metric, f64)> = plan.stop_when.iter().map(|(m, c)| (*m, c.value)).collect();
    assert_eq!(stop, [(Metric::P95, 3000.0), (Metric::ErrorRate, 0.05)]);
    let err = load_file(&path, &set(&["users=[1, 0]"]))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "error: invalid value for `users` from --set users=[1, 0]: expected a positive integer\n"
    );
    let err = load_file(&path, &set(&["stop-when.p59=> 1s"]))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "error: unknown key `p59` (from --set stop-when.p59=> 1s)\n   = hint: did you mean `p50`?\n"
    );
}
