//! What each route answers. Everything that can be decided from the head of the request is
//! answered at once (`start`); only routes that need the body go on to `finish`.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::header::{ALLOW, CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use serde::Deserialize;
use tokio::sync::Notify;

use crate::auth::{self, MAX_USER_BYTES};
use crate::body::{self, BodyError, MAX_JSON_BYTES, MAX_WEBHOOK_BYTES};
use crate::conversations;
use crate::query;
use crate::ratelimit::Verdict;
use crate::respond::{self, Body};
use crate::routes::Route;
use crate::service::Dropped;
use crate::state::{State, lock};
use crate::store;
use crate::webhook;
use crate::ws;

/// Events `/inbox` returns without `?limit=`, and the most it returns with one.
const DEFAULT_INBOX_LIMIT: usize = 10;
const MAX_INBOX_LIMIT: usize = 100;

const PROMETHEUS_TEXT: HeaderValue =
    HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8");

/// How far `start` got.
pub(crate) enum Handler {
    Done(Response<Body>),
    NeedsBody(BodyJob),
}

/// A route that has passed its header checks and now needs the request body.
pub(crate) enum BodyJob {
    Login,
    CreateEvent,
    Webhook { signature: [u8; 32] },
    Message { conversation: Box<str> },
}

/// Answers `req` as far as its head allows: method, credentials, rate limit, declared size.
/// Event streams and websockets are answered here too; `hangup` closes this request's
/// connection, which is how a slow event stream is let go.
pub(crate) fn start(
    state: &Arc<State>,
    route: Route,
    param: Option<&str>,
    req: &mut Request<Incoming>,
    hangup: &Arc<Notify>,
) -> Handler {
    if let Some(refused) = refuse_early(state, route, req.method()) {
        return Handler::Done(refused);
    }
    if route == Route::WebSocket {
        return Handler::Done(ws::accept(state, req));
    }
    let headers = req.headers();
    // Only the events and conversations APIs check credentials, so `/health` never pays
    // for an HMAC.
    let needs_auth = matches!(
        route,
        Route::CreateEvent
            | Route::GetEvent
            | Route::AckEvent
            | Route::Inbox
            | Route::Stream
            | Route::PostMessage
    );
    let credential = if needs_auth {
        match auth::credential(headers).filter(|credential| state.auth.accepts(credential)) {
            Some(credential) => credential,
            None => return Handler::Done(respond::unauthorized()),
        }
    } else {
        ""
    };
    let done = match route {
        Route::Health | Route::Ready => {
            respond::json(StatusCode::OK, Bytes::from_static(respond::STATUS_OK))
        }
        Route::Metrics => metrics(state),
        Route::Unmatched => respond::not_found(),
        Route::Stream => conversations::open_stream(state, req.uri().query(), headers, hangup),
        // Answered above, before credentials: a websocket needs none.
        Route::WebSocket => respond::not_found(),
        Route::PostMessage => match param.filter(|id| conversations::valid_conversation_id(id)) {
            None => conversations::bad_conversation_id(),
            Some(_) if body::declared_too_large(headers, MAX_JSON_BYTES) => respond::too_large(),
            Some(id) => {
                let conversation = id.into();
                return Handler::NeedsBody(BodyJob::Message { conversation });
            }
        },
        Route::GetEvent => get_event(state, param),
        Route::AckEvent => ack_event(state, param),
        Route::Inbox => inbox(state, req.uri().query()),
        Route::Login if body::declared_too_large(headers, MAX_JSON_BYTES) => respond::too_large(),
        Route::Login => return Handler::NeedsBody(BodyJob::Login),
        Route::CreateEvent => {
            let verdict = state.limiter.check(credential, Instant::now());
            if let Verdict::Limited { retry_after_s } = verdict {
                rate_limited(retry_after_s)
            } else if body::declared_too_large(headers, MAX_JSON_BYTES) {
                respond::too_large()
            } else {
                return Handler::NeedsBody(BodyJob::CreateEvent);
            }
        }
        Route::Webhook => match webhook::claimed_signature(headers) {
            None => bad_signature(),
            Some(_) if body::declared_too_large(headers, MAX_WEBHOOK_BYTES) => respond::too_large(),
            Some(signature) => return Handler::NeedsBody(BodyJob::Webhook { signature }),
        },
    };
    Handler::Done(done)
}

/// The answers that need nothing but the route and method: `429` from the global bucket
/// (which counts every request but `/metrics`, wrong methods included) and `405`.
fn refuse_early(state: &State, route: Route, method: &http::Method) -> Option<Response<Body>> {
    if let Some(limiter) = &state.limit_all
        && route != Route::Metrics
        && let Verdict::Limited { retry_after_s } = limiter.check("", Instant::now())
    {
        return Some(rate_limited(retry_after_s));
    }
    let allowed = route
        .method()
        .filter(|allowed| *allowed != method.as_str())?;
    let mut response = respond::error(
        StatusCode::METHOD_NOT_ALLOWED,
        r#"{"error":"method not allowed"}"#,
    );
    response
        .headers_mut()
        .insert(ALLOW, HeaderValue::from_static(allowed));
    Some(response)
}

/// Reads the body and answers the job `start` left. `Err` when the client went away.
pub(crate) async fn finish(
    state: &State,
    job: BodyJob,
    body: Incoming,
) -> Result<Response<Body>, Dropped> {
    let limit = match job {
        BodyJob::Webhook { .. } => MAX_WEBHOOK_BYTES,
        BodyJob::Login | BodyJob::CreateEvent | BodyJob::Message { .. } => MAX_JSON_BYTES,
    };
    let bytes = match body::read(body, limit).await {
        Ok(bytes) => bytes,
        Err(BodyError::TooLarge) => return Ok(respond::too_large()),
        Err(BodyError::Aborted) => return Err(Dropped),
    };
    Ok(match job {
        BodyJob::Login => login(state, &bytes),
        BodyJob::CreateEvent => create_event(state, bytes),
        BodyJob::Message { conversation } => {
            conversations::post_message(state, &conversation, &bytes)
        }
        BodyJob::Webhook { signature } => {
            if webhook::verify(&state.webhook_mac, &bytes, &signature) {
                respond::json(StatusCode::OK, Bytes::from_static(br#"{"received":true}"#))
            } else {
                bad_signature()
            }
        }
    })
}

fn metrics(state: &State) -> Response<Body> {
    let events_stored = lock(&state.store).len();
    let mut response = Response::new(Body::full(state.metrics.render(events_stored)));
    response.headers_mut().insert(CONTENT_TYPE, PROMETHEUS_TEXT);
    response
}

/// Any user and password are accepted: this is a demo. The point is that the token it
/// returns must then be sent to the authenticated endpoints.
fn login(state: &State, body: &[u8]) -> Response<Body> {
    #[derive(Deserialize)]
    struct LoginRequest {
        user: String,
        #[serde(rename = "password")]
        _password: String,
    }
    let Ok(request) = serde_json::from_slice::<LoginRequest>(body) else {
        return respond::error(
            StatusCode::BAD_REQUEST,
            r#"{"error":"expected a JSON body with string fields user and password"}"#,
        );
    };
    if request.user.is_empty() || request.user.len() > MAX_USER_BYTES {
        return respond::error(
            StatusCode::BAD_REQUEST,
            r#"{"error":"user must be 1 to 128 bytes long"}"#,
        );
    }
    let token = state.auth.issue(&request.user);
    respond::json(StatusCode::OK, format!(r#"{{"token":"{token}"}}"#))
}

fn create_event(state: &State, body: Bytes) -> Response<Body> {
    if !is_json_object(&body) {
        return respond::error(
            StatusCode::BAD_REQUEST,
            r#"{"error":"the event must be a JSON object"}"#,
        );
    }
    let id = lock(&state.store).insert(body);
    respond::json(StatusCode::CREATED, store::status_json(id, "queued"))
}

fn get_event(state: &State, param: Option<&str>) -> Response<Body> {
    let event = param
        .and_then(store::parse_id)
        .and_then(|id| lock(&state.store).event_json(id));
    match event {
        Some(json) => respond::json(StatusCode::OK, json),
        None => respond::not_found(),
    }
}

fn ack_event(state: &State, param: Option<&str>) -> Response<Body> {
    match param.and_then(store::parse_id) {
        Some(id) if lock(&state.store).ack(id) => {
            respond::json(StatusCode::OK, store::status_json(id, "delivered"))
        }
        _ => respond::not_found(),
    }
}

fn inbox(state: &State, query: Option<&str>) -> Response<Body> {
    let limit = query
        .into_iter()
        .flat_map(query::pairs)
        .find(|(key, _)| *key == "limit")
        .map(|(_, value)| value.parse::<usize>());
    let limit = match limit {
        None => DEFAULT_INBOX_LIMIT,
        Some(Ok(limit)) => limit.min(MAX_INBOX_LIMIT),
        Some(Err(_)) => {
            return respond::error(
                StatusCode::BAD_REQUEST,
                r#"{"error":"limit must be a whole number"}"#,
            );
        }
    };
    let json = lock(&state.store).inbox_json(limit);
    respond::json(StatusCode::OK, json)
}

fn rate_limited(retry_after_s: u64) -> Response<Body> {
    let mut response = respond::error(
        StatusCode::TOO_MANY_REQUESTS,
        r#"{"error":"rate limit exceeded"}"#,
    );
    response
        .headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from(retry_after_s));
    response
}

fn bad_signature() -> Response<Body> {
    respond::error(
        StatusCode::FORBIDDEN,
        r#"{"error":"missing or wrong X-Hub-Signature-256: expected sha256=<hex HMAC-SHA256 of the body>"}"#,
    )
}

/// True for UTF-8 text holding exactly one JSON object. Validated without building it, so
/// the payload is stored as received.
pub(crate) fn is_json_object(body: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(body) else {
        return false;
    };
    text.trim_start().starts_with('{')
        && serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok()
}
