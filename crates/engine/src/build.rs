//! Building one request: static parts shared from `prepare`, templated parts rendered with the
//! user's state, the body signed, and for HTTP/2 an absolute URI in place of `Host`.
//!
//! Knows nothing of connections or statistics: a user's state in, an `http::Request` out, or
//! for the lean HTTP/1.1 client only the parts it writes (no header map cloned, no URI parsed,
//! per request).

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use hmac::{Hmac, Mac};
use http::header::HOST;
use http::{HeaderMap, HeaderName, HeaderValue, Uri};
use http_body_util::Full;
use sha2::Sha256;
use stampede_plan::Context;

use crate::rng::Rng;
use crate::workload::Workload;

/// The per-user state a template sees.
pub(crate) struct Ctx<'a> {
    pub(crate) work: &'a Workload,
    pub(crate) vu: u64,
    pub(crate) iteration: u64,
    pub(crate) rng: &'a mut Rng,
    pub(crate) captures: &'a [String],
    /// The draws `DataSet::row` chooses this iteration's `[data]` row from.
    pub(crate) row: (u64, u64),
    /// The user's own `${seq}` counter.
    pub(crate) seq: &'a mut u64,
    /// The `${msg_id}`s rendered, for the mailbox once the request is sent.
    pub(crate) msg_ids: &'a mut Vec<u64>,
}

impl Context for Ctx<'_> {
    fn vu(&self) -> u64 {
        self.vu
    }
    fn iteration(&self) -> u64 {
        self.iteration
    }
    fn next_seq(&mut self) -> u64 {
        let value = *self.seq;
        *self.seq += 1;
        value
    }
    fn next_run_seq(&mut self) -> u64 {
        self.work.next_run_seq()
    }
    fn now_ms(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64)
    }
    fn rand(&mut self, lo: i64, hi: i64) -> i64 {
        self.rng.range_i64(lo, hi)
    }
    fn random_u128(&mut self) -> u128 {
        (u128::from(self.rng.next_u64()) << 64) | u128::from(self.rng.next_u64())
    }
    fn data(&self, column: usize) -> &str {
        match &self.work.plan.data {
            Some(data) => data
                .row(self.vu, self.row.0, self.row.1)
                .get(column)
                .map_or("", String::as_str),
            None => "",
        }
    }
    fn capture(&self, slot: usize) -> &str {
        self.captures.get(slot).map_or("", String::as_str)
    }
    fn next_msg_id(&mut self) -> u64 {
        let id = self.work.mailbox.next_id(self.work.share);
        self.msg_ids.push(id);
        id
    }
}

/// Builds request `id`, and hands back its body too (shared bytes, for the debug output);
/// `text` is a reused buffer; `h2` asks for HTTP/2's absolute form.
pub(crate) fn build(
    ctx: &mut Ctx<'_>,
    id: usize,
    text: &mut String,
    h2: bool,
) -> (http::Request<Full<Bytes>>, Bytes) {
    let work = ctx.work;
    let prepared = &work.prepared[id];
    let uri = match &prepared.uri {
        Some(uri) => uri.clone(),
        None => {
            render_target(ctx, id, text);
            parsed_target(text)
        }
    };
    let body = render_body(ctx, id);
    let mut headers = prepared.headers.clone();
    render_headers(ctx, id, |name, value| {
        headers.append(name.clone(), value);
    });
    sign(ctx, id, &body, &mut headers);
    let uri = if h2 {
        // HTTP/2 names the server in `:scheme` and `:authority`, taken from an absolute URI;
        // `Host` would only repeat it.
        headers.remove(HOST);
        absolute(work, uri)
    } else {
        uri
    };
    let mut built = http::Request::new(Full::new(body.clone()));
    *built.method_mut() = prepared.method.clone();
    *built.uri_mut() = uri;
    *built.headers_mut() = headers;
    (built, body)
}

/// Renders request `id` as parts for the lean HTTP/1.1 client, which needs no `http::Request`
/// (a header map cloned and a URI parsed per request): its target into `target`, its templated
/// headers into `headers` (the prepared ones are read where they are), and its body, handed
/// back. `None` for a signed request, whose signature replaces a header: [`build`] takes it.
pub(crate) fn render_parts(
    ctx: &mut Ctx<'_>,
    id: usize,
    target: &mut String,
    headers: &mut Vec<(HeaderName, HeaderValue)>,
) -> Option<Bytes> {
    let work = ctx.work;
    if work.plan.requests[id].sign.is_some() {
        return None;
    }
    match &work.prepared[id].uri {
        Some(uri) => {
            target.clear();
            target.push_str(uri.path_and_query().map_or("/", |pq| pq.as_str()));
        }
        None => {
            render_target(ctx, id, target);
            if !sent_as_rendered(target) {
                // What `build` would send: the `http` crate's reading of it, or "/".
                let uri = parsed_target(target);
                let path = uri
                    .path_and_query()
                    .map_or("/", |pq| pq.as_str())
                    .to_owned();
                *target = path;
            }
        }
    }
    // In `build`'s order, so that counters and random draws land in the same places.
    let body = render_body(ctx, id);
    headers.clear();
    render_headers(ctx, id, |name, value| headers.push((name.clone(), value)));
    Some(body)
}

/// The templated headers of request `id`, rendered; a value that is not a valid header value
/// is left out.
fn render_headers(ctx: &mut Ctx<'_>, id: usize, mut each: impl FnMut(&HeaderName, HeaderValue)) {
    for (name, template, secret) in &ctx.work.prepared[id].dynamic_headers {
        let mut value = String::new();
        template.render_into(ctx, &mut value);
        if let Ok(mut value) = HeaderValue::from_str(&value) {
            value.set_sensitive(*secret);
            each(name, value);
        }
    }
}

/// The body of request `id`: shared when it is not templated.
fn render_body(ctx: &mut Ctx<'_>, id: usize) -> Bytes {
    let work = ctx.work;
    match &work.prepared[id].body {
        Some(bytes) => bytes.clone(),
        None => {
            let mut text = String::new();
            if let Some(template) = &work.plan.requests[id].body {
                template.render_into(ctx, &mut text);
            }
            Bytes::from(text)
        }
    }
}

/// The path and query of a request whose path or query is templated, into `text`.
fn render_target(ctx: &mut Ctx<'_>, id: usize, text: &mut String) {
    let work = ctx.work;
    let request = &work.plan.requests[id];
    text.clear();
    text.push_str(&work.prefix);
    request.path.render_into(ctx, text);
    for (key, value) in &request.query {
        text.push(if text.contains('?') { '&' } else { '?' });
        encode_query(key, text);
        text.push('=');
        let mut rendered = String::new();
        value.render_into(ctx, &mut rendered);
        encode_query(&rendered, text);
    }
}

/// A rendered target as a URI. A template that renders into an invalid one is the scenario's
/// fault, sent as "/" would hide it; it fails at the server as a 4xx instead of crashing the
/// run.
fn parsed_target(text: &str) -> Uri {
    Uri::try_from(text).unwrap_or_else(|_| Uri::from_static("/"))
}

/// Whether a rendered target goes out as it is: an absolute path of RFC 3986 path and query
/// characters only, which the `http` crate would keep unchanged too. Anything else (a space, a
/// `#`, a byte past ASCII) is left to it, so both clients send the same target.
fn sent_as_rendered(text: &str) -> bool {
    text.starts_with('/')
        && text.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'-' | b'.'
                        | b'_'
                        | b'~'
                        | b'!'
                        | b'$'
                        | b'&'
                        | b'\''
                        | b'('
                        | b')'
                        | b'*'
                        | b'+'
                        | b','
                        | b';'
                        | b'='
                        | b':'
                        | b'@'
                        | b'/'
                        | b'?'
                        | b'%'
                )
        })
}

/// `scheme://authority/path?query` from a path and query.
pub(crate) fn absolute(work: &Workload, uri: Uri) -> Uri {
    let mut parts = uri.into_parts();
    parts.scheme = Some(work.origin.scheme.clone());
    parts.authority = Some(work.origin.authority.clone());
    if parts.path_and_query.is_none() {
        parts.path_and_query = Some(http::uri::PathAndQuery::from_static("/"));
    }
    Uri::from_parts(parts).unwrap_or_else(|_| Uri::from_static("/"))
}

/// HMAC-SHA256 of the final body, as the request's `sign` says.
fn sign(ctx: &Ctx<'_>, id: usize, body: &[u8], headers: &mut HeaderMap) {
    // HMAC accepts a key of any length, so `new_from_slice` cannot fail here.
    if let Some(sign) = &ctx.work.plan.requests[id].sign
        && let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&sign.secret)
    {
        mac.update(body);
        let value = format!(
            "{}{}",
            sign.prefix,
            hex::encode(mac.finalize().into_bytes())
        );
        if let (Ok(name), Ok(mut value)) = (
            HeaderName::from_bytes(sign.header.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            value.set_sensitive(true);
            headers.insert(name, value);
        }
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn encode_query(text: &str, out: &mut String) {
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push('%');
            out.push(
                char::from_digit(u32::from(byte >> 4), 16)
                    .unwrap_or('0')
                    .to_ascii_uppercase(),
            );
            out.push(
                char::from_digit(u32::from(byte & 15), 16)
                    .unwrap_or('0')
                    .to_ascii_uppercase(),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_sent_as_rendered_is_one_the_http_crate_keeps_unchanged() {
        let safe = "abcXYZ019-._~!$&'()*+,;=:@/?%";
        let mut targets: Vec<String> = vec![
            "/".into(),
            "/?i=42".into(),
            "//double".into(),
            "/a/b?x=1&y=%20".into(),
            "/p?q=1?2".into(),
        ];
        // Every safe byte in every position of a short target.
        for (i, a) in safe.chars().enumerate() {
            let b = safe.chars().nth((i * 7 + 3) % safe.len()).unwrap_or('a');
            targets.push(format!("/{a}{b}?{b}{a}={a}"));
        }
        for target in &targets {
            assert!(sent_as_rendered(target), "{target}");
            let uri = parsed_target(target);
            assert_eq!(
                uri.path_and_query().map(|pq| pq.as_str()),
                Some(target.as_str()),
                "the http crate changed {target}"
            );
        }
    }

    #[test]
    fn anything_else_is_left_to_the_http_crate() {
        for target in [
            "", "relative", "/a b", "/a#frag", "/é", "/a\tb", "/a\"b", "/{x}", "/a|b",
        ] {
            assert!(!sent_as_rendered(target), "{target:?}");
        }
        // What it makes of them is what `build` sends: "/" when it cannot read one.
        assert_eq!(parsed_target("/a b").to_string(), "/");
    }
}
