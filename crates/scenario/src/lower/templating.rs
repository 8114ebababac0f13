//! `${...}` in paths, query values, headers and bodies, parsed once into [`Template`] parts.
//!
//! Problems point inside the string when the string is written without escapes (then its bytes
//! in the file are its bytes in memory); otherwise they point at the whole string.

use std::ops::Range;

use crate::parse::did_you_mean;
use crate::spanned::{Any, Spanned};
use stampede_plan::template::{Part, Template, Var};

use super::Lowerer;

/// Built-in variable names, for suggestions.
const BUILTINS: [&str; 9] = [
    "uuid",
    "seq",
    "run_seq",
    "vu",
    "iteration",
    "now_ms",
    "pair",
    "partner",
    "msg_id",
];

/// A template being assembled: parts, and whether any came from a secret.
#[derive(Default)]
struct Parts {
    parts: Vec<Part>,
    secret: bool,
    /// Inside a JSON string: variables are JSON-escaped as they are rendered.
    json: bool,
}

impl Parts {
    fn lit(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        if let Some(Part::Lit(last)) = self.parts.last_mut() {
            last.push_str(text);
        } else {
            self.parts.push(Part::Lit(text.to_owned()));
        }
    }

    fn finish(self) -> Template {
        let template = Template::from_parts(self.parts);
        if self.secret {
            template.into_secret()
        } else {
            template
        }
    }
}

impl Lowerer<'_> {
    /// Parses a templated string.
    pub(super) fn template(&mut self, text: &Spanned<String>) -> Template {
        let mut parts = Parts::default();
        self.parse_into(text, &mut parts, &mut |s: &str| s.to_owned());
        parts.finish()
    }

    /// Text that may hold `${env:..}` but nothing that changes per request (an HMAC key).
    /// Returns the text and whether it came from the environment.
    pub(super) fn fixed_text(&mut self, text: &Spanned<String>, key: &str) -> (String, bool) {
        let template = self.template(text);
        let secret = template.is_secret();
        match template.as_static() {
            Some(fixed) => (fixed.to_owned(), secret),
            None => {
                self.sink.error(
                    text.span.clone(),
                    format!("`{key}` cannot hold per-request variables, only ${{env:NAME}}"),
                );
                (String::new(), secret)
            }
        }
    }

    /// A JSON body: the table as JSON text, with templates inside its strings.
    pub(super) fn json_template(&mut self, value: &Spanned<Any>) -> Template {
        let mut parts = Parts::default();
        self.json_into(value, &mut parts);
        parts.finish()
    }

    fn json_into(&mut self, value: &Spanned<Any>, parts: &mut Parts) {
        match &value.value {
            Any::String(text) => {
                let text = Spanned::new(value.span.clone(), text.clone());
                let mut inner = Parts {
                    json: true,
                    ..Parts::default()
                };
                self.parse_into(&text, &mut inner, &mut json_escape);
                parts.secret |= inner.secret;
                match inner.parts.as_slice() {
                    // `"${seq}"` alone is the number itself, as its TOML position suggests.
                    [Part::JsonVar(var)] if var.is_numeric() => {
                        parts.parts.push(Part::Var(var.clone()));
                    }
                    _ => {
                        parts.lit("\"");
                        for part in inner.parts {
                            match part {
                                Part::Lit(text) => parts.lit(&text),
                                other => parts.parts.push(other),
                            }
                        }
                        parts.lit("\"");
                    }
                }
            }
            Any::Array(items) => {
                parts.lit("[");
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        parts.lit(",");
                    }
                    self.json_into(item, parts);
                }
                parts.lit("]");
            }
            Any::Table(pairs) => {
                parts.lit("{");
                for (i, (key, item)) in pairs.iter().enumerate() {
                    if i > 0 {
                        parts.lit(",");
                    }
                    parts.lit(&format!("\"{}\":", json_escape(key)));
                    self.json_into(item, parts);
                }
                parts.lit("}");
            }
            other => parts.lit(&other.to_json().to_string()),
        }
    }

    /// Where the string's own text starts in the file, when file bytes and string bytes agree.
    fn text_start(&self, text: &Spanned<String>) -> Option<usize> {
        let raw = self.source.get(text.span.clone())?;
        for quote in ["\"\"\"", "'''", "\"", "'"] {
            if let Some(inner) = raw.strip_prefix(quote).and_then(|r| r.strip_suffix(quote)) {
                return (inner == text.value).then_some(text.span.start + quote.len());
            }
        }
        None
    }

    fn sub_span(&self, text: &Spanned<String>, range: Range<usize>) -> Range<usize> {
        match self.text_start(text) {
            Some(start) => start + range.start..start + range.end,
            None => text.span.clone(),
        }
    }

    /// Splits `text` into parts; `escape` is applied to literal text (JSON strings need it).
    fn parse_into(
        &mut self,
        text: &Spanned<String>,
        parts: &mut Parts,
        escape: &mut dyn FnMut(&str) -> String,
    ) {
        let s = text.value.as_str();
        let mut at = 0;
        let mut literal_from = 0;
        while at < s.len() {
            let rest = &s[at..];
            if rest.starts_with("$${") {
                parts.lit(&escape(&s[literal_from..at]));
                parts.lit(&escape("${"));
                at += 3;
                literal_from = at;
            } else if rest.starts_with("${") {
                parts.lit(&escape(&s[literal_from..at]));
                let Some(close) = rest.find('}') else {
                    let span = self.sub_span(text, at..s.len());
                    self.sink.hint(
                        span,
                        "unterminated `${` in template",
                        "close it with `}`, or write `$${` for a literal `${`",
                    );
                    return;
                };
                let name = &rest[2..close];
                let span = self.sub_span(text, at..at + close + 1);
                self.variable(name, span, parts, escape);
                at += close + 1;
                literal_from = at;
            } else {
                at += rest.chars().next().map_or(1, char::len_utf8);
            }
        }
        parts.lit(&escape(&s[literal_from..]));
    }

    fn variable(
        &mut self,
        name: &str,
        span: Range<usize>,
        parts: &mut Parts,
        escape: &mut dyn FnMut(&str) -> String,
    ) {
        let name = name.trim();
        let var = match name {
            "uuid" => Var::Uuid,
            "seq" => Var::Seq,
            "run_seq" => Var::RunSeq,
            "vu" => Var::Vu,
            "iteration" => Var::Iteration,
            "now_ms" => Var::NowMs,
            "pair" => Var::Pair,
            "partner" => Var::Partner,
            "msg_id" => Var::MsgId,
            _ => {
                if let Some(range) = name.strip_prefix("rand:") {
                    match parse_range(range) {
                        Some((lo, hi)) => Var::Rand { lo, hi },
                        None => {
                            self.sink.hint(span, format!("invalid `${{{name}}}`"), "write `${rand:LO..HI}` with whole numbers LO <= HI, like `${rand:1..100}`");
                            return;
                        }
                    }
                } else if let Some(variable) = name.strip_prefix("env:") {
                    let (variable, default) = match variable.split_once(":-") {
                        Some((variable, default)) => (variable, Some(default)),
                        None => (variable, None),
                    };
                    match (self.env)(variable).or_else(|| default.map(str::to_owned)) {
                        Some(value) => {
                            parts.lit(&escape(&value));
                            parts.secret = true;
                        }
                        None => self.sink.hint(
                            span,
                            format!("environment variable `{variable}` is not set"),
                            format!("set it, or give a default: `${{env:{variable}:-value}}`"),
                        ),
                    }
                    return;
                } else if let Some(column) = name.strip_prefix("data.") {
                    match self.data_column(column, span) {
                        Some(index) => Var::Data(index),
                        None => return,
                    }
                } else if let Some(slot) = self.captures.iter().position(|c| c == name) {
                    Var::Capture(slot)
                } else {
                    let candidates = BUILTINS
                        .iter()
                        .copied()
                        .chain(self.captures.iter().map(String::as_str));
                    let hint = did_you_mean(name, candidates).unwrap_or_else(|| {
                        "variables: uuid, seq, run_seq, vu, iteration, now_ms, rand:LO..HI, env:NAME, data.COLUMN, or a name captured by a request".to_owned()
                    });
                    self.sink
                        .hint(span, format!("unknown variable `${{{name}}}`"), hint);
                    return;
                }
            }
        };
        parts.parts.push(if parts.json {
            Part::JsonVar(var)
        } else {
            Part::Var(var)
        });
    }

    fn data_column(&mut self, column: &str, span: Range<usize>) -> Option<usize> {
        let Some(data) = &self.data else {
            self.sink.hint(
                span,
                format!("`${{data.{column}}}` needs a [data] table"),
                "add [data] with file = \"users.csv\"",
            );
            return None;
        };
        if let Some(index) = data.columns.iter().position(|c| c == column) {
            return Some(index);
        }
        let hint = did_you_mean(column, data.columns.iter().map(String::as_str))
            .unwrap_or_else(|| format!("columns: {}", data.columns.join(", ")));
        let message = format!("no column `{column}` in {}", data.file);
        self.sink.hint(span, message, hint);
        None
    }
}

fn parse_range(text: &str) -> Option<(i64, i64)> {
    let (lo, hi) = text.split_once("..")?;
    let lo: i64 = lo.trim().parse().ok()?;
    let hi: i64 = hi.trim().parse().ok()?;
    (lo <= hi).then_some((lo, hi))
}

/// Escapes text for the inside of a JSON string.
fn json_escape(text: &str) -> String {
    let quoted = serde_json::Value::String(text.to_owned()).to_string();
    quoted[1..quoted.len() - 1].to_owned()
}
