//! Fuzzing by property: arbitrary bytes, and arbitrary TOML trees built from the real keys with
//! hostile values, go through reading, parsing, validation, lowering and `describe` without a
//! panic, each in bounded time, and whatever validates is within the documented limits and never
//! shows a secret. Inputs are capped in size, so memory stays bounded too.

mod common;

use std::time::{Duration, Instant};

use proptest::prelude::*;
use stampede_scenario::limits;
use stampede_scenario::{Overrides, describe, load_checked, load_str_checked};

/// A secret no generated text contains: `Ж` is not in the fuzzer's alphabet.
const SECRET: &str = "Ж-secret\r\n<x>";
/// What would show if the secret leaked: more than the one unusual letter, which arbitrary
/// bytes can hold themselves (and which an excerpt of the file then rightly shows).
const SECRET_MARK: &str = "Ж-secret";

fn env(name: &str) -> Option<String> {
    (name == "S").then(|| SECRET.to_owned())
}

/// Top-level and nested keys of the format, so trees reach deep validation, plus noise.
const KEYS: &[&str] = &[
    "name",
    "description",
    "base-url",
    "allow-remote",
    "interval",
    "grace",
    "users",
    "duration",
    "ramp",
    "ramp-down",
    "warmup",
    "iterations",
    "hold",
    "cooldown",
    "rates",
    "think",
    "max-users",
    "max-backlog",
    "rate",
    "before",
    "burst-users",
    "burst-rate",
    "burst-requests",
    "burst-for",
    "burst-ramp",
    "after",
    "stop-when",
    "knee",
    "ceiling-factor",
    "drift",
    "p95",
    "error-rate",
    "limit",
    "window",
    "abort",
    "per-step",
    "path",
    "url",
    "method",
    "headers",
    "query",
    "body",
    "json",
    "weight",
    "timeout",
    "expect",
    "check",
    "capture",
    "sign",
    "hmac-sha256",
    "secret",
    "header",
    "prefix",
    "requests",
    "steps",
    "file",
    "mode",
    "pid",
    "metrics-url",
    "cpu",
    "rss",
    "stop",
    "X-Token",
    "Authorization",
    "zz",
    "méthode",
];

/// Hostile text: control characters, quotes, templates (one of them a secret), huge numbers.
fn text() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "a",
        "/",
        " ",
        "\r",
        "\n",
        "\t",
        "\0",
        "\"",
        "\\",
        "..",
        "%",
        "?",
        "#",
        "${env:S}",
        "${vu}",
        "${seq}",
        "${data.user}",
        "${nope}",
        "${",
        "}",
        "$${",
        "1",
        "0",
        "h",
        "s",
        "ms",
        "100000000000000",
        "days",
        "<",
        ">",
        "=",
        "é",
        "\u{7f}",
        "\u{202e}",
    ]);
    prop::collection::vec(pieces, 0..12).prop_map(|parts| parts.concat())
}

/// A TOML basic string holding `text`, escaped.
fn quoted(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn leaf() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        prop::sample::select(vec![
            "0",
            "1",
            "2",
            "200",
            "1000000",
            "1000001",
            "4294967296",
            "1e9",
            "0.0001",
            "1.5",
            "inf",
            "nan",
            "true",
            "false",
            "\"1s\"",
            "\"0s\"",
            "\"1ms\"",
            "\"400days\"",
            "\"100000000000000h\"",
            "\"10ms..1s\"",
            "\"< 1%\"",
            "\"> 2s\"",
            "\"/health\"",
            "\"builtin\"",
            "\"http://127.0.0.1:1/x\"",
            "\"users.csv\"",
            "\"/dev/zero\"",
            "\".\"",
        ])
        .prop_map(str::to_owned),
        text().prop_map(|t| quoted(&t)),
    ]
}

fn value() -> impl Strategy<Value = String> {
    leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(", "))),
            prop::collection::btree_map(prop::sample::select(KEYS), inner, 0..4).prop_map(|m| {
                let pairs: Vec<String> = m
                    .into_iter()
                    .map(|(k, v)| format!("{} = {v}", quoted(k)))
                    .collect();
                format!("{{ {} }}", pairs.join(", "))
            }),
        ]
    })
}

fn table() -> impl Strategy<Value = String> {
    prop::collection::btree_map(prop::sample::select(KEYS), value(), 0..8).prop_map(|m| {
        m.into_iter()
            .map(|(k, v)| format!("{} = {v}\n", quoted(k)))
            .collect::<String>()
    })
}

/// Valid files of each kind, for mutations.
const VALID: &[&str] = &[
    "kind = \"smoke\"\nusers = 2\nduration = \"10s\"\n[[request]]\nname = \"a\"\npath = \"/a\"\n",
    "kind = \"capacity\"\nusers = [1, 2]\nhold = \"1m\"\n[[request]]\nname = \"a\"\npath = \"/a\"\n",
    "kind = \"throughput\"\nrates = [10]\nhold = \"1m\"\n[[request]]\nname = \"a\"\npath = \"/a\"\n",
    "kind = \"burst\"\nusers = 1\nbefore = \"1s\"\nburst-requests = 5\nburst-for = \"1s\"\nafter = \"1s\"\n[[request]]\nname = \"a\"\npath = \"/a\"\n",
    "kind = \"soak\"\nrate = 5\nduration = \"1h\"\n[[request]]\nname = \"a\"\npath = \"/a\"\n",
];

/// A whole file: a kind, top-level keys, then a few requests and maybe a section.
fn document() -> impl Strategy<Value = String> {
    let kind = prop::sample::select(vec![
        "smoke",
        "capacity",
        "throughput",
        "burst",
        "soak",
        "x",
    ]);
    let section = prop::sample::select(vec![
        "",
        "[setup]\n",
        "[data]\n",
        "[monitor]\n",
        "[thresholds]\n",
        "[[flow]]\n",
        "[defaults]\n",
    ]);
    (
        kind,
        table(),
        prop::collection::vec(table(), 0..3),
        section,
        table(),
    )
        .prop_map(|(kind, top, requests, section, extra)| {
            let mut doc = format!("kind = \"{kind}\"\n{top}");
            for request in requests {
                doc.push_str(&format!("\n[[request]]\n{request}"));
            }
            if !section.is_empty() {
                doc.push_str(&format!("\n{section}{extra}"));
            }
            doc
        })
}

/// The properties every input keeps, whatever it is.
fn check(
    result: Result<stampede_scenario::Checked, stampede_scenario::Diagnostics>,
    started: Instant,
) -> Result<(), TestCaseError> {
    prop_assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    match result {
        Ok(checked) => {
            let plan = &checked.plan;
            prop_assert!(plan.steps.len() <= limits::MAX_STEPS);
            prop_assert!(plan.total_duration() <= limits::MAX_RUN);
            prop_assert!(plan.requests.len() <= limits::MAX_REQUESTS);
            prop_assert!(plan.interval >= limits::MIN_INTERVAL);
            for step in &plan.steps {
                prop_assert!(step.load.max_users() <= limits::MAX_USERS);
                if let Some(rate) = step.load.rate_per_s() {
                    prop_assert!((limits::MIN_RATE_PER_S..=limits::MAX_RATE_PER_S).contains(&rate));
                }
            }
            let shown = format!("{}{}", describe(plan), checked.warnings);
            prop_assert!(!shown.contains(SECRET_MARK), "a secret shown:\n{shown}");
        }
        Err(diagnostics) => {
            let shown = diagnostics.to_string();
            prop_assert!(!shown.contains(SECRET_MARK), "a secret shown:\n{shown}");
            prop_assert!(diagnostics.has_errors());
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_toml_trees_never_panic(doc in document()) {
        let started = Instant::now();
        let result = load_str_checked(&doc, "t.toml", &common::fixtures(), &Overrides::default(), &env);
        check(result, started)?;
    }

    #[test]
    fn arbitrary_overrides_on_valid_files_never_panic(
        base in prop::sample::select(VALID.to_vec()),
        key in prop::sample::select(KEYS),
        raw in value(),
        extra in table(),
    ) {
        // A valid file, one hostile override, and hostile keys in its first request: most of
        // these get through parsing, so lowering and `describe` see the hostile values.
        let doc = base.replacen("[[request]]\n", &format!("[[request]]\n{extra}"), 1);
        let overrides = Overrides { set: vec![format!("{key}={raw}")], ..Overrides::default() };
        let started = Instant::now();
        let result = load_str_checked(&doc, "t.toml", &common::fixtures(), &overrides, &env);
        check(result, started)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 100, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..1024)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.toml");
        std::fs::write(&path, &bytes).unwrap();
        let started = Instant::now();
        check(load_checked(&path, &Overrides::default(), &env), started)?;
        let text = String::from_utf8_lossy(&bytes);
        let started = Instant::now();
        check(load_str_checked(&text, "t.toml", dir.path(), &Overrides::default(), &env), started)?;
    }
}

#[test]
fn the_generated_trees_reach_validation() {
    // A fuzzer whose inputs all fail to parse would test nothing past the parser.
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let (mut lowered, mut parsed_only) = (0, 0);
    for _ in 0..300 {
        let doc = document().new_tree(&mut runner).unwrap().current();
        match load_str_checked(
            &doc,
            "t.toml",
            &common::fixtures(),
            &Overrides::default(),
            &env,
        ) {
            Ok(_) => lowered += 1,
            // Problems with a place other than a syntax error come from validation.
            Err(d)
                if d.iter().any(|d| {
                    d.message.starts_with('`') || d.message.starts_with("no requests")
                }) =>
            {
                parsed_only += 1
            }
            Err(_) => {}
        }
    }
    assert!(
        lowered + parsed_only >= 30,
        "validated {lowered}, reached validation {parsed_only}"
    );
}
