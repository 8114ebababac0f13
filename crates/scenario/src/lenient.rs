//! Strict parsing that reports every unknown key and carries on past them.
//!
//! The file types deny unknown fields, and serde stops at the first problem, so one typo used
//! to hide every other problem of the file. This wraps toml's deserializer: each table read into
//! a struct skips (and records, with the key's and value's positions) the keys that struct does
//! not have, so the struct parses, validation runs, and the unknown keys are reported beside
//! everything else. Values are read exactly as before otherwise: spans, types and errors are
//! toml's own. A table read as a condition table (`{ limit = .. }`) is still strict.

use std::cell::RefCell;
use std::marker::PhantomData;
use std::ops::Range;

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess,
    Visitor,
};

use crate::spanned::{SPANNED_NAME, Spanned};

/// A key the file has where its table has no such key.
#[derive(Clone, Debug)]
pub(crate) struct Unknown {
    pub(crate) key: String,
    pub(crate) key_span: Range<usize>,
    /// Where its value is, to leave it out when the file is re-read with overrides.
    pub(crate) value_span: Range<usize>,
    /// The keys the table has.
    pub(crate) expected: &'static [&'static str],
}

type Found = RefCell<Vec<Unknown>>;

/// Parses `source` into `T`, skipping unknown keys; returns them beside the result.
pub(crate) fn from_str<T: DeserializeOwned>(
    source: &str,
) -> (Result<T, toml::de::Error>, Vec<Unknown>) {
    let found = RefCell::new(Vec::new());
    let result = toml::de::Deserializer::parse(source).and_then(|de| {
        T::deserialize(Lenient {
            inner: de,
            found: &found,
        })
    });
    (result, found.into_inner())
}

struct Lenient<'f, D> {
    inner: D,
    found: &'f Found,
}

struct Wrapped<'f, V> {
    inner: V,
    found: &'f Found,
    /// The struct's keys, when the map being read is a struct; `None` reads every key.
    fields: Option<&'static [&'static str]>,
}

struct Seed<'f, S> {
    inner: S,
    found: &'f Found,
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Seed<'_, S> {
    type Value = S::Value;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<S::Value, D::Error> {
        self.inner.deserialize(Lenient {
            inner: deserializer,
            found: self.found,
        })
    }
}

impl<'f, D> Lenient<'f, D> {
    fn wrap<V>(&self, visitor: V) -> Wrapped<'f, V> {
        Wrapped {
            inner: visitor,
            found: self.found,
            fields: None,
        }
    }
}

/// Forwards `deserialize_*` methods to the inner deserializer with the visitor wrapped.
macro_rules! forward {
    ($($method:ident ( $($arg:ident : $ty:ty),* ))*) => {
        $(
            fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, D::Error> {
                let wrapped = self.wrap(visitor);
                self.inner.$method($($arg,)* wrapped)
            }
        )*
    };
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Lenient<'_, D> {
    type Error = D::Error;

    forward! {
        deserialize_any() deserialize_bool() deserialize_i8() deserialize_i16()
        deserialize_i32() deserialize_i64() deserialize_i128() deserialize_u8()
        deserialize_u16() deserialize_u32() deserialize_u64() deserialize_u128()
        deserialize_f32() deserialize_f64() deserialize_char() deserialize_str()
        deserialize_string() deserialize_bytes() deserialize_byte_buf()
        deserialize_option() deserialize_unit() deserialize_seq() deserialize_map()
        deserialize_identifier() deserialize_ignored_any()
        deserialize_unit_struct(name: &'static str)
        deserialize_newtype_struct(name: &'static str)
        deserialize_tuple(len: usize)
        deserialize_tuple_struct(name: &'static str, len: usize)
        deserialize_enum(name: &'static str, variants: &'static [&'static str])
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        // A spanned value's own keys are toml's: read them all, and the value inside leniently.
        let fields = (name != SPANNED_NAME).then_some(fields);
        let wrapped = Wrapped {
            inner: visitor,
            found: self.found,
            fields,
        };
        self.inner
            .deserialize_struct(name, fields.unwrap_or(&[]), wrapped)
    }

    fn is_human_readable(&self) -> bool {
        self.inner.is_human_readable()
    }
}

/// Forwards `visit_*` methods of plain values unchanged.
macro_rules! visit {
    ($($method:ident ( $ty:ty ))*) => {
        $(
            fn $method<E: de::Error>(self, v: $ty) -> Result<V::Value, E> {
                self.inner.$method(v)
            }
        )*
    };
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Wrapped<'_, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner.expecting(f)
    }

    visit! {
        visit_bool(bool) visit_i8(i8) visit_i16(i16) visit_i32(i32) visit_i64(i64)
        visit_i128(i128) visit_u8(u8) visit_u16(u16) visit_u32(u32) visit_u64(u64)
        visit_u128(u128) visit_f32(f32) visit_f64(f64) visit_char(char) visit_str(&str)
        visit_string(String) visit_bytes(&[u8]) visit_byte_buf(Vec<u8>)
        visit_borrowed_str(&'de str) visit_borrowed_bytes(&'de [u8])
    }

    fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
        self.inner.visit_none()
    }

    fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
        self.inner.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        self.inner.visit_some(Lenient {
            inner: d,
            found: self.found,
        })
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        self.inner.visit_newtype_struct(Lenient {
            inner: d,
            found: self.found,
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        self.inner.visit_seq(Wrapped {
            inner: seq,
            found: self.found,
            fields: None,
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.inner.visit_map(Wrapped {
            inner: map,
            found: self.found,
            fields: self.fields,
        })
    }

    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<V::Value, A::Error> {
        self.inner.visit_enum(data)
    }
}

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for Wrapped<'_, A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, A::Error> {
        self.inner.next_element_seed(Seed {
            inner: seed,
            found: self.found,
        })
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Wrapped<'_, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        let Some(fields) = self.fields else {
            return self.inner.next_key_seed(seed);
        };
        // Bounded by the table's own keys: each turn consumes one.
        loop {
            let Some(key) = self.inner.next_key_seed(PhantomData::<Spanned<String>>)? else {
                return Ok(None);
            };
            if fields.contains(&key.value.as_str()) {
                let name = de::value::StringDeserializer::<A::Error>::new(key.value);
                return seed.deserialize(name).map(Some);
            }
            let value: Spanned<IgnoredAny> = self.inner.next_value()?;
            self.found.borrow_mut().push(Unknown {
                key: key.value,
                key_span: key.span,
                value_span: value.span,
                expected: fields,
            });
        }
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, A::Error> {
        self.inner.next_value_seed(Seed {
            inner: seed,
            found: self.found,
        })
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        a: Option<Spanned<u32>>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Outer {
        inner: Option<Spanned<Inner>>,
        list: Option<Spanned<Vec<Spanned<Inner>>>>,
    }

    #[test]
    fn every_unknown_key_is_found_and_the_rest_parses() {
        let source = "typo = 1\n[inner]\na = 2\nb = 3\n[[list]]\nc = { x = 1 }\na = 4\n";
        let (parsed, unknown) = from_str::<Outer>(source);
        let outer = parsed.expect("parses past unknown keys");
        let inner = outer.inner.expect("inner");
        assert_eq!(inner.a.as_ref().map(|a| a.value), Some(2));
        assert_eq!(
            outer.list.expect("list")[0].a.as_ref().map(|a| a.value),
            Some(4)
        );
        let mut keys: Vec<(usize, &str, &str)> = unknown
            .iter()
            .map(|u| {
                (
                    u.key_span.start,
                    u.key.as_str(),
                    &source[u.value_span.clone()],
                )
            })
            .collect();
        keys.sort();
        assert_eq!(
            keys,
            [(0, "typo", "1"), (23, "b", "3"), (38, "c", "{ x = 1 }")]
        );
    }

    #[test]
    fn other_errors_keep_their_positions() {
        let (parsed, _) = from_str::<Outer>("[inner]\na = \"two\"\n");
        let err = parsed.unwrap_err();
        assert_eq!(err.span(), Some(12..17));
    }
}
