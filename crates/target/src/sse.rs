//! Server-sent events framing (the `text/event-stream` format of the HTML standard), written
//! by hand: an event is `id:`, `event:` and `data:` lines closed by a blank line; a line
//! starting with `:` is a comment that clients ignore, which is what a heartbeat is.
//!
//! Knows nothing of streams, conversations or HTTP: it turns fields into bytes.

use std::fmt::Write as _;

use bytes::Bytes;

/// The comment sent every heartbeat period, so proxies and clients see the stream is alive.
pub(crate) const HEARTBEAT: &[u8] = b": heartbeat\n\n";

/// The `Content-Type` of an event stream.
pub(crate) const CONTENT_TYPE: &str = "text/event-stream";

/// One event: `id: <id>`, `event: <name>` and the data, one `data:` line per line of it.
///
/// A line break inside the data (`\n`, `\r\n` or `\r`) would end the field, so the data is
/// split there into several `data:` lines, which a client joins back with `\n`. JSON loses
/// nothing by it: a raw line break can only be whitespace between its tokens.
pub(crate) fn event(id: u64, name: &str, data: &str) -> Bytes {
    let mut out = String::with_capacity(data.len() + name.len() + 40);
    // Writing into a String cannot fail.
    let _ = write!(out, "id: {id}\nevent: {name}\n");
    for line in data_lines(data) {
        out.push_str("data: ");
        out.push_str(line);
        out.push('\n');
    }
    out.push('\n');
    Bytes::from(out)
}

/// A block with only an `id:` field: a client takes it as its last event id and dispatches
/// nothing (HTML, server-sent events: "dispatch the event" skips an empty data buffer).
pub(crate) fn id_only(id: u64) -> Bytes {
    Bytes::from(format!("id: {id}\n\n"))
}

/// The data of a posted message: `{"id":..,"conversation":..,"server_ts_us":..,"body":..}`.
///
/// `conversation` must need no JSON escaping (ids are checked to be `[A-Za-z0-9_.-]`) and
/// `body` must already be JSON; both are copied as they are.
pub(crate) fn message_data(id: u64, conversation: &str, server_ts_us: u64, body: &str) -> String {
    let mut out = String::with_capacity(body.len() + conversation.len() + 64);
    let _ = write!(
        out,
        r#"{{"id":{id},"conversation":"{conversation}","server_ts_us":{server_ts_us},"body":"#
    );
    out.push_str(body);
    out.push('}');
    out
}

/// The lines of `data` as SSE sees them: split at `\r\n`, `\n` or `\r`. Empty data is one
/// empty line, so the event still has a `data:` field.
fn data_lines(data: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(data);
    std::iter::from_fn(move || {
        let text = rest?;
        match text.find(['\r', '\n']) {
            None => {
                rest = None;
                Some(text)
            }
            Some(at) => {
                let after = if text[at..].starts_with("\r\n") {
                    at + 2
                } else {
                    at + 1
                };
                rest = Some(&text[after..]);
                Some(&text[..at])
            }
        }
    })
}

/// Parses a `Last-Event-ID` header value: the decimal id of an event this target sent.
/// Surrounding spaces are allowed; anything else is `None`.
pub(crate) fn parse_last_event_id(value: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(value).ok()?.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_has_id_name_and_data_then_a_blank_line() {
        let frame = event(7, "message", r#"{"a":1}"#);
        assert_eq!(&frame[..], b"id: 7\nevent: message\ndata: {\"a\":1}\n\n");
    }

    #[test]
    fn line_breaks_in_data_become_several_data_lines() {
        let frame = event(1, "message", "{\n\"a\": 1\r\n}\rx");
        assert_eq!(
            &frame[..],
            b"id: 1\nevent: message\ndata: {\ndata: \"a\": 1\ndata: }\ndata: x\n\n"
        );
        let frame = event(2, "reset", "");
        assert_eq!(&frame[..], b"id: 2\nevent: reset\ndata: \n\n");
        let frame = event(3, "m", "a\n");
        assert_eq!(&frame[..], b"id: 3\nevent: m\ndata: a\ndata: \n\n");
    }

    #[test]
    fn message_data_wraps_the_posted_body() {
        let data = message_data(5, "room-1", 1_700_000_000_000_000, r#"{"cid":"c1"}"#);
        let value: serde_json::Value = serde_json::from_str(&data).expect("JSON");
        assert_eq!(
            value,
            serde_json::json!({
                "id": 5,
                "conversation": "room-1",
                "server_ts_us": 1_700_000_000_000_000u64,
                "body": { "cid": "c1" },
            })
        );
    }

    #[test]
    fn the_heartbeat_is_a_comment() {
        assert!(HEARTBEAT.starts_with(b":"));
        assert!(HEARTBEAT.ends_with(b"\n\n"));
    }

    #[test]
    fn last_event_ids_are_decimal() {
        assert_eq!(parse_last_event_id(b"42"), Some(42));
        assert_eq!(parse_last_event_id(b" 42 "), Some(42));
        for bad in [
            &b""[..],
            b"-1",
            b"4 2",
            b"x",
            b"99999999999999999999999",
            b"\xff",
        ] {
            assert_eq!(parse_last_event_id(bad), None, "{bad:?}");
        }
    }
}
