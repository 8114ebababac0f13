//! `GET /stream` and `POST /conversations/{id}/messages`: reading their query, header and
//! body, and answering with an event stream or the posted message's id.
//!
//! The hub does the bookkeeping and `stream` writes the events; this module only speaks
//! HTTP. Credentials are checked before these functions are called.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use http::{HeaderMap, Response, StatusCode};
use tokio::sync::Notify;

use crate::counters::{add, bump};
use crate::handlers;
use crate::hub::{MAX_CONVERSATION_ID_BYTES, MAX_STREAM_CONVERSATIONS, Refused};
use crate::query;
use crate::respond::{self, Body};
use crate::sse;
use crate::state::State;
use crate::stream::EventStream;

/// What `GET /stream` asks for in its query string.
#[derive(Debug, Default, PartialEq)]
struct StreamQuery {
    /// Deduplicated, in the order first named.
    conversations: Vec<Box<str>>,
    close_after: Option<u64>,
}

/// Answers `GET /stream`: subscribes a new event stream and returns it as the body.
pub(crate) fn open_stream(
    state: &Arc<State>,
    query: Option<&str>,
    headers: &HeaderMap,
    hangup: &Arc<Notify>,
) -> Response<Body> {
    let query = match parse_stream_query(query.unwrap_or("")) {
        Ok(query) => query,
        Err(message) => return respond::error_message(StatusCode::BAD_REQUEST, &message),
    };
    let last_event_id = match headers.get("last-event-id") {
        None => None,
        Some(value) => match sse::parse_last_event_id(value.as_bytes()) {
            Some(id) => Some(id),
            None => {
                return respond::error(
                    StatusCode::BAD_REQUEST,
                    r#"{"error":"Last-Event-ID must be the decimal id of an event this target sent"}"#,
                );
            }
        },
    };
    if !state.hub.open_one() {
        return unavailable(Refused::TooManyOpen);
    }
    let subscribed = state
        .hub
        .subscribe(&query.conversations, last_event_id, Arc::clone(hangup));
    let subscription = match subscribed {
        Ok(subscription) => subscription,
        Err(refused) => {
            state.hub.close_one();
            return unavailable(refused);
        }
    };
    let events = EventStream::new(
        Arc::clone(state),
        query.conversations,
        subscription,
        query.close_after,
    );
    let mut response = Response::new(Body::Events(Box::new(events)));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(sse::CONTENT_TYPE));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Answers `POST /conversations/{id}/messages` once its body is read: `201` with the
/// message's id and server timestamp, after queueing it for every subscribed stream.
pub(crate) fn post_message(state: &State, conversation: &str, body: &Bytes) -> Response<Body> {
    let text = std::str::from_utf8(body).ok();
    let Some(text) = text.filter(|_| handlers::is_json_object(body)) else {
        return respond::error(
            StatusCode::BAD_REQUEST,
            r#"{"error":"the message must be a JSON object"}"#,
        );
    };
    let server_ts_us = unix_micros();
    let now = tokio::time::Instant::now();
    match state.hub.publish(conversation, text, server_ts_us, now) {
        Ok(fanout) => {
            let counters = &state.metrics.counters;
            bump(&counters.messages_posted);
            add(&counters.deliveries_dropped, fanout.dropped);
            add(&counters.slow_sse_consumers, fanout.slow_consumers);
            respond::json(
                StatusCode::CREATED,
                format!(r#"{{"id":{},"server_ts_us":{server_ts_us}}}"#, fanout.id),
            )
        }
        Err(refused) => unavailable(refused),
    }
}

/// True for a conversation id the target accepts: 1 to 64 of `[A-Za-z0-9_.-]`. Ids appear
/// raw in event data and as map keys, so the set is small and needs no escaping.
pub(crate) fn valid_conversation_id(id: &str) -> bool {
    (1..=MAX_CONVERSATION_ID_BYTES).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

pub(crate) fn bad_conversation_id() -> Response<Body> {
    respond::error(
        StatusCode::BAD_REQUEST,
        r#"{"error":"a conversation id is 1 to 64 characters of A-Z, a-z, 0-9, '_', '.' and '-'"}"#,
    )
}

fn parse_stream_query(query: &str) -> Result<StreamQuery, String> {
    let mut parsed = StreamQuery::default();
    for (key, value) in query::pairs(query) {
        match key {
            "conversation" => {
                for id in value.split(',').filter(|id| !id.is_empty()) {
                    if !valid_conversation_id(id) {
                        return Err(format!(
                            "invalid conversation id {id:?}: expected 1 to 64 characters of A-Z, a-z, 0-9, '_', '.' and '-'"
                        ));
                    }
                    if !parsed.conversations.iter().any(|known| &**known == id) {
                        parsed.conversations.push(id.into());
                    }
                }
            }
            "close_after" => {
                let count = value.parse().map_err(|_| {
                    format!("invalid value {value:?} for `close_after`: expected a whole number")
                })?;
                parsed.close_after = Some(count);
            }
            _ => {}
        }
    }
    if parsed.conversations.len() > MAX_STREAM_CONVERSATIONS {
        return Err(format!(
            "a stream follows at most {MAX_STREAM_CONVERSATIONS} conversations"
        ));
    }
    Ok(parsed)
}

fn unavailable(refused: Refused) -> Response<Body> {
    respond::error_message(StatusCode::SERVICE_UNAVAILABLE, &refused.to_string())
}

fn unix_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_micros()).unwrap_or(u64::MAX)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversations_may_repeat_or_be_comma_separated() {
        let parsed =
            parse_stream_query("conversation=a,b&latency=1ms&conversation=c&conversation=a")
                .expect("parses");
        let names: Vec<&str> = parsed.conversations.iter().map(|name| &**name).collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert_eq!(parsed.close_after, None);
        let parsed = parse_stream_query("close_after=3").expect("parses");
        assert_eq!(parsed.close_after, Some(3));
        assert!(parsed.conversations.is_empty());
    }

    #[test]
    fn bad_stream_queries_say_what_is_wrong() {
        let err = parse_stream_query("conversation=a%20b").unwrap_err();
        assert!(err.contains("invalid conversation id"), "{err}");
        let err = parse_stream_query("close_after=-1").unwrap_err();
        assert!(err.contains("`close_after`"), "{err}");
        let many: Vec<String> = (0..=MAX_STREAM_CONVERSATIONS)
            .map(|n| format!("c{n}"))
            .collect();
        let err = parse_stream_query(&format!("conversation={}", many.join(","))).unwrap_err();
        assert!(err.contains("at most"), "{err}");
    }

    #[test]
    fn conversation_ids_are_a_small_safe_alphabet() {
        for good in ["a", "room-1", "team_2.general", &"x".repeat(64)] {
            assert!(valid_conversation_id(good), "{good}");
        }
        for bad in ["", "a b", "a\"b", "é", "a/b", &"x".repeat(65)] {
            assert!(!valid_conversation_id(bad), "{bad}");
        }
    }
}
