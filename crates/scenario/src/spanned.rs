//! Values that remember where they were written, and a generic value that does so at every depth.
//!
//! Every value in a scenario file type is wrapped in [`Spanned`], at every depth (struct fields,
//! list items, table values). That one uniform rule is what lets overrides go through figment
//! without losing positions: the file is re-encoded as figment values in toml's own "spanned"
//! shape (see [`to_figment`]), and an override value carries a span that names its source
//! instead of a byte range of the file.

use std::fmt;
use std::ops::{Deref, Range};

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// The private struct name and fields by which toml hands a value over with its byte range.
/// They are also what the figment encoding writes, so the same `Deserialize` reads both.
pub(crate) const SPANNED_NAME: &str = "$__serde_spanned_private_Spanned";
pub(crate) const START: &str = "$__serde_spanned_private_start";
pub(crate) const END: &str = "$__serde_spanned_private_end";
pub(crate) const VALUE: &str = "$__serde_spanned_private_value";

/// A value and the byte range of the file it came from (or an override's marker range, see
/// [`crate::diag::override_span`]).
#[derive(Clone, PartialEq)]
pub struct Spanned<T> {
    pub span: Range<usize>,
    pub value: T,
}

impl<T> Spanned<T> {
    pub(crate) fn new(span: Range<usize>, value: T) -> Spanned<T> {
        Spanned { span, value }
    }
}

impl<T> Deref for Spanned<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T: fmt::Debug> fmt::Debug for Spanned<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.value.fmt(f)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Spanned<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // toml recognises the struct name and hands over start, end and value; the figment
        // encoding is a map with the same keys. Keys are read as owned strings because figment
        // does not lend them out as `&'de str` (so toml's own `Spanned` cannot read figment).
        struct SpannedVisitor<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for SpannedVisitor<T> {
            type Value = Spanned<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a spanned value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Spanned<T>, A::Error> {
                let (mut start, mut end, mut value) = (None, None, None);
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        START => start = Some(map.next_value::<usize>()?),
                        END => end = Some(map.next_value::<usize>()?),
                        VALUE => value = Some(map.next_value::<T>()?),
                        other => return Err(de::Error::unknown_field(other, &[START, END, VALUE])),
                    }
                }
                let value = value.ok_or_else(|| de::Error::missing_field(VALUE))?;
                let start = start.unwrap_or(0);
                Ok(Spanned {
                    span: start..end.unwrap_or(start),
                    value,
                })
            }
        }
        deserializer.deserialize_struct(
            SPANNED_NAME,
            &[START, END, VALUE],
            SpannedVisitor(std::marker::PhantomData),
        )
    }
}

impl<T: schemars::JsonSchema> schemars::JsonSchema for Spanned<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }
    fn schema_name() -> std::borrow::Cow<'static, str> {
        T::schema_name()
    }
    fn schema_id() -> std::borrow::Cow<'static, str> {
        T::schema_id()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        T::json_schema(generator)
    }
}

/// Any TOML value, spanned at every depth: inline JSON bodies, JSON checks, and the figment
/// encoding of a whole file. Tables keep the file's key order.
#[derive(Clone, Debug, PartialEq)]
pub enum Any {
    String(String),
    Integer(i64),
    Float(f64),
    Boolean(bool),
    Array(Vec<Spanned<Any>>),
    Table(Vec<(String, Spanned<Any>)>),
}

impl Any {
    /// The JSON equivalent (TOML has no null, JSON has no datetime, so this cannot fail).
    pub(crate) fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Any::String(s) => J::String(s.clone()),
            Any::Integer(n) => J::from(*n),
            Any::Float(x) => serde_json::Number::from_f64(*x).map_or(J::Null, J::Number),
            Any::Boolean(b) => J::Bool(*b),
            Any::Array(items) => J::Array(items.iter().map(|i| i.to_json()).collect()),
            Any::Table(pairs) => J::Object(
                pairs
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }

    /// How the value reads in TOML, for messages.
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Any::String(_) => "string",
            Any::Integer(_) => "integer",
            Any::Float(_) => "float",
            Any::Boolean(_) => "boolean",
            Any::Array(_) => "array",
            Any::Table(_) => "table",
        }
    }
}

impl<'de> Deserialize<'de> for Any {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(AnyVisitor)
    }
}

impl schemars::JsonSchema for Any {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "AnyValue".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!(true)
    }
}

struct AnyVisitor;

impl<'de> Visitor<'de> for AnyVisitor {
    type Value = Any;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Any, E> {
        Ok(Any::Boolean(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Any, E> {
        Ok(Any::Integer(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Any, E> {
        i64::try_from(v)
            .map(Any::Integer)
            .map_err(|_| E::custom("integer out of range"))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Any, E> {
        Ok(Any::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Any, E> {
        Ok(Any::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Any, E> {
        Ok(Any::String(v))
    }
    fn visit_char<E>(self, v: char) -> Result<Any, E> {
        Ok(Any::String(v.to_string()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Any, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<Any>>()? {
            items.push(item);
        }
        Ok(Any::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Any, A::Error> {
        let mut pairs = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value::<Spanned<Any>>()?;
            pairs.push((key, value));
        }
        Ok(Any::Table(pairs))
    }
}

/// A table whose values are spanned, in the file's key order (headers, query, captures).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Pairs<T>(pub Vec<(String, Spanned<T>)>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Pairs<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PairsVisitor<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for PairsVisitor<T> {
            type Value = Pairs<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a table")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Pairs<T>, A::Error> {
                let mut pairs = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    pairs.push((key, map.next_value::<Spanned<T>>()?));
                }
                Ok(Pairs(pairs))
            }
        }
        deserializer.deserialize_map(PairsVisitor(std::marker::PhantomData))
    }
}

impl<T: schemars::JsonSchema> schemars::JsonSchema for Pairs<T> {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        format!("Table_of_{}", T::schema_name()).into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let values = generator.subschema_for::<T>();
        schemars::json_schema!({ "type": "object", "additionalProperties": values })
    }
}

/// Encodes a spanned value as figment values in toml's spanned shape, so that extracting a
/// file type from the figment gives back the same spans.
pub(crate) fn to_figment(value: &Spanned<Any>) -> figment::value::Value {
    use figment::value::Value as F;
    let inner = match &value.value {
        Any::String(s) => F::from(s.clone()),
        Any::Integer(n) => F::from(*n),
        Any::Float(x) => F::from(*x),
        Any::Boolean(b) => F::from(*b),
        Any::Array(items) => F::from(items.iter().map(to_figment).collect::<Vec<_>>()),
        Any::Table(pairs) => F::from(
            pairs
                .iter()
                .map(|(k, v)| (k.clone(), to_figment(v)))
                .collect::<figment::value::Dict>(),
        ),
    };
    wrap(value.span.clone(), inner)
}

/// One value in toml's spanned shape.
pub(crate) fn wrap(span: Range<usize>, inner: figment::value::Value) -> figment::value::Value {
    let mut dict = figment::value::Dict::new();
    dict.insert(START.into(), span.start.into());
    dict.insert(END.into(), span.end.into());
    dict.insert(VALUE.into(), inner);
    dict.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_hands_over_spans_under_the_names_the_figment_encoding_uses() {
        // If toml ever renames its private spanned struct, the figment path would lose spans.
        struct Probe;
        impl<'de> Deserializer<'de> for Probe {
            type Error = de::value::Error;
            fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
                Err(de::Error::custom("any"))
            }
            fn deserialize_struct<V: Visitor<'de>>(
                self,
                name: &'static str,
                fields: &'static [&'static str],
                _: V,
            ) -> Result<V::Value, Self::Error> {
                assert_eq!(name, SPANNED_NAME);
                assert_eq!(fields, [START, END, VALUE]);
                Err(de::Error::custom("checked"))
            }
            serde::forward_to_deserialize_any! {
                bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
                byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
                identifier ignored_any
            }
        }
        let err = Spanned::<u32>::deserialize(Probe).unwrap_err();
        assert_eq!(err.to_string(), "checked");
    }
}
