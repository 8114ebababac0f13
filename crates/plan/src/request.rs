//! A request as the engine sends it: method, templated path, headers and body, what counts as
//! success, checks, captures and signing. Parsed and checked once when the scenario is lowered.

use std::time::Duration;

use crate::Think;
use crate::template::Template;

/// Index of a request in [`crate::Plan::requests`].
pub type RequestId = usize;

#[derive(Clone, Debug)]
pub struct Request {
    pub name: String,
    /// Upper-case method name.
    pub method: String,
    /// Path (and optional query) appended to the base URL's prefix.
    pub path: Template,
    /// Extra query parameters, appended after `path`'s own.
    pub query: Vec<(String, Template)>,
    pub headers: Vec<Header>,
    pub body: Option<Template>,
    pub weight: u32,
    pub think: Think,
    pub timeout: Duration,
    pub expect: StatusSet,
    pub checks: Vec<Check>,
    pub captures: Vec<Capture>,
    pub sign: Option<Sign>,
}

#[derive(Clone)]
pub struct Header {
    pub name: String,
    pub value: Template,
    /// Never printed or written anywhere (Authorization, API keys, values from `${env:..}`).
    pub secret: bool,
}

impl std::fmt::Debug for Header {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut s = f.debug_struct("Header");
        s.field("name", &self.name);
        if self.secret {
            s.field("value", &"<redacted>");
        } else {
            s.field("value", &self.value);
        }
        s.field("secret", &self.secret).finish()
    }
}

/// A set of HTTP status codes 100..=599, as a bitmap: membership is one shift and one mask.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct StatusSet([u64; 10]);

impl StatusSet {
    pub const fn empty() -> StatusSet {
        StatusSet([0; 10])
    }

    /// 2xx and 3xx: what a request expects unless it says otherwise.
    pub fn success() -> StatusSet {
        let mut set = StatusSet::empty();
        for code in 200..400 {
            set.insert(code);
        }
        set
    }

    pub fn insert(&mut self, code: u16) {
        if code < 640 {
            self.0[usize::from(code / 64)] |= 1 << (code % 64);
        }
    }

    #[inline]
    pub fn contains(&self, code: u16) -> bool {
        code < 640 && self.0[usize::from(code / 64)] & (1 << (code % 64)) != 0
    }
}

impl std::fmt::Debug for StatusSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set()
            .entries((0..640u16).filter(|&c| self.contains(c)))
            .finish()
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Check {
    Status(StatusSet),
    MaxLatency(Duration),
    BodyContains(String),
    /// The JSON value at a pointer equals this JSON text.
    Json {
        pointer: String,
        equals: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Capture {
    /// Index into [`Plan::captures`].
    pub slot: usize,
    pub from: CaptureFrom,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CaptureFrom {
    JsonPointer(String),
    Header(String),
}

/// HMAC-SHA256 over the final body bytes, sent as `header: prefix + hex`.
#[derive(Clone)]
pub struct Sign {
    pub secret: Vec<u8>,
    pub header: String,
    pub prefix: String,
}

impl std::fmt::Debug for Sign {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sign")
            .field("secret", &"<redacted>")
            .field("header", &self.header)
            .field("prefix", &self.prefix)
            .finish()
    }
}

/// What a request does beyond what it sends, kept beside [`Request`] in
/// [`crate::Plan::request_options`] (indexed like the requests) so that plans built in code
/// keep compiling; a request without an entry takes [`RequestOptions::default`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestOptions {
    pub on_429: On429,
    /// One per entry of [`Request::checks`], in the same order.
    pub checks: Vec<CheckOptions>,
}

/// What a user does when a request is answered 429 Too Many Requests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum On429 {
    /// Count it and carry on at once.
    #[default]
    Count,
    /// Sleep for the response's `Retry-After` (seconds or an HTTP date; 1 s when absent),
    /// at most `max`, before this user's next request.
    Backoff { max: Duration },
}

/// How one check is reported and judged.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckOptions {
    /// The check's name in results: the scenario's `name`, or a description such as
    /// `status in 201`.
    pub name: String,
    /// A failed check also fails the request (Locust's `catch_response`); otherwise checks
    /// are counted apart from failures, as k6 does.
    pub fail_request: bool,
}

#[derive(Clone, Debug)]
pub struct Flow {
    pub name: String,
    pub weight: u32,
    pub steps: Vec<RequestId>,
}
