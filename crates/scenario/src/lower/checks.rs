//! What would be sent, checked before anything is: `validate` ok means `run` starts.
//!
//! The engine builds each request with the `http` crate's parsers and refuses (a static path)
//! or silently replaces (a rendered one) what they reject. So each request is rendered here the
//! way the engine renders it, with placeholder values for what changes per request (user 0,
//! iteration 0, sequence 0, data row 0, captures "x", `${env:..}` as given), and checked with
//! the same parsers. Control characters (a CR/LF that would split a header) are refused in
//! literals with their own message.
//!
//! A message never shows a secret: text that holds an `${env:..}` value or a credential header
//! is shown as `<redacted>`, the way `stampede plan` shows it.

use std::ops::Range;

use crate::file::{DefaultsFile, RequestFile};
use crate::limits;
use crate::spanned::{Pairs, Spanned};
use stampede_plan::template::Context;
use stampede_plan::{DataSet, Request};

use super::Lowerer;

const REDACTED: &str = "<redacted>";

/// The per-request values a template is rendered with at validation time.
struct Placeholders<'a> {
    data: Option<&'a DataSet>,
}

impl Context for Placeholders<'_> {
    fn vu(&self) -> u64 {
        0
    }
    fn iteration(&self) -> u64 {
        0
    }
    fn next_seq(&mut self) -> u64 {
        0
    }
    fn next_run_seq(&mut self) -> u64 {
        0
    }
    fn now_ms(&self) -> u64 {
        0
    }
    fn rand(&mut self, lo: i64, _hi: i64) -> i64 {
        lo
    }
    fn random_u128(&mut self) -> u128 {
        0
    }
    fn data(&self, column: usize) -> &str {
        self.data
            .and_then(|d| d.rows.first())
            .and_then(|row| row.get(column))
            .map_or("", String::as_str)
    }
    fn capture(&self, _slot: usize) -> &str {
        "x"
    }
}

/// Text for a message: `<redacted>` when secret, else escaped (a CR shows as `\r`) and cut
/// short, so a message is always one readable line.
pub(crate) fn shown(text: &str, secret: bool) -> String {
    if secret {
        return REDACTED.to_owned();
    }
    let escaped: String = text.escape_debug().collect();
    match escaped.char_indices().nth(80) {
        Some((at, _)) => format!("{}...", &escaped[..at]),
        None => escaped,
    }
}

/// The first control character of `text`, named, when there is one.
pub(crate) fn control(text: &str) -> Option<&'static str> {
    text.chars().find(|c| c.is_control()).map(named)
}

/// The first character that would end a header line (CR, LF, NUL), named.
fn line_break(text: &str) -> Option<&'static str> {
    text.chars()
        .find(|c| matches!(c, '\r' | '\n' | '\0'))
        .map(named)
}

fn named(c: char) -> &'static str {
    match c {
        '\r' => "a carriage return (CR)",
        '\n' => "a line feed (LF)",
        '\t' => "a tab",
        '\0' => "a NUL byte",
        _ => "a control character",
    }
}

/// The scenario name is one safe path component: it names results folders, locks and logs.
pub(crate) fn safe_name(name: &str) -> Result<(), String> {
    let allowed = |c: char| c.is_alphanumeric() || " -_.+,()@#".contains(c);
    if name.chars().count() > limits::MAX_NAME_CHARS {
        return Err(format!(
            "`name` is longer than {} characters",
            limits::MAX_NAME_CHARS
        ));
    }
    if name.starts_with('.') || name.contains("..") {
        return Err(format!(
            "`name` `{}` starts with `.` or holds `..`",
            shown(name, false)
        ));
    }
    if name != name.trim() {
        return Err(format!(
            "`name` `{}` starts or ends with a space",
            shown(name, false)
        ));
    }
    match name.chars().find(|&c| !allowed(c)) {
        Some(c) => Err(format!(
            "`name` `{}` holds `{}`, which is not allowed in a name",
            shown(name, false),
            c.escape_debug()
        )),
        None => Ok(()),
    }
}

impl Lowerer<'_> {
    /// Checks a lowered request as the engine will build it.
    pub(super) fn check_sendable(
        &mut self,
        file: &Spanned<RequestFile>,
        defaults: Option<&DefaultsFile>,
        request: &Request,
    ) {
        // Taken for the check and put back: a data set can be large, so it is never copied.
        let data = self.data.take();
        let mut ctx = Placeholders {
            data: data.as_ref(),
        };
        self.check_rendered(file, defaults, request, &mut ctx);
        self.data = data;
    }

    fn check_rendered(
        &mut self,
        file: &Spanned<RequestFile>,
        defaults: Option<&DefaultsFile>,
        request: &Request,
        ctx: &mut Placeholders<'_>,
    ) {
        let path_span = file
            .path
            .as_ref()
            .or(file.url.as_ref())
            .map_or(file.span.clone(), |p| p.span.clone());
        let path = request.path.render(ctx);
        let mut uri = format!("{}{path}", self.path_prefix());
        for (key, value) in &request.query {
            uri.push(if uri.contains('?') { '&' } else { '?' });
            encode_query(key, &mut uri);
            uri.push('=');
            encode_query(&value.render(ctx), &mut uri);
        }
        let secret = request.path.is_secret();
        if let Some(what) = control(&path) {
            self.sink.hint(
                path_span,
                format!("path `{}` holds {what}", shown(&path, secret)),
                "a path is one line of visible characters; percent-encode others (%0D%0A)",
            );
        } else if uri.len() > limits::MAX_LINE_BYTES {
            self.sink.error(
                path_span,
                format!(
                    "the request URI is longer than {} bytes",
                    limits::MAX_LINE_BYTES
                ),
            );
        } else if let Err(err) = http::Uri::try_from(uri.as_str()) {
            let secret = secret || request.query.iter().any(|(_, v)| v.is_secret());
            self.sink.hint(
                path_span,
                format!("path `{}` is not a valid URI: {err}", shown(&uri, secret)),
                "percent-encode spaces and other reserved characters (%20), or move them to `query`",
            );
        }
        if let Some(query) = &file.query {
            for (key, value) in &query.0 {
                if let Some(what) = control(key) {
                    self.sink.error(
                        value.span.clone(),
                        format!("query key `{}` holds {what}", shown(key, false)),
                    );
                }
            }
        }
        for (key, value) in &request.query {
            let text = value.render(ctx);
            if let (Some(what), Some(span)) = (
                control(&text),
                self.pair_span(file.query.as_ref().map(|q| &q.value), key),
            ) {
                self.sink.error(
                    span,
                    format!(
                        "query value `{key}` is `{}`, which holds {what}",
                        shown(&text, value.is_secret())
                    ),
                );
            }
        }
        let own = file.headers.as_ref().map(|h| &h.value);
        let inherited = defaults.and_then(|d| d.headers.as_ref()).map(|h| &h.value);
        for header in &request.headers {
            let span = self
                .pair_span(own, &header.name)
                .or_else(|| self.pair_span(inherited, &header.name))
                .unwrap_or(file.span.clone());
            let value = header.value.render(ctx);
            let secret = header.secret || header.value.is_secret();
            self.check_header(span, &header.name, &value, secret);
        }
        if let Some(sign) = &request.sign {
            let span = file
                .sign
                .as_ref()
                .map_or(file.span.clone(), |s| s.span.clone());
            // The plan's `Sign` keeps no secret flag: any `${..}` in the file's header or
            // prefix may have come from the environment, so neither is shown then.
            let hmac = file.sign.as_ref().and_then(|s| s.hmac_sha256.as_ref());
            let templated = |text: Option<&Spanned<String>>| text.is_some_and(|t| t.contains("${"));
            let secret =
                hmac.is_some_and(|h| templated(h.header.as_ref()) || templated(h.prefix.as_ref()));
            let value = format!("{}{}", sign.prefix, "0".repeat(64));
            self.check_header(span, &sign.header, &value, secret);
        }
        if let Some(body) = &request.body
            && body.render(ctx).len() > limits::MAX_BODY_BYTES
        {
            let span = file
                .body
                .as_ref()
                .map_or(file.span.clone(), |b| b.span.clone());
            self.sink.error(
                span,
                format!(
                    "the body is larger than {} MiB",
                    limits::MAX_BODY_BYTES >> 20
                ),
            );
        }
        if request.headers.len() > limits::MAX_HEADERS {
            self.sink.error(
                file.span.clone(),
                format!(
                    "request `{}` has more than {} headers",
                    request.name,
                    limits::MAX_HEADERS
                ),
            );
        }
    }

    fn check_header(&mut self, span: Range<usize>, name: &str, value: &str, secret: bool) {
        if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
            self.sink.error(
                span,
                format!("`{}` is not a valid header name", shown(name, secret)),
            );
            return;
        }
        let problem = if let Some(what) = line_break(value) {
            Some(format!("holds {what}"))
        } else if value.len() > limits::MAX_LINE_BYTES {
            Some(format!("is longer than {} bytes", limits::MAX_LINE_BYTES))
        } else if http::HeaderValue::from_str(value).is_err() {
            Some("is not a valid header value".to_owned())
        } else {
            None
        };
        if let Some(problem) = problem {
            self.sink.hint(
                span,
                format!(
                    "header `{}` value `{}` {problem}",
                    shown(name, false),
                    shown(value, secret)
                ),
                "a header value is one line of visible characters, spaces and tabs",
            );
        }
    }

    /// Where the value of `key` is written in a table, matched as HTTP matches header names.
    fn pair_span<T>(&self, pairs: Option<&Pairs<T>>, key: &str) -> Option<Range<usize>> {
        pairs?
            .0
            .iter()
            .rev()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.span.clone())
    }

    /// The `Host` header the engine sends for an `http://` base-url.
    pub(super) fn check_authority(&mut self, span: Range<usize>, base: &stampede_plan::HttpBase) {
        let authority = base.authority();
        if base
            .host
            .chars()
            .any(|c| c.is_control() || c.is_whitespace())
            || http::HeaderValue::from_str(&authority).is_err()
        {
            self.sink.error(
                span,
                format!(
                    "`{}` is not a valid host and port",
                    shown(&authority, false)
                ),
            );
        }
    }

    fn path_prefix(&self) -> String {
        match &self.base_url {
            stampede_plan::BaseUrl::Http(base) => base.path_prefix.clone(),
            stampede_plan::BaseUrl::Builtin => String::new(),
        }
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters, as the engine does.
fn encode_query(text: &str, out: &mut String) {
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_one_safe_path_component() {
        for good in ["checkout", "Plan 000 A", "api-v2_(eu)", "café"] {
            assert_eq!(safe_name(good), Ok(()), "{good}");
        }
        for bad in [
            "../../x",
            "/abs",
            "a/b",
            "a\\b",
            ".hidden",
            "..",
            "a..b",
            "tab\there",
            " x",
            "x\r\n",
        ] {
            assert!(safe_name(bad).is_err(), "{bad:?}");
        }
        assert!(safe_name(&"x".repeat(101)).is_err());
    }

    #[test]
    fn shown_text_is_one_line_and_secrets_never_show() {
        assert_eq!(shown("/a\r\nb", false), "/a\\r\\nb");
        assert_eq!(shown("hunter2", true), "<redacted>");
        assert!(shown(&"y".repeat(200), false).ends_with("..."));
    }
}
