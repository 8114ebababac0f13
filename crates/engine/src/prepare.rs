//! Requests made ready once, before the run: parsed method and URI, a header map with `Host`,
//! the body as shared bytes. On the per-request path a static request is then a few reference
//! count bumps and one header-map clone; only templated parts are rendered per request. Also
//! notes, once, what the response handling and the debug output need to know of each request.

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HOST};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use stampede_plan::{CaptureFrom, Check, Plan, Request, Template};

use crate::Error;

pub(crate) struct Prepared {
    pub(crate) method: Method,
    /// The URI when nothing in path or query is templated.
    pub(crate) uri: Option<Uri>,
    /// Headers that never change, `Host` included.
    pub(crate) headers: HeaderMap,
    /// Headers with templated values, rendered per request, and whether each is a secret.
    pub(crate) dynamic_headers: Vec<(HeaderName, Template, bool)>,
    /// The body when it is not templated.
    pub(crate) body: Option<Bytes>,
    /// JSON values the `json` checks compare against, parsed once.
    pub(crate) json_checks: Vec<(usize, serde_json::Value)>,
    /// The response body must be read into memory (for checks or captures), not just counted.
    pub(crate) keep_body: bool,
    /// The response body is parsed as JSON (for `json` checks or captures).
    pub(crate) parse_json: bool,
    /// A capture reads the response's headers (checks read only status and body).
    pub(crate) reads_headers: bool,
    /// Path or query holds a secret (`${env:..}`): debug output shows no request target.
    pub(crate) secret_target: bool,
    /// The body holds a secret: debug output shows no request body.
    pub(crate) secret_body: bool,
}

pub(crate) fn prepare(plan: &Plan, authority: &str, prefix: &str) -> Result<Vec<Prepared>, Error> {
    let host = HeaderValue::from_str(authority)
        .map_err(|_| Error::Prepare(format!("`{authority}` is not a valid Host header")))?;
    plan.requests
        .iter()
        .map(|request| prepare_one(request, &host, prefix))
        .collect()
}

fn prepare_one(request: &Request, host: &HeaderValue, prefix: &str) -> Result<Prepared, Error> {
    let bad = |what: String| Error::Prepare(format!("request `{}`: {what}", request.name));
    let method = Method::from_bytes(request.method.as_bytes())
        .map_err(|_| bad(format!("`{}` is not an HTTP method", request.method)))?;

    let uri = match (request.path.as_static(), request.query.is_empty()) {
        (Some(path), true) => {
            let text = format!("{prefix}{path}");
            Some(Uri::try_from(text.as_str()).map_err(|e| bad(format!("bad path `{text}`: {e}")))?)
        }
        _ => None,
    };

    let mut headers = HeaderMap::new();
    headers.insert(HOST, host.clone());
    let mut dynamic_headers = Vec::new();
    for header in &request.headers {
        let name = HeaderName::from_bytes(header.name.as_bytes())
            .map_err(|_| bad(format!("`{}` is not a header name", header.name)))?;
        match header.value.as_static() {
            Some(value) => {
                let mut value = HeaderValue::from_str(value)
                    .map_err(|_| bad(format!("header `{}` has an invalid value", header.name)))?;
                value.set_sensitive(header.secret);
                headers.append(name, value);
            }
            None => dynamic_headers.push((name, header.value.clone(), header.secret)),
        }
    }
    let body = match &request.body {
        Some(template) => template
            .as_static()
            .map(|text| Bytes::from(text.to_owned())),
        None => Some(Bytes::new()),
    };
    if request.body.is_some() && !headers.contains_key(CONTENT_TYPE) {
        let json = request
            .body
            .as_ref()
            .and_then(Template::as_static)
            .is_some_and(looks_like_json);
        if json {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
    }

    let mut json_checks = Vec::new();
    let mut keep_body = !request.captures.is_empty();
    let mut parse_json = request
        .captures
        .iter()
        .any(|c| matches!(c.from, CaptureFrom::JsonPointer(_)));
    for (index, check) in request.checks.iter().enumerate() {
        match check {
            Check::Json { equals, .. } => {
                let value = serde_json::from_str(equals)
                    .map_err(|e| bad(format!("check value `{equals}` is not JSON: {e}")))?;
                json_checks.push((index, value));
                keep_body = true;
                parse_json = true;
            }
            Check::BodyContains(_) => keep_body = true,
            Check::MaxLatency(_) | Check::Status(_) => {}
        }
    }
    Ok(Prepared {
        method,
        uri,
        headers,
        dynamic_headers,
        body,
        json_checks,
        keep_body,
        parse_json,
        reads_headers: request
            .captures
            .iter()
            .any(|c| matches!(c.from, CaptureFrom::Header(_))),
        secret_target: request.path.is_secret() || request.query.iter().any(|(_, v)| v.is_secret()),
        secret_body: request.body.as_ref().is_some_and(Template::is_secret),
    })
}

fn looks_like_json(text: &str) -> bool {
    let text = text.trim_start();
    text.starts_with('{') || text.starts_with('[')
}
