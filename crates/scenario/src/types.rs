//! Small value types of the file format whose checks belong to their type (a count is positive,
//! a duration parses), so a bad value fails at its own line and column while parsing.

use std::fmt;
use std::time::Duration;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Deserialize, Deserializer, SeqAccess, Unexpected, Visitor};
use stampede_plan::{HttpVersion, Kind};

use crate::limits;
use crate::spanned::Spanned;

/// A positive whole number: users, iterations, burst requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Count(pub u32);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Count;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a positive integer")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Count, E> {
                match u32::try_from(v) {
                    Ok(n) if n > 0 => Ok(Count(n)),
                    _ => Err(E::invalid_value(Unexpected::Signed(v), &self)),
                }
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Count, E> {
                match u32::try_from(v) {
                    Ok(n) if n > 0 => Ok(Count(n)),
                    _ => Err(E::invalid_value(Unexpected::Unsigned(v), &self)),
                }
            }
        }
        deserializer.deserialize_u32(V)
    }
}

impl JsonSchema for Count {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Count".into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "integer", "minimum": 1, "maximum": u32::MAX })
    }
}

/// A positive number, possibly fractional: a request rate per second.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Positive(pub f64);

impl<'de> Deserialize<'de> for Positive {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Positive;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a positive number")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Positive, E> {
                if v > 0 {
                    Ok(Positive(v as f64))
                } else {
                    Err(E::invalid_value(Unexpected::Signed(v), &self))
                }
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Positive, E> {
                if v > 0 {
                    Ok(Positive(v as f64))
                } else {
                    Err(E::invalid_value(Unexpected::Unsigned(v), &self))
                }
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Positive, E> {
                if v > 0.0 && v.is_finite() {
                    Ok(Positive(v))
                } else {
                    Err(E::invalid_value(Unexpected::Float(v), &self))
                }
            }
        }
        deserializer.deserialize_f64(V)
    }
}

impl JsonSchema for Positive {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Positive".into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "number", "exclusiveMinimum": 0 })
    }
}

/// A humantime duration: "30s", "5m", "1h 30m", "250ms".
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Dur(pub Duration);

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Dur;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration like \"30s\" or \"5m\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Dur, E> {
                parse_duration(v).map(Dur).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(V)
    }
}

impl JsonSchema for Dur {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Duration".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "description": "A duration: \"250ms\", \"30s\", \"5m\", \"2h\", \"1h 30m\".",
            "pattern": "^\\s*[0-9]"
        })
    }
}

/// Parses a humantime duration, with a message that says what was wrong and what would do.
/// No duration may pass [`limits::MAX_DURATION`], so nothing downstream can overflow.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err("empty duration: expected something like \"30s\"".into());
    }
    let parsed = humantime::parse_duration(trimmed).map_err(|err| {
        let why = match err {
            humantime::DurationError::NumberExpected(_) => "expected a number".to_owned(),
            humantime::DurationError::UnknownUnit { unit, .. } if unit.is_empty() => {
                "a number needs a unit".to_owned()
            }
            humantime::DurationError::UnknownUnit { unit, .. } => {
                format!("unknown unit `{unit}` (use ms, s, m, h)")
            }
            humantime::DurationError::NumberOverflow => "number too large".to_owned(),
            humantime::DurationError::Empty => "empty".to_owned(),
            humantime::DurationError::InvalidCharacter(_) => "invalid character".to_owned(),
        };
        format!("invalid duration \"{text}\": {why}, expected something like \"30s\" or \"5m\"")
    })?;
    if parsed > limits::MAX_DURATION {
        return Err(format!(
            "duration \"{text}\" is longer than the most stampede plans, {}",
            limits::show(limits::MAX_DURATION)
        ));
    }
    Ok(parsed)
}

/// `warmup`: a leading time (`"10s"`) or a number of requests (`200`) left out of a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Warmup {
    Time(Duration),
    Requests(u64),
}

impl<'de> Deserialize<'de> for Warmup {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Warmup;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration like \"10s\" or a number of requests like 200")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Warmup, E> {
                parse_duration(v).map(Warmup::Time).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Warmup, E> {
                match u64::try_from(v) {
                    Ok(n) if (1..=limits::MAX_WARMUP_REQUESTS).contains(&n) => {
                        Ok(Warmup::Requests(n))
                    }
                    _ => Err(E::custom(format!(
                        "a warm-up of {v} requests: give 1 to {} requests, or a duration",
                        limits::MAX_WARMUP_REQUESTS
                    ))),
                }
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Warmup, E> {
                self.visit_i64(i64::try_from(v).unwrap_or(i64::MAX))
            }
        }
        deserializer.deserialize_any(V)
    }
}

impl JsonSchema for Warmup {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Warmup".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "Left out of the step's figures: a leading time (\"10s\") or its first requests (200).",
            "anyOf": [
                { "type": "string", "pattern": "^\\s*[0-9]" },
                { "type": "integer", "minimum": 1, "maximum": limits::MAX_WARMUP_REQUESTS }
            ]
        })
    }
}

/// A status code (`200`) or a class (`"2xx"`), as written in `expect` and `check.status`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum StatusSpec {
    Code(i64),
    Text(String),
}

impl<'de> Deserialize<'de> for StatusSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StatusVisitor)
    }
}

struct StatusVisitor;

impl<'de> Visitor<'de> for StatusVisitor {
    type Value = StatusSpec;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a status code like 200 or a class like \"2xx\"")
    }
    fn visit_i64<E>(self, v: i64) -> Result<StatusSpec, E> {
        Ok(StatusSpec::Code(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<StatusSpec, E> {
        Ok(StatusSpec::Code(i64::try_from(v).unwrap_or(i64::MAX)))
    }
    fn visit_str<E>(self, v: &str) -> Result<StatusSpec, E> {
        Ok(StatusSpec::Text(v.to_owned()))
    }
}

impl JsonSchema for StatusSpec {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Status".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A status code (200) or a class (\"2xx\").",
            "anyOf": [
                { "type": "integer", "minimum": 100, "maximum": 599 },
                { "type": "string", "pattern": "^[1-5][0-9xX]{2}$" }
            ]
        })
    }
}

/// One status or a list of them (`check.status = 200` or `[200, 201]`).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct StatusList(pub Vec<Spanned<StatusSpec>>);

impl<'de> Deserialize<'de> for StatusList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StatusList;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a status code, a class like \"2xx\", or a list of them")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StatusList, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(StatusList(items))
            }
        }
        // A single value arrives unspanned inside its parent's span; the caller re-spans it.
        deserializer.deserialize_any(OneOrList(V))
    }
}

/// Accepts a list through the inner visitor, or a lone status as a one-item list.
struct OneOrList<V>(V);

impl<'de, V: Visitor<'de, Value = StatusList>> Visitor<'de> for OneOrList<V> {
    type Value = StatusList;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.expecting(f)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<StatusList, A::Error> {
        self.0.visit_seq(seq)
    }
    fn visit_i64<E>(self, v: i64) -> Result<StatusList, E> {
        Ok(StatusList(vec![Spanned::new(0..0, StatusSpec::Code(v))]))
    }
    fn visit_u64<E>(self, v: u64) -> Result<StatusList, E> {
        Ok(StatusList(vec![Spanned::new(
            0..0,
            StatusSpec::Code(i64::try_from(v).unwrap_or(i64::MAX)),
        )]))
    }
    fn visit_str<E>(self, v: &str) -> Result<StatusList, E> {
        Ok(StatusList(vec![Spanned::new(
            0..0,
            StatusSpec::Text(v.to_owned()),
        )]))
    }
}

impl JsonSchema for StatusList {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "StatusList".into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let one = generator.subschema_for::<StatusSpec>();
        json_schema!({ "anyOf": [one, { "type": "array", "items": one }] })
    }
}

/// `kind`: one of the five names, as the plan's [`Kind`] with the schema an editor shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(transparent)]
pub(crate) struct KindName(pub Kind);

impl std::ops::Deref for KindName {
    type Target = Kind;
    fn deref(&self) -> &Kind {
        &self.0
    }
}

impl JsonSchema for KindName {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Kind".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let names: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
        json_schema!({
            "description": "The kind of scenario.",
            "type": "string",
            "enum": names
        })
    }
}

/// `http = "1.1" | "2" | "auto"`; the numbers `1.1` and `2` are read the same way, since TOML
/// users write them either way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct HttpSpec(pub HttpVersion);

impl<'de> Deserialize<'de> for HttpSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = HttpSpec;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("\"1.1\", \"2\" or \"auto\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<HttpSpec, E> {
                match v.trim() {
                    "1.1" => Ok(HttpSpec(HttpVersion::Http1)),
                    "2" => Ok(HttpSpec(HttpVersion::Http2)),
                    "auto" => Ok(HttpSpec(HttpVersion::Auto)),
                    _ => Err(E::invalid_value(Unexpected::Str(v), &self)),
                }
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<HttpSpec, E> {
                match v {
                    2 => Ok(HttpSpec(HttpVersion::Http2)),
                    _ => Err(E::invalid_value(Unexpected::Signed(v), &self)),
                }
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<HttpSpec, E> {
                match v {
                    2 => Ok(HttpSpec(HttpVersion::Http2)),
                    _ => Err(E::invalid_value(Unexpected::Unsigned(v), &self)),
                }
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<HttpSpec, E> {
                if v == 1.1 {
                    Ok(HttpSpec(HttpVersion::Http1))
                } else if v == 2.0 {
                    Ok(HttpSpec(HttpVersion::Http2))
                } else {
                    Err(E::invalid_value(Unexpected::Float(v), &self))
                }
            }
        }
        deserializer.deserialize_any(V)
    }
}

impl JsonSchema for HttpSpec {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "HttpVersion".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "The HTTP version: \"1.1\", \"2\" or \"auto\".",
            "anyOf": [
                { "type": "string", "enum": ["1.1", "2", "auto"] },
                { "type": "number", "enum": [1.1, 2] }
            ]
        })
    }
}
