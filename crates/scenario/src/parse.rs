//! Reading a file: `kind` first, then the whole file strictly into that kind's struct.
//!
//! The strict pass skips and reports every unknown key, at every depth (see [`crate::lenient`]),
//! so one typo does not hide the file's other problems; a top-level key that belongs to
//! another kind says so instead of just "unknown".

use std::ops::Range;

use crate::diag::Sink;
use crate::file::{BurstFile, CapacityFile, SmokeFile, SoakFile, StagesFile, ThroughputFile};
use crate::lenient;
use crate::schema;
use stampede_plan::Kind;

/// A parsed file of one kind.
// One of these exists per load, briefly: boxing would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub(crate) enum KindFile {
    Smoke(SmokeFile),
    Capacity(CapacityFile),
    Throughput(ThroughputFile),
    Burst(BurstFile),
    Soak(SoakFile),
    Stages(StagesFile),
}

pub(crate) const KINDS: [Kind; 6] = [
    Kind::Smoke,
    Kind::Capacity,
    Kind::Throughput,
    Kind::Burst,
    Kind::Soak,
    Kind::Stages,
];

/// Just enough of a file to know its kind, and the one key whose shape differs by kind.
#[derive(serde::Deserialize)]
struct Probe {
    kind: Option<toml::Spanned<toml::Value>>,
    users: Option<toml::Spanned<toml::Value>>,
}

/// Reads the file's kind, reporting a missing or unknown one.
pub(crate) fn kind(source: &str, sink: &mut Sink<'_>) -> Option<Kind> {
    let probe = match toml::from_str::<Probe>(source) {
        Ok(probe) => probe,
        Err(err) => {
            toml_error(sink, &err, None);
            return None;
        }
    };
    let Some(kind) = probe.kind else {
        sink.file_error(
            "missing key `kind`",
            Some(
                "start the file with `kind = \"smoke\"` (or capacity, throughput, burst, soak, stages)"
                    .into(),
            ),
        );
        return None;
    };
    let span = kind.span();
    let Some(text) = kind.get_ref().as_str() else {
        sink.hint(
            span,
            "`kind` must be a string",
            "kind = \"smoke\" (or capacity, throughput, burst, soak, stages)",
        );
        return None;
    };
    let Some(found) = KINDS.into_iter().find(|k| k.as_str() == text) else {
        let names = KINDS.map(Kind::as_str);
        let hint = suggest(text, names.iter().copied())
            .map(|s| format!("did you mean `{s}`?"))
            .unwrap_or_else(|| format!("expected one of: {}", names.join(", ")));
        sink.hint(span, format!("unknown kind `{text}`"), hint);
        return None;
    };
    if let Some(users) = probe.users {
        check_users_shape(found, users.span(), users.get_ref(), sink);
    }
    Some(found)
}

/// `users = [..]` is the capacity sweep; everywhere else `users` is one number.
fn check_users_shape(kind: Kind, span: Range<usize>, users: &toml::Value, sink: &mut Sink<'_>) {
    match (kind, users) {
        (Kind::Capacity, toml::Value::Integer(n)) => sink.hint(
            span,
            "`users` in a capacity scenario is a list of user counts, one step each",
            format!("users = [{n}]"),
        ),
        (Kind::Capacity, _) => {}
        (_, toml::Value::Array(_)) => sink.hint(
            span,
            format!(
                "`users = [..]` is a capacity key; this file is kind = \"{}\"",
                kind.as_str()
            ),
            "give one number, users = 10, or make it kind = \"capacity\"",
        ),
        _ => {}
    }
}

/// Parses the whole file into its kind's struct, reporting every key that does not belong.
/// `Some` when the file parsed apart from its unknown keys, with where their values are.
pub(crate) fn file(
    kind: Kind,
    source: &str,
    sink: &mut Sink<'_>,
) -> Option<(KindFile, Vec<Range<usize>>)> {
    let (parsed, unknown) = match kind {
        Kind::Smoke => map(lenient::from_str(source), KindFile::Smoke),
        Kind::Capacity => map(lenient::from_str(source), KindFile::Capacity),
        Kind::Throughput => map(lenient::from_str(source), KindFile::Throughput),
        Kind::Burst => map(lenient::from_str(source), KindFile::Burst),
        Kind::Soak => map(lenient::from_str(source), KindFile::Soak),
        Kind::Stages => map(lenient::from_str(source), KindFile::Stages),
    };
    for key in &unknown {
        if key.expected.contains(&"kind") {
            misplaced_key(kind, &key.key, key.key_span.clone(), sink);
        } else {
            if let Some(meant) = suggest(&key.key, key.expected.iter().copied()) {
                sink.suggested(meant);
            }
            let hint = did_you_mean(&key.key, key.expected.iter().copied()).or_else(|| {
                (!key.expected.is_empty())
                    .then(|| format!("expected one of: {}", key.expected.join(", ")))
            });
            sink.maybe_hint(
                key.key_span.clone(),
                format!("unknown key `{}`", key.key),
                hint,
            );
        }
    }
    match parsed {
        Ok(file) => Some((file, unknown.into_iter().map(|k| k.value_span).collect())),
        Err(err) => {
            let already = err.span().is_some_and(|s| sink.reported_at(s.start));
            if !already {
                toml_error(sink, &err, Some(kind));
            }
            None
        }
    }
}

fn map<T>(
    (parsed, unknown): (Result<T, toml::de::Error>, Vec<lenient::Unknown>),
    kind: fn(T) -> KindFile,
) -> (Result<KindFile, toml::de::Error>, Vec<lenient::Unknown>) {
    (parsed.map(kind), unknown)
}

/// A top-level key the kind does not have: another kind's, or a typo.
pub(crate) fn misplaced_key(kind: Kind, key: &str, span: Range<usize>, sink: &mut Sink<'_>) {
    if let Some(owner) = owner_of(key, kind) {
        sink.hint(
            span,
            format!(
                "`{key}` is a {} key; this file is kind = \"{}\"",
                owner.as_str(),
                kind.as_str()
            ),
            format!(
                "keys of a {} scenario: {}",
                kind.as_str(),
                schema::kind_keys(kind).join(", ")
            ),
        );
    } else {
        let known = schema::top_level_keys(kind);
        if let Some(meant) = suggest(key, known.iter().map(String::as_str)) {
            sink.suggested(meant);
        }
        sink.maybe_hint(
            span,
            format!("unknown key `{key}`"),
            did_you_mean(key, known.iter().map(String::as_str)),
        );
    }
}

/// The other kind that has `key` at the top level, if any.
pub(crate) fn owner_of(key: &str, not: Kind) -> Option<Kind> {
    KINDS
        .into_iter()
        .filter(|&k| k != not)
        .find(|&k| schema::top_level_keys(k).iter().any(|known| known == key))
}

/// Turns a toml error into a diagnostic, rewording serde's messages where ours say more.
pub(crate) fn toml_error(sink: &mut Sink<'_>, err: &toml::de::Error, kind: Option<Kind>) {
    let message = err.message().trim_end();
    let span = err.span();
    if let Some(rest) = message.strip_prefix("unknown field ") {
        let quoted = backticked(rest);
        if let (Some(key), Some(span)) = (quoted.first(), span.clone()) {
            let expected = &quoted[1..];
            if let (Some(kind), true) = (kind, expected.iter().any(|k| k == "kind")) {
                misplaced_key(kind, key, span, sink);
            } else {
                let hint = did_you_mean(key, expected.iter().map(String::as_str)).or_else(|| {
                    (!expected.is_empty())
                        .then(|| format!("expected one of: {}", expected.join(", ")))
                });
                sink.maybe_hint(span, format!("unknown key `{key}`"), hint);
            }
            return;
        }
    }
    let message = message
        .replace("missing field", "missing key")
        .replace("unknown variant", "unknown value")
        .replace("invalid type: sequence", "invalid type: array")
        .replace("invalid type: map", "invalid type: table")
        .replace("expected a sequence", "expected an array")
        .replace("expected a map", "expected a table");
    match span {
        Some(span) => sink.error(span, message),
        None => sink.file_error(message, None),
    }
}

/// The `quoted` words of a serde message, in order.
fn backticked(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// The closest of `candidates` to `word`, when close enough to be a likely typo.
pub(crate) fn suggest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(word, c), c))
        .filter(|&(distance, c)| {
            distance <= 2.max(c.len() / 3) && distance < c.len().max(word.len())
        })
        .min_by_key(|&(distance, _)| distance)
        .map(|(_, c)| c)
}

pub(crate) fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    suggest(word, candidates).map(|s| format!("did you mean `{s}`?"))
}
