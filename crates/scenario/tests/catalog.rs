//! The scenarios directory and the JSON Schema: names resolve, listings carry durations, and the
//! schema knows every key of every kind.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use stampede_plan::Kind;
use stampede_scenario::{json_schema, list, resolve};

#[test]
fn names_resolve_to_files_and_misses_list_the_names() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("plans")).unwrap();
    let smoke = "kind = \"smoke\"\nusers = 1\nduration = \"3s\"\n\n[[request]]\nname = \"h\"\npath = \"/h\"\n";
    std::fs::write(dir.path().join("smoke.toml"), smoke).unwrap();
    std::fs::write(
        dir.path().join("plans/deep.toml"),
        smoke.replace("3s", "1m"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("broken.toml"),
        "kind = \"smoke\"\nusers = 0\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("notes.md"), "not a scenario").unwrap();

    assert_eq!(
        resolve("smoke", dir.path()).unwrap(),
        dir.path().join("smoke.toml")
    );
    assert_eq!(
        resolve("plans/deep", dir.path()).unwrap(),
        dir.path().join("plans/deep.toml")
    );
    let direct = dir.path().join("smoke.toml");
    assert_eq!(
        resolve(direct.to_str().unwrap(), std::path::Path::new("elsewhere")).unwrap(),
        direct
    );
    let missing = resolve("smok", dir.path()).unwrap_err();
    assert_eq!(missing.available, ["broken", "plans/deep", "smoke"]);
    assert_eq!(missing.suggestion.as_deref(), Some("smoke"));
    assert!(
        missing
            .to_string()
            .ends_with("(available: broken, plans/deep, smoke); did you mean `smoke`?"),
        "{missing}"
    );

    let listings = list(dir.path());
    let names: Vec<&str> = listings.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["broken", "plans/deep", "smoke"]);
    assert_eq!(listings[2].kind, Some(Kind::Smoke));
    assert_eq!(listings[2].duration, Ok(Duration::from_secs(3)));
    assert_eq!(listings[1].duration, Ok(Duration::from_secs(60)));
    assert_eq!(listings[0].kind, None);
    assert_eq!(
        listings[0].duration,
        Err("line 2: invalid value: integer `0`, expected a positive integer".to_owned())
    );
    assert!(listings[2].to_string().starts_with("smoke"));
}

#[test]
fn the_shipped_directory_lists_without_errors() {
    for listing in list(&common::scenarios_dir()) {
        // Shipped scenarios read no environment variable without a default.
        assert!(listing.duration.is_ok(), "{listing}");
    }
}

/// The keys the file format documents, per kind.
const COMMON: &[&str] = &[
    "kind",
    "name",
    "description",
    "base-url",
    "tls",
    "http",
    "allow-remote",
    "interval",
    "grace",
    "defaults",
    "request",
    "flow",
    "setup",
    "data",
    "stream",
    "thresholds",
    "monitor",
];
const SMOKE: &[&str] = &[
    "users",
    "duration",
    "ramp",
    "ramp-down",
    "warmup",
    "iterations",
];
const CAPACITY: &[&str] = &[
    "users",
    "hold",
    "ramp",
    "ramp-down",
    "cooldown",
    "warmup",
    "stop-when",
    "knee",
    "ceiling-factor",
];
const THROUGHPUT: &[&str] = &[
    "rates",
    "users",
    "think",
    "hold",
    "ramp",
    "cooldown",
    "warmup",
    "max-users",
    "max-backlog",
];
const BURST: &[&str] = &[
    "users",
    "rate",
    "before",
    "burst-users",
    "burst-rate",
    "burst-requests",
    "burst-for",
    "burst-ramp",
    "after",
    "ramp",
    "warmup",
    "max-users",
    "max-backlog",
];
const SOAK: &[&str] = &[
    "users",
    "rate",
    "duration",
    "ramp-down",
    "drift",
    "ramp",
    "warmup",
    "max-users",
    "max-backlog",
];
const STAGES: &[&str] = &["stage"];

#[test]
fn the_schema_is_draft_07_with_every_key() {
    let schema = json_schema();
    let text = serde_json::to_string_pretty(&schema).unwrap();
    let reparsed: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(reparsed, schema);
    assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
    let properties: BTreeSet<&str> = schema["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for (kind, keys) in [
        ("smoke", SMOKE),
        ("capacity", CAPACITY),
        ("throughput", THROUGHPUT),
        ("burst", BURST),
        ("soak", SOAK),
        ("stages", STAGES),
    ] {
        for key in COMMON.iter().chain(keys) {
            assert!(
                properties.contains(key),
                "`{key}` of {kind} missing from the schema's properties"
            );
        }
        // Each kind's own schema is closed and holds exactly its keys.
        let own = &schema["definitions"][format!("{kind}-file")];
        assert_eq!(own["additionalProperties"], false, "{kind}");
        let own_keys: BTreeSet<&str> = own["properties"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let expected: BTreeSet<&str> = COMMON.iter().chain(keys).copied().collect();
        assert_eq!(own_keys, expected, "{kind}");
    }
    // `users` is a number in most kinds and a list in capacity: the root accepts both.
    assert_eq!(
        schema["properties"]["users"]["anyOf"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    // `monitor` is one closed table or an array of them (`[[monitor]]`), whatever the kind.
    assert_eq!(
        schema["definitions"]["Monitors"]["anyOf"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    let monitor = &schema["definitions"]["MonitorFile"];
    assert_eq!(monitor["additionalProperties"], false);
    let monitor_keys: BTreeSet<&str> = monitor["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        monitor_keys,
        BTreeSet::from([
            "pid",
            "pid-file",
            "metrics-url",
            "series",
            "cpu",
            "rss",
            "required",
            "name"
        ])
    );
    // `[[stream]]` is a closed table with its keys.
    let stream = &schema["definitions"]["StreamFile"];
    assert_eq!(stream["additionalProperties"], false);
    let stream_keys: BTreeSet<&str> = stream["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        stream_keys,
        BTreeSet::from([
            "name",
            "kind",
            "path",
            "headers",
            "hold",
            "expect-within",
            "pairs",
            "send"
        ])
    );
    // `[[stage]]` is a closed table of a target and a duration.
    let stage = &schema["definitions"]["StageFile"];
    assert_eq!(stage["additionalProperties"], false);
    let stage_keys: BTreeSet<&str> = stage["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(stage_keys, BTreeSet::from(["target", "duration"]));
    // Every reference points at a definition that exists.
    for reference in text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("\"$ref\": \"#/definitions/"))
    {
        let name = reference.trim_end_matches(['"', ',']);
        assert!(
            schema["definitions"].get(name).is_some(),
            "dangling $ref {name}"
        );
    }
}
