//! `[[request]]`: what users send, with `[defaults]` filled in (flows and setup: `flows.rs`).

use std::time::Duration;

use crate::describe::check_text;
use crate::file::{CheckFile, Common, On429File, RequestFile, SignFile};
use crate::limits;
use crate::spanned::{Any, Spanned};
use crate::types::StatusSpec;
use stampede_plan::template::Template;
use stampede_plan::{
    Capture, CaptureFrom, Check, CheckOptions, Header, On429, Request, RequestOptions, Sign,
    StatusSet, Think,
};

use super::values::{parse_think, status_class};
use super::{Defaults, Lowerer};

/// Headers whose values are credentials, whatever they hold.
const SECRET_HEADERS: [&str; 5] = [
    "authorization",
    "proxy-authorization",
    "x-api-key",
    "cookie",
    "set-cookie",
];

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The longest a user waits after a 429 with `on-429 = "backoff"` unless told otherwise: a
/// server asking for longer is as good as down for a load test.
pub(crate) const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(30);

/// `User-Agent` unless a scenario sets its own: the target's logs then say who is calling.
pub(crate) const USER_AGENT: &str = concat!("stampede/", env!("CARGO_PKG_VERSION"));

impl Lowerer<'_> {
    /// Gives every capture name a slot before any template is read, so a request may use a
    /// value captured by a request declared after it (a flow decides the order, not the file).
    pub(super) fn declare_captures(&mut self, common: &Common) {
        let requests = common.request.iter().flat_map(|r| r.value.iter());
        for capture in requests.filter_map(|r| r.capture.as_ref()) {
            for (name, _) in &capture.0 {
                if !self.captures.contains(name) {
                    self.captures.push(name.clone());
                }
            }
        }
    }

    pub(super) fn requests(&mut self, common: &Common, defaults: Defaults<'_>) -> Vec<Request> {
        let Some(list) = common.request.as_ref().filter(|l| !l.is_empty()) else {
            let hint = "add one:\n\n  [[request]]\n  name = \"health\"\n  path = \"/health\"";
            match &common.request {
                Some(list) => self.sink.hint(list.span.clone(), "no requests", hint),
                None => self.sink.file_error(
                    "no requests: a scenario needs at least one [[request]]",
                    Some(hint.into()),
                ),
            }
            return Vec::new();
        };
        if list.len() > limits::MAX_REQUESTS {
            self.sink.hint(
                list.span.clone(),
                format!("more than {} requests", limits::MAX_REQUESTS),
                "each request name keeps its own statistics; group requests by name",
            );
        }
        // Names first, so a duplicate is reported once and flows can refer to any request.
        let mut first_at: Vec<(String, usize)> = Vec::new();
        for (i, request) in list.iter().enumerate() {
            let name = match &request.name {
                Some(name) if !name.trim().is_empty() => name,
                Some(name) => {
                    self.sink
                        .error(name.span.clone(), "request `name` is empty");
                    self.request_names.push(format!("#{}", i + 1));
                    continue;
                }
                None => {
                    self.sink.hint(
                        request.span.clone(),
                        "request has no `name`",
                        "name = \"health\": names appear in results, flows and thresholds",
                    );
                    self.request_names.push(format!("#{}", i + 1));
                    continue;
                }
            };
            if let Some((_, start)) = first_at.iter().find(|(n, _)| n == &name.value) {
                let line = self.source[..(*start).min(self.source.len())]
                    .matches('\n')
                    .count()
                    + 1;
                self.sink.hint(
                    name.span.clone(),
                    format!("duplicate request name `{}`", name.value),
                    format!("first used on line {line}; names must be unique"),
                );
            } else {
                first_at.push((name.value.clone(), name.span.start));
            }
            self.request_names.push(name.value.clone());
        }
        list.iter()
            .enumerate()
            .map(|(i, request)| {
                let lowered = self.request(request, self.request_names[i].clone(), defaults);
                let options = self.request_options(request, &lowered, defaults);
                self.request_options.push(options);
                lowered
            })
            .collect()
    }

    /// What the request does beyond what it sends: 429 handling and how its checks count.
    fn request_options(
        &mut self,
        file: &RequestFile,
        request: &Request,
        defaults: Defaults<'_>,
    ) -> RequestOptions {
        let on_429 = file
            .on_429
            .as_ref()
            .or(defaults.and_then(|d| d.on_429.as_ref()));
        let max = file
            .max_backoff
            .as_ref()
            .or(defaults.and_then(|d| d.max_backoff.as_ref()));
        let on_429 = match on_429.map(|o| o.value) {
            Some(On429File::Backoff) => On429::Backoff {
                max: match max {
                    Some(max) => self.positive(max, "max-backoff"),
                    None => DEFAULT_MAX_BACKOFF,
                },
            },
            Some(On429File::Count) | None => On429::Count,
        };
        let check = file.check.as_ref();
        let name = check.and_then(|c| c.name.as_ref());
        if let Some(name) = name.filter(|n| n.trim().is_empty()) {
            self.sink.error(name.span.clone(), "check `name` is empty");
        }
        let fail_request = check
            .and_then(|c| c.fail_request.as_ref())
            .is_some_and(|f| f.value);
        let several = request.checks.len() > 1;
        let checks = request
            .checks
            .iter()
            .map(|c| CheckOptions {
                name: match name {
                    Some(name) if several => format!("{}: {}", name.value, check_text(c)),
                    Some(name) => name.value.clone(),
                    None => check_text(c),
                },
                fail_request,
            })
            .collect();
        RequestOptions { on_429, checks }
    }

    fn request(
        &mut self,
        file: &Spanned<RequestFile>,
        name: String,
        defaults: Defaults<'_>,
    ) -> Request {
        let method = match &file.method {
            Some(method) => {
                let upper = method.trim().to_ascii_uppercase();
                if upper.is_empty() || !upper.bytes().all(|b| b.is_ascii_alphabetic() || b == b'-')
                {
                    self.sink.error(
                        method.span.clone(),
                        format!("`{}` is not an HTTP method", method.value),
                    );
                }
                upper
            }
            None => "GET".to_owned(),
        };
        let path = match (&file.path, &file.url) {
            (Some(path), None) => self.path_template(path),
            (None, Some(url)) => {
                let path = self.url_as_path(url).unwrap_or_else(|| "/".to_owned());
                self.template(&Spanned::new(url.span.clone(), path))
            }
            (Some(_), Some(url)) => {
                self.sink.error(
                    url.span.clone(),
                    format!("request `{name}` has both `path` and `url`; keep one"),
                );
                Template::literal("/")
            }
            (None, None) => {
                self.sink.hint(
                    file.span.clone(),
                    format!("request `{name}` has no `path`"),
                    "path = \"/health\" (relative to base-url), or an absolute `url`",
                );
                Template::literal("/")
            }
        };
        let query = self.query(file);
        let mut headers = self.headers(
            defaults.and_then(|d| d.headers.as_ref()),
            file.headers.as_ref(),
        );
        if !headers
            .iter()
            .any(|h| h.name.eq_ignore_ascii_case("user-agent"))
        {
            headers.push(Header {
                name: "User-Agent".into(),
                value: Template::literal(USER_AGENT),
                secret: false,
            });
        }
        let body = match (&file.body, &file.json) {
            (Some(body), None) => Some(self.template(body)),
            (None, Some(json)) => {
                if !matches!(json.value, Any::Table(_) | Any::Array(_)) {
                    self.sink.hint(
                        json.span.clone(),
                        format!(
                            "`json` must be a table or an array, not a {}",
                            json.type_name()
                        ),
                        "json = { user = \"demo\" }; for raw text use `body`",
                    );
                }
                if !headers
                    .iter()
                    .any(|h| h.name.eq_ignore_ascii_case("content-type"))
                {
                    headers.push(Header {
                        name: "Content-Type".into(),
                        value: Template::literal("application/json"),
                        secret: false,
                    });
                }
                Some(self.json_template(json))
            }
            (Some(_), Some(json)) => {
                self.sink.error(
                    json.span.clone(),
                    format!("request `{name}` has both `body` and `json`; keep one"),
                );
                None
            }
            (None, None) => None,
        };
        let think = match file
            .think
            .as_ref()
            .or(defaults.and_then(|d| d.think.as_ref()))
        {
            Some(think) => self.think(think),
            None => Think::None,
        };
        let timeout = match file
            .timeout
            .as_ref()
            .or(defaults.and_then(|d| d.timeout.as_ref()))
        {
            Some(timeout) => self.positive(timeout, "timeout"),
            None => DEFAULT_TIMEOUT,
        };
        let expect = match file
            .expect
            .as_ref()
            .or(defaults.and_then(|d| d.expect.as_ref()))
        {
            Some(list) => self.status_set(&list.value, &list.span),
            None => StatusSet::success(),
        };
        let request = Request {
            name,
            method,
            path,
            query,
            headers,
            body,
            weight: file.weight.as_ref().map_or(1, |w| w.value),
            think,
            timeout,
            expect,
            checks: file
                .check
                .as_ref()
                .map(|c| self.checks(c))
                .unwrap_or_default(),
            captures: self.captures_of(file),
            sign: file.sign.as_ref().and_then(|s| self.sign(s)),
        };
        self.check_sendable(file, defaults, &request);
        request
    }

    fn query(&mut self, file: &RequestFile) -> Vec<(String, Template)> {
        let Some(query) = &file.query else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (key, value) in &query.0 {
            let text = match &value.value {
                Any::String(s) => s.clone(),
                Any::Integer(_) | Any::Float(_) | Any::Boolean(_) => value.to_json().to_string(),
                other => {
                    self.sink.error(
                        value.span.clone(),
                        format!(
                            "query value `{key}` must be text or a number, not a {}",
                            other.type_name()
                        ),
                    );
                    continue;
                }
            };
            out.push((
                key.clone(),
                self.template(&Spanned::new(value.span.clone(), text)),
            ));
        }
        out
    }

    /// `[defaults] headers` first, then the request's own, which replace same-named ones.
    pub(super) fn headers(
        &mut self,
        defaults: Option<&Spanned<crate::spanned::Pairs<String>>>,
        own: Option<&Spanned<crate::spanned::Pairs<String>>>,
    ) -> Vec<Header> {
        let mut headers: Vec<Header> = Vec::new();
        for (name, value) in defaults
            .iter()
            .chain(own.iter())
            .flat_map(|pairs| pairs.0.iter())
        {
            if name.is_empty()
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
            {
                self.sink.error(
                    value.span.clone(),
                    format!("`{name}` is not a valid header name"),
                );
                continue;
            }
            if name.eq_ignore_ascii_case("host") || name.eq_ignore_ascii_case("content-length") {
                self.sink.error(
                    value.span.clone(),
                    format!("`{name}` is set by stampede and cannot be given"),
                );
                continue;
            }
            let template = self.template(value);
            let lower = name.to_ascii_lowercase();
            let secret = template.is_secret() || SECRET_HEADERS.contains(&lower.as_str());
            let header = Header {
                name: name.clone(),
                value: template,
                secret,
            };
            match headers
                .iter_mut()
                .find(|h| h.name.eq_ignore_ascii_case(name))
            {
                Some(existing) => *existing = header,
                None => headers.push(header),
            }
        }
        headers
    }

    /// `"500ms"`, `"100ms..2s"`, or `"0s"` for none.
    pub(super) fn think(&mut self, text: &Spanned<String>) -> Think {
        match parse_think(&text.value) {
            Ok(think) => think,
            Err(message) => {
                self.sink.hint(
                    text.span.clone(),
                    message,
                    "think = \"500ms\", or a range think = \"100ms..2s\"",
                );
                Think::None
            }
        }
    }

    fn status_set(
        &mut self,
        specs: &[Spanned<StatusSpec>],
        parent: &std::ops::Range<usize>,
    ) -> StatusSet {
        let mut set = StatusSet::empty();
        if specs.is_empty() {
            self.sink.error(
                parent.clone(),
                "empty status list: nothing would count as success",
            );
        }
        for spec in specs {
            let span = if spec.span.is_empty() {
                parent.clone()
            } else {
                spec.span.clone()
            };
            match &spec.value {
                StatusSpec::Code(code) if (100..=599).contains(code) => set.insert(*code as u16),
                StatusSpec::Code(code) => self.sink.error(
                    span,
                    format!("`{code}` is not an HTTP status code (100 to 599)"),
                ),
                StatusSpec::Text(text) => match status_class(text) {
                    Some(first) => (first..first + 100).for_each(|c| set.insert(c)),
                    None => match text.parse::<u16>() {
                        Ok(code) if (100..=599).contains(&code) => set.insert(code),
                        _ => self.sink.hint(
                            span,
                            format!("`{text}` is not a status code or class"),
                            "write 200, or a class like \"2xx\"",
                        ),
                    },
                },
            }
        }
        set
    }

    fn checks(&mut self, check: &Spanned<CheckFile>) -> Vec<Check> {
        let mut checks = Vec::new();
        if let Some(status) = &check.status {
            checks.push(Check::Status(self.status_set(&status.0, &status.span)));
        }
        if let Some(latency) = &check.max_latency {
            checks.push(Check::MaxLatency(self.positive(latency, "max-latency")));
        }
        if let Some(text) = &check.body_contains {
            if text.is_empty() {
                self.sink.error(
                    text.span.clone(),
                    "`body-contains` is empty: it would always pass",
                );
            }
            checks.push(Check::BodyContains(text.value.clone()));
        }
        if let Some(json) = &check.json {
            for (pointer, equals) in &json.0 {
                if !pointer.is_empty() && !pointer.starts_with('/') {
                    self.sink.hint(
                        equals.span.clone(),
                        format!("`{pointer}` is not a JSON pointer"),
                        format!("pointers start with `/`: \"/{pointer}\""),
                    );
                }
                checks.push(Check::Json {
                    pointer: pointer.clone(),
                    equals: equals.to_json().to_string(),
                });
            }
        }
        if checks.is_empty() {
            self.sink.hint(check.span.clone(), "`check` is empty", "check = { status = 200, max-latency = \"500ms\", body-contains = \"ok\", json = { \"/status\" = \"ok\" } }");
        }
        checks
    }

    fn captures_of(&mut self, file: &RequestFile) -> Vec<Capture> {
        let Some(captures) = &file.capture else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (name, spec) in &captures.0 {
            let slot = self.captures.iter().position(|c| c == name).unwrap_or(0);
            let valid_name = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            if !valid_name {
                self.sink.error(
                    spec.span.clone(),
                    format!("capture name `{name}` must be letters, digits, `_` or `-`"),
                );
                continue;
            }
            let from = if let Some(pointer) = spec.strip_prefix("json:") {
                if !pointer.is_empty() && !pointer.starts_with('/') {
                    self.sink.hint(
                        spec.span.clone(),
                        format!("`{pointer}` is not a JSON pointer"),
                        format!("\"json:/{pointer}\""),
                    );
                    continue;
                }
                CaptureFrom::JsonPointer(pointer.to_owned())
            } else if let Some(header) = spec
                .strip_prefix("header:")
                .filter(|h| !h.trim().is_empty())
            {
                CaptureFrom::Header(header.trim().to_owned())
            } else {
                self.sink.hint(
                    spec.span.clone(),
                    format!("invalid capture `{}`", spec.value),
                    "\"json:/token\" (a JSON pointer into the body) or \"header:ETag\"",
                );
                continue;
            };
            out.push(Capture { slot, from });
        }
        out
    }

    fn sign(&mut self, sign: &Spanned<SignFile>) -> Option<Sign> {
        let Some(hmac) = &sign.hmac_sha256 else {
            self.sink.hint(
                sign.span.clone(),
                "`sign` names no method",
                "sign = { hmac-sha256 = { secret = \"${env:WEBHOOK_SECRET}\" } }",
            );
            return None;
        };
        let Some(secret) = &hmac.secret else {
            self.sink.hint(
                hmac.span.clone(),
                "`hmac-sha256` has no `secret`",
                "secret = \"${env:WEBHOOK_SECRET}\"",
            );
            return None;
        };
        if secret.is_empty() {
            self.sink
                .error(secret.span.clone(), "the HMAC `secret` is empty");
        }
        let (key, _) = self.fixed_text(secret, "secret");
        let header = match &hmac.header {
            Some(header) => self.fixed_text(header, "header").0,
            None => "X-Hub-Signature-256".to_owned(),
        };
        let prefix = match &hmac.prefix {
            Some(prefix) => self.fixed_text(prefix, "prefix").0,
            None => "sha256=".to_owned(),
        };
        Some(Sign {
            secret: key.into_bytes(),
            header,
            prefix,
        })
    }
}

impl Lowerer<'_> {
    /// A request's or a stream's `path`, which must start with `/`, as a template.
    pub(super) fn path_template(&mut self, path: &Spanned<String>) -> Template {
        if !path.starts_with('/') {
            self.sink.hint(
                path.span.clone(),
                format!("path `{}` does not start with `/`", path.value),
                format!("path = \"/{}\"", path.value),
            );
        }
        self.template(path)
    }
}
