//! The JSON Schema of scenario files, for editors, and the key lists derived from it.
//!
//! The file types are the single source of truth: the schema is generated from them, and so are
//! the key lists used for "did you mean" and "`rates` is a throughput key" messages.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, SchemaGenerator};
use serde_json::{Map, Value, json};

use crate::file::{BurstFile, CapacityFile, SmokeFile, SoakFile, StagesFile, ThroughputFile};
use crate::parse::KINDS;
use stampede_plan::Kind;

/// Keys every kind has.
pub(crate) const COMMON_KEYS: [&str; 17] = [
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

fn generator() -> SchemaGenerator {
    SchemaSettings::draft07().into_generator()
}

fn kind_schema(kind: Kind, generator: &mut SchemaGenerator) -> Value {
    fn one<T: JsonSchema>(generator: &mut SchemaGenerator) -> Value {
        generator.root_schema_for::<T>().to_value()
    }
    match kind {
        Kind::Smoke => one::<SmokeFile>(generator),
        Kind::Capacity => one::<CapacityFile>(generator),
        Kind::Throughput => one::<ThroughputFile>(generator),
        Kind::Burst => one::<BurstFile>(generator),
        Kind::Soak => one::<SoakFile>(generator),
        Kind::Stages => one::<StagesFile>(generator),
    }
}

fn properties(schema: &Value) -> Map<String, Value> {
    schema
        .get("properties")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

/// Every top-level key a file of `kind` may have.
pub(crate) fn top_level_keys(kind: Kind) -> &'static [String] {
    static KEYS: OnceLock<Vec<Vec<String>>> = OnceLock::new();
    let all = KEYS.get_or_init(|| {
        KINDS
            .iter()
            .map(|&k| {
                properties(&kind_schema(k, &mut generator()))
                    .keys()
                    .cloned()
                    .collect()
            })
            .collect()
    });
    &all[KINDS.iter().position(|&k| k == kind).unwrap_or(0)]
}

/// The top-level keys only `kind` has.
pub(crate) fn kind_keys(kind: Kind) -> Vec<&'static str> {
    top_level_keys(kind)
        .iter()
        .map(String::as_str)
        .filter(|k| !COMMON_KEYS.contains(k))
        .collect()
}

/// A draft-07 JSON Schema of the scenario file format.
///
/// The root lists every key of every kind under `properties` (so editors complete them all),
/// and holds each kind's exact, closed schema under `definitions`, applied by `kind` with
/// `if`/`then`.
pub fn json_schema() -> Value {
    let mut generator = generator();
    let mut definitions = Map::new();
    // Per top-level key: its distinct shapes over the kinds, and the first description.
    let mut shapes: BTreeMap<String, (Vec<Value>, Option<Value>)> = BTreeMap::new();
    let mut rules = Vec::new();
    for kind in KINDS {
        let mut schema = kind_schema(kind, &mut generator);
        if let Some(defs) = schema.as_object_mut().and_then(|o| o.remove("definitions")) {
            definitions.extend(defs.as_object().cloned().unwrap_or_default());
        }
        if let Some(object) = schema.as_object_mut() {
            object.remove("$schema");
        }
        for (key, mut value) in properties(&schema) {
            // Shapes are compared without their descriptions, which are worded per kind.
            let description = value.as_object_mut().and_then(|o| o.remove("description"));
            let (seen, _) = shapes
                .entry(key)
                .or_insert_with(|| (Vec::new(), description));
            if !seen.contains(&value) {
                seen.push(value);
            }
        }
        let name = format!("{}-file", kind.as_str());
        rules.push(json!({
            "if": { "properties": { "kind": { "const": kind.as_str() } }, "required": ["kind"] },
            "then": { "$ref": format!("#/definitions/{name}") }
        }));
        definitions.insert(name, schema);
    }
    // A key whose shape differs by kind (`users`: a number, or capacity's list) accepts any
    // of its shapes at the root; the kind's own definition then holds it to one.
    let mut properties_all = Map::new();
    for (key, (mut seen, description)) in shapes {
        let mut property = if seen.len() == 1 {
            seen.remove(0)
        } else {
            json!({ "anyOf": seen })
        };
        if let (Some(object), Some(description)) = (property.as_object_mut(), description) {
            object.insert("description".into(), description);
        }
        properties_all.insert(key, property);
    }
    json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "stampede scenario",
        "description": "A stampede load-testing scenario (TOML). See docs/scenarios.md.",
        "type": "object",
        "required": ["kind"],
        "properties": properties_all,
        "allOf": rules,
        "definitions": definitions,
    })
}
