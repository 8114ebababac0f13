//! Building responses: JSON bodies with the right content type, static where possible so
//! the hot endpoints copy nothing; and the one body type that is either such a chunk or an
//! event stream.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderValue};
use http::{Response, StatusCode};
use http_body_util::Full;
use hyper::body::{Body as HttpBody, Frame, SizeHint};

use crate::stream::{CutOff, EventStream};

/// The body of every response: one chunk of known length, or a server-sent event stream.
/// An enum rather than a boxed body, so the hot endpoints pay no allocation for it; the
/// rare, large event stream is the one boxed.
pub(crate) enum Body {
    Full(Full<Bytes>),
    Events(Box<EventStream>),
}

impl Body {
    pub(crate) fn full(bytes: impl Into<Bytes>) -> Body {
        Body::Full(Full::new(bytes.into()))
    }
}

impl HttpBody for Body {
    type Data = Bytes;
    type Error = CutOff;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, CutOff>>> {
        match self.get_mut() {
            Body::Full(full) => Pin::new(full)
                .poll_frame(cx)
                .map_err(|never| match never {}),
            Body::Events(events) => events.poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Body::Full(full) => full.is_end_stream(),
            Body::Events(_) => false,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Body::Full(full) => full.size_hint(),
            Body::Events(_) => SizeHint::default(),
        }
    }
}

const JSON: HeaderValue = HeaderValue::from_static("application/json");

/// `{"status":"ok"}` for `/health` and `/ready`.
pub(crate) const STATUS_OK: &[u8] = br#"{"status":"ok"}"#;

/// A JSON response with `status` and `body`.
pub(crate) fn json(status: StatusCode, body: impl Into<Bytes>) -> Response<Body> {
    let mut response = Response::new(Body::full(body));
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, JSON);
    response
}

/// A JSON error whose message is fixed at compile time.
pub(crate) fn error(status: StatusCode, body: &'static str) -> Response<Body> {
    json(status, Bytes::from_static(body.as_bytes()))
}

/// A JSON error whose message is only known at run time, escaped by serde_json.
pub(crate) fn error_message(status: StatusCode, message: &str) -> Response<Body> {
    json(status, serde_json::json!({ "error": message }).to_string())
}

pub(crate) fn unauthorized() -> Response<Body> {
    error(
        StatusCode::UNAUTHORIZED,
        r#"{"error":"missing or unknown credentials: send Authorization: Bearer <token or api key> or X-API-Key"}"#,
    )
}

pub(crate) fn not_found() -> Response<Body> {
    error(StatusCode::NOT_FOUND, r#"{"error":"not found"}"#)
}

pub(crate) fn too_large() -> Response<Body> {
    error(
        StatusCode::PAYLOAD_TOO_LARGE,
        r#"{"error":"request body too large"}"#,
    )
}

/// The answer of the `error` fault.
pub(crate) fn injected_error() -> Response<Body> {
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        r#"{"error":"injected fault"}"#,
    )
}
