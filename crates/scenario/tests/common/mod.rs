//! Helpers shared by the scenario tests: a fake environment and a loader over it.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use stampede_plan::Plan;
use stampede_scenario::{Diagnostics, Overrides, load_str_with_env, load_with_env};

/// The only environment variables tests see.
pub fn fake_env(name: &str) -> Option<String> {
    match name {
        "WEBHOOK_SECRET" => Some("test-webhook-secret".into()),
        "API_TOKEN" => Some("tok-123".into()),
        _ => None,
    }
}

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

pub fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios")
}

/// Loads TOML text as `t.toml` in the fixtures directory.
pub fn load(source: &str) -> Result<Plan, Diagnostics> {
    load_with(source, &Overrides::default())
}

pub fn load_with(source: &str, overrides: &Overrides) -> Result<Plan, Diagnostics> {
    load_str_with_env(source, "t.toml", &fixtures(), overrides, &fake_env)
}

pub fn load_file(path: &Path, overrides: &Overrides) -> Result<Plan, Diagnostics> {
    load_with_env(path, overrides, &fake_env)
}

/// The rendered diagnostics of a source that must not load.
pub fn errors(source: &str) -> String {
    match load(source) {
        Ok(plan) => panic!("expected errors, got a plan: {plan:?}"),
        Err(diagnostics) => diagnostics.to_string(),
    }
}

/// A minimal valid file of the kind, with `extra` lines added before the request.
pub const REQUEST: &str = "\n[[request]]\nname = \"health\"\npath = \"/health\"\n";

/// The smoke example of the README: two requests, one with a secret-looking header.
pub const SMOKE: &str = r#"kind = "smoke"
description = "Baseline before every deploy"
base-url = "builtin"
users = 10
duration = "30s"

[[request]]
name = "health"
path = "/health"

[[request]]
name = "inbox"
method = "GET"
path = "/inbox"
headers = { Authorization = "Bearer demo-key" }
weight = 3
expect = [200]
"#;

/// `--set` overrides, as the command line gives them.
pub fn set(args: &[&str]) -> Overrides {
    Overrides {
        set: args.iter().map(|s| s.to_string()).collect(),
        ..Overrides::default()
    }
}

/// Checks every case's whole rendered error text; `DUMP_ACTUAL=1` prints what came instead,
/// as JSON, to update a table after a deliberate change of wording.
pub fn assert_exact_errors(cases: Vec<(&str, String, &str)>) {
    let mut failures = Vec::new();
    for (what, source, expected) in cases {
        let actual = errors(&source);
        if actual != expected {
            if std::env::var_os("DUMP_ACTUAL").is_some() {
                println!("@@{}", serde_json::json!([what, actual]));
            }
            failures.push(format!("--- {what}\n{actual}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
