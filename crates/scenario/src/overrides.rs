//! `--set key=value`, `STAMPEDE_<KEY>` and `--target`, layered over the parsed file by figment.
//!
//! The file is re-encoded as figment values that keep their spans (see [`crate::spanned`]); each
//! override is a provider of its own, named after its source, whose value carries a marker span.
//! Extracting the kind's struct from the figment then gives file values with their positions and
//! override values whose problems name the `--set` argument or the environment variable.

use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};

use crate::diag::{Sink, override_span};
use crate::parse::{self, KindFile};
use crate::schema;
use crate::spanned::{self, Any, Pairs, Spanned};
use stampede_plan::Kind;

/// What the CLI passes in: `--set`, `STAMPEDE_*`, `--target`, `--allow-remote`.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    /// `key=value` pairs from `--set`; dotted keys reach into tables (`defaults.timeout=5s`).
    pub set: Vec<String>,
    /// `STAMPEDE_*` variables (name, value); `STAMPEDE_HOLD` sets `hold`, `STAMPEDE_BASE_URL`
    /// sets `base-url`, and a double underscore reaches into a table
    /// (`STAMPEDE_DEFAULTS__TIMEOUT`).
    pub env: Vec<(String, String)>,
    /// Replaces `base-url`.
    pub target: Option<String>,
    /// Allows a base-url outside loopback.
    pub allow_remote: bool,
}

/// One override, ready to layer.
#[derive(Clone, Debug)]
pub(crate) struct Layer {
    /// Dotted key, kebab-case.
    pub key: String,
    pub raw: String,
    /// How messages name it: "--set users=abc", "environment variable STAMPEDE_USERS".
    pub source: String,
    /// Environment variables apply to every scenario, so a key of another kind is skipped
    /// rather than refused.
    pub lenient: bool,
    /// `--target` is a URL, never parsed as a TOML value.
    pub verbatim: bool,
}

impl Overrides {
    /// Every override in layering order: environment, then `--set`, then `--target`, so the
    /// most explicit wins. `Err` holds the `--set` arguments that have no `=`.
    pub(crate) fn layers(&self) -> (Vec<Layer>, Vec<String>) {
        let mut layers = Vec::new();
        let mut malformed = Vec::new();
        let mut env: Vec<_> = self.env.iter().collect();
        env.sort();
        for (name, value) in env {
            let Some(rest) = name.strip_prefix("STAMPEDE_") else {
                continue;
            };
            let key = rest
                .to_ascii_lowercase()
                .replace("__", ".")
                .replace('_', "-");
            layers.push(Layer {
                key,
                raw: value.clone(),
                source: format!("environment variable {name}"),
                lenient: true,
                verbatim: false,
            });
        }
        for arg in &self.set {
            match arg.split_once('=') {
                Some((key, value)) if !key.trim().is_empty() => layers.push(Layer {
                    key: key.trim().to_owned(),
                    raw: value.trim().to_owned(),
                    source: format!("--set {arg}"),
                    lenient: false,
                    verbatim: false,
                }),
                _ => malformed.push(arg.clone()),
            }
        }
        if let Some(target) = &self.target {
            layers.push(Layer {
                key: "base-url".into(),
                raw: target.clone(),
                source: format!("--target {target}"),
                lenient: false,
                verbatim: true,
            });
        }
        (layers, malformed)
    }
}

/// Keys no override may touch: the kind decides the file's shape, and requests and flows are
/// lists that a dotted key cannot address.
const FIXED: [&str; 3] = ["kind", "request", "flow"];

/// Keeps the layers that apply to this kind, reporting those that cannot.
pub(crate) fn applicable(kind: Kind, layers: Vec<Layer>, sink: &mut Sink<'_>) -> Vec<Layer> {
    let known = schema::top_level_keys(kind);
    let mut kept = Vec::new();
    for layer in layers {
        let top = layer.key.split('.').next().unwrap_or_default();
        if FIXED.contains(&top) {
            sink.override_error(
                format!("`{top}` cannot be overridden (from {})", layer.source),
                Some("edit the scenario file instead".into()),
            );
        } else if known.iter().any(|k| k == top) {
            kept.push(layer);
        } else if let Some(owner) = parse::owner_of(top, kind) {
            if !layer.lenient {
                sink.override_error(
                    format!(
                        "`{top}` is a {} key; this file is kind = \"{}\" (from {})",
                        owner.as_str(),
                        kind.as_str(),
                        layer.source
                    ),
                    None,
                );
            }
        } else {
            sink.override_error(
                format!("unknown key `{top}` (from {})", layer.source),
                parse::did_you_mean(top, known.iter().map(String::as_str)),
            );
        }
    }
    kept
}

/// A figment provider holding one layer of values.
struct Source {
    name: String,
    dict: Dict,
}

impl Provider for Source {
    fn metadata(&self) -> Metadata {
        Metadata::named(self.name.clone())
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Ok(Profile::Default.collect(self.dict.clone()))
    }
}

/// The file with every layer applied, or `None` after reporting why not.
pub(crate) fn apply(
    kind: Kind,
    origin: &str,
    source: &str,
    layers: &[Layer],
    unknown: &[std::ops::Range<usize>],
    sink: &mut Sink<'_>,
) -> Option<KindFile> {
    let mut root = match toml::from_str::<Pairs<Any>>(source) {
        Ok(root) => root,
        Err(err) => {
            parse::toml_error(sink, &err, Some(kind));
            return None;
        }
    };
    // Keys already reported as unknown are left out, so the strict extraction below reads the
    // rest rather than stopping at them again.
    prune(&mut root.0, unknown);
    let mut base: Dict = root
        .0
        .iter()
        .map(|(k, v)| (k.clone(), spanned::to_figment(v)))
        .collect();
    let mut figment = Figment::new();
    let mut providers = Vec::new();
    for (index, layer) in layers.iter().enumerate() {
        let span = override_span(index);
        let segments: Vec<&str> = layer.key.split('.').collect();
        ensure_tables(&mut base, &segments[..segments.len() - 1], span.clone());
        let value = if layer.verbatim {
            Any::String(layer.raw.clone())
        } else {
            toml_value(&layer.raw)
        };
        let leaf = spanned::to_figment(&respan(value, &span));
        providers.push(Source {
            name: layer.source.clone(),
            dict: nest(&segments, leaf),
        });
    }
    figment = figment.merge(Source {
        name: origin.to_owned(),
        dict: base,
    });
    for provider in providers {
        figment = figment.merge(provider);
    }
    let extracted = match kind {
        Kind::Smoke => figment.extract().map(KindFile::Smoke),
        Kind::Capacity => figment.extract().map(KindFile::Capacity),
        Kind::Throughput => figment.extract().map(KindFile::Throughput),
        Kind::Burst => figment.extract().map(KindFile::Burst),
        Kind::Soak => figment.extract().map(KindFile::Soak),
        Kind::Stages => figment.extract().map(KindFile::Stages),
    };
    match extracted {
        Ok(file) => Some(file),
        Err(errors) => {
            for error in errors {
                report(&error, layers, sink);
            }
            None
        }
    }
}

/// Removes, at any depth, the entries whose value is at one of `spans`.
fn prune(pairs: &mut Vec<(String, Spanned<Any>)>, spans: &[std::ops::Range<usize>]) {
    if spans.is_empty() {
        return;
    }
    pairs.retain(|(_, value)| !spans.contains(&value.span));
    for (_, value) in pairs {
        prune_value(value, spans);
    }
}

fn prune_value(value: &mut Spanned<Any>, spans: &[std::ops::Range<usize>]) {
    match &mut value.value {
        Any::Table(pairs) => prune(pairs, spans),
        Any::Array(items) => items.iter_mut().for_each(|item| prune_value(item, spans)),
        _ => {}
    }
}

/// Reads an override value as TOML (`20`, `true`, `[10, 20]`), or else as plain text (`5s`).
fn toml_value(raw: &str) -> Any {
    #[derive(serde::Deserialize)]
    struct One {
        v: Spanned<Any>,
    }
    toml::from_str::<One>(&format!("v = {raw}"))
        .map(|one| one.v.value)
        .unwrap_or_else(|_| Any::String(raw.to_owned()))
}

/// The value with `span` at every depth.
fn respan(value: Any, span: &std::ops::Range<usize>) -> Spanned<Any> {
    let value = match value {
        Any::Array(items) => Any::Array(items.into_iter().map(|i| respan(i.value, span)).collect()),
        Any::Table(pairs) => Any::Table(
            pairs
                .into_iter()
                .map(|(k, v)| (k, respan(v.value, span)))
                .collect(),
        ),
        other => other,
    };
    Spanned::new(span.clone(), value)
}

/// Makes sure the tables on `path` exist in `base`, so that an override inside a table the file
/// does not have merges into a well-formed spanned table.
fn ensure_tables(base: &mut Dict, path: &[&str], span: std::ops::Range<usize>) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    let entry = base
        .entry((*first).to_owned())
        .or_insert_with(|| spanned::wrap(span.clone(), Value::from(Dict::new())));
    if let Value::Dict(_, wrapper) = entry
        && let Some(Value::Dict(_, inner)) = wrapper.get_mut(spanned::VALUE)
    {
        ensure_tables(inner, rest, span);
    }
}

/// `{a: {VALUE: {b: leaf}}}` for the key `a.b`: nested tables in the spanned shape, without
/// start and end, so merging keeps the file's own.
fn nest(segments: &[&str], leaf: Value) -> Dict {
    let mut dict = Dict::new();
    match segments {
        [] => {}
        [last] => {
            dict.insert((*last).to_owned(), leaf);
        }
        [first, rest @ ..] => {
            let mut wrapper = Dict::new();
            wrapper.insert(spanned::VALUE.to_owned(), Value::from(nest(rest, leaf)));
            dict.insert((*first).to_owned(), Value::from(wrapper));
        }
    }
    dict
}

/// One figment error, named by the override it came from.
fn report(error: &figment::Error, layers: &[Layer], sink: &mut Sink<'_>) {
    use figment::error::Kind as K;
    let layer = error
        .metadata
        .as_ref()
        .and_then(|m| layers.iter().rev().find(|l| l.source == m.name));
    let reason = match &error.kind {
        K::InvalidType(_, expected) | K::InvalidValue(_, expected) => {
            format!("expected {expected}")
        }
        K::InvalidLength(_, expected) => format!("expected {expected}"),
        K::Message(message) => message.clone(),
        K::UnknownField(field, expected) => {
            let hint = parse::did_you_mean(field, expected.iter().copied());
            let source = layer.map_or_else(|| "an override".to_owned(), |l| l.source.clone());
            sink.override_error(format!("unknown key `{field}` (from {source})"), hint);
            return;
        }
        K::UnknownVariant(value, expected) => {
            format!(
                "unknown value `{value}`, expected one of: {}",
                expected.join(", ")
            )
        }
        other => other.to_string(),
    };
    match layer {
        Some(layer) => sink.override_error(
            format!(
                "invalid value for `{}` from {}: {reason}",
                layer.key, layer.source
            ),
            None,
        ),
        None => {
            let path: Vec<&str> = error
                .path
                .iter()
                .map(String::as_str)
                .filter(|p| !p.starts_with("$__"))
                .collect();
            sink.override_error(
                format!("invalid value for `{}`: {reason}", path.join(".")),
                None,
            );
        }
    }
}
