//! Building responses: JSON bodies with the right content type, static where possible so
//! the hot endpoints copy nothing.

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderValue};
use http::{Response, StatusCode};
use http_body_util::Full;

/// The body type of every response: one chunk, known length.
pub(crate) type Body = Full<Bytes>;

const JSON: HeaderValue = HeaderValue::from_static("application/json");

/// `{"status":"ok"}` for `/health` and `/ready`.
pub(crate) const STATUS_OK: &[u8] = br#"{"status":"ok"}"#;

/// A JSON response with `status` and `body`.
pub(crate) fn json(status: StatusCode, body: impl Into<Bytes>) -> Response<Body> {
    let mut response = Response::new(Full::new(body.into()));
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
