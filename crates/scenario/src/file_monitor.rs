//! `monitor` as one `[monitor]` table or a `[[monitor]]` array of them: the shape is read from
//! the value itself (a map or a sequence), so each table keeps its positions; an untagged enum
//! would lose them. It is asked for as a struct with [`MONITOR_KEYS`], so the lenient reader
//! reports an unknown key beside the file's other problems instead of stopping at it.

use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::file::MonitorFile;
use crate::spanned::Spanned;

/// The keys of [`MonitorFile`], as serde names them (a test holds them to the schema).
pub(crate) const MONITOR_KEYS: &[&str] = &[
    "name",
    "pid",
    "pid-file",
    "metrics-url",
    "series",
    "cpu",
    "rss",
    "required",
];

/// `[monitor]` or `[[monitor]]`.
#[derive(Debug)]
pub(crate) enum MonitorTables {
    One(Box<MonitorFile>),
    Many(Vec<Spanned<MonitorFile>>),
}

impl<'de> Deserialize<'de> for MonitorTables {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = MonitorTables;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a [monitor] table or [[monitor]] tables")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<MonitorTables, A::Error> {
                MonitorFile::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(|file| MonitorTables::One(Box::new(file)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<MonitorTables, A::Error> {
                Vec::deserialize(de::value::SeqAccessDeserializer::new(seq))
                    .map(MonitorTables::Many)
            }
        }
        // A struct to the lenient reader (it skips unknown keys of a table read so); to toml
        // and figment, whose values are maps or sequences, the same as `deserialize_any`.
        deserializer.deserialize_struct("MonitorFile", MONITOR_KEYS, V)
    }
}

impl JsonSchema for MonitorTables {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Monitors".into()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let table = generator.subschema_for::<MonitorFile>();
        schemars::json_schema!({
            "anyOf": [
                table,
                { "type": "array", "items": table, "description": "[[monitor]]: several, each with a `name`." }
            ]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_keys_are_those_of_the_table() {
        let schema = serde_json::to_value(schemars::schema_for!(MonitorFile)).unwrap();
        let mut keys: Vec<&str> = schema["properties"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        let mut listed = MONITOR_KEYS.to_vec();
        listed.sort_unstable();
        assert_eq!(keys, listed);
    }
}
