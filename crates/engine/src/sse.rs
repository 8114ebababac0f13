//! Reading `text/event-stream` (server-sent events, as the HTML standard defines them) from
//! the chunks a connection hands over, however they are cut.
//!
//! Lines end with CRLF, LF or CR (a CRLF may be split across two chunks); a leading BOM is
//! dropped once; `:` starts a comment; `data:` lines join with `\n`; `event:` names the event
//! (default `message`); `id:` sets the last event id that a reconnect sends back (an id with
//! NUL is ignored, as the standard says); `retry:` with only digits sets the reconnection
//! delay. A blank line dispatches the event if it has data. Knows nothing of HTTP or
//! statistics: bytes in, events out. Memory is bounded by [`MAX_LINE`] per stream.

/// Longest line kept; a longer one fails the stream rather than grow a buffer without end.
pub(crate) const MAX_LINE: usize = 1 << 20;

/// What a chunk of the stream said, in order.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Item {
    /// A dispatched event.
    Event(Event),
    /// A comment line (a heartbeat).
    Comment,
    /// A valid `retry:` field, in milliseconds.
    Retry(u64),
}

/// One event as dispatched.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Event {
    /// The event type; `message` when the event named none.
    pub(crate) name: String,
    pub(crate) data: String,
    /// The last event id when this event was dispatched (it persists across events).
    pub(crate) id: Option<String>,
}

/// A line longer than [`MAX_LINE`].
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct TooLong;

/// A stream's parsing state.
#[derive(Debug, Default)]
pub(crate) struct Parser {
    /// The line being read, without its end.
    line: Vec<u8>,
    /// The first bytes, held until they show whether they are a BOM.
    start: Option<Vec<u8>>,
    /// The last chunk ended with CR: a LF opening the next chunk ends nothing.
    after_cr: bool,
    data: String,
    has_data: bool,
    name: String,
    last_id: Option<String>,
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

impl Parser {
    pub(crate) fn new() -> Parser {
        Parser {
            start: Some(Vec::new()),
            ..Parser::default()
        }
    }

    /// The last event id seen, for `Last-Event-ID` on a reconnect.
    pub(crate) fn last_id(&self) -> Option<&str> {
        self.last_id.as_deref()
    }

    /// Reads `chunk`, pushing what it completes onto `out`.
    pub(crate) fn feed(&mut self, chunk: &[u8], out: &mut Vec<Item>) -> Result<(), TooLong> {
        let chunk = match self.start.take() {
            None => chunk,
            Some(mut held) => {
                held.extend_from_slice(chunk);
                if held.len() < BOM.len() && BOM.starts_with(&held) {
                    // Still could be a BOM: wait for more.
                    self.start = Some(held);
                    return Ok(());
                }
                let rest = held.strip_prefix(BOM).unwrap_or(&held).to_vec();
                return self.lines(&rest, out);
            }
        };
        self.lines(chunk, out)
    }

    fn lines(&mut self, mut chunk: &[u8], out: &mut Vec<Item>) -> Result<(), TooLong> {
        if chunk.is_empty() {
            // An empty read says nothing about a CR's LF still to come.
            return Ok(());
        }
        if self.after_cr && chunk.first() == Some(&b'\n') {
            chunk = &chunk[1..];
        }
        self.after_cr = false;
        while let Some(end) = chunk.iter().position(|&b| b == b'\n' || b == b'\r') {
            self.extend(&chunk[..end])?;
            let line = std::mem::take(&mut self.line);
            self.field(&line, out);
            self.line = line;
            self.line.clear();
            let cr = chunk[end] == b'\r';
            chunk = &chunk[end + 1..];
            if cr {
                match chunk.first() {
                    Some(b'\n') => chunk = &chunk[1..],
                    None => self.after_cr = true,
                    Some(_) => {}
                }
            }
        }
        self.extend(chunk)
    }

    fn extend(&mut self, bytes: &[u8]) -> Result<(), TooLong> {
        if self.line.len() + bytes.len() > MAX_LINE {
            return Err(TooLong);
        }
        self.line.extend_from_slice(bytes);
        Ok(())
    }

    /// One complete line.
    fn field(&mut self, line: &[u8], out: &mut Vec<Item>) {
        if line.is_empty() {
            self.dispatch(out);
            return;
        }
        if line[0] == b':' {
            out.push(Item::Comment);
            return;
        }
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &b""[..]),
        };
        let value = String::from_utf8_lossy(value);
        match field {
            b"data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(&value);
                self.has_data = true;
            }
            b"event" => self.name = value.into_owned(),
            b"id" if !value.contains('\0') => self.last_id = Some(value.into_owned()),
            b"retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                if let Ok(ms) = value.parse() {
                    out.push(Item::Retry(ms));
                }
            }
            _ => {}
        }
    }

    fn dispatch(&mut self, out: &mut Vec<Item>) {
        let name = std::mem::take(&mut self.name);
        if !self.has_data {
            return;
        }
        self.has_data = false;
        out.push(Item::Event(Event {
            name: if name.is_empty() {
                "message".to_owned()
            } else {
                name
            },
            data: std::mem::take(&mut self.data),
            id: self.last_id.clone(),
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(chunks: &[&[u8]]) -> (Vec<Item>, Parser) {
        let mut parser = Parser::new();
        let mut out = Vec::new();
        for chunk in chunks {
            parser.feed(chunk, &mut out).unwrap();
        }
        (out, parser)
    }

    fn event(name: &str, data: &str, id: Option<&str>) -> Item {
        Item::Event(Event {
            name: name.into(),
            data: data.into(),
            id: id.map(Into::into),
        })
    }

    #[test]
    fn multi_line_data_joins_with_newlines() {
        let (out, _) = parse(&[b"data: a\ndata:b\ndata:  c\n\n"]);
        assert_eq!(out, vec![event("message", "a\nb\n c", None)]);
    }

    #[test]
    fn comments_retry_id_and_event_names() {
        let (out, parser) = parse(&[
            b": heartbeat\n\nretry: 2500\nretry: 1x\nid: 7\nevent: chat\ndata: hi\n\ndata: more\n\n",
        ]);
        assert_eq!(
            out,
            vec![
                Item::Comment,
                Item::Retry(2500),
                event("chat", "hi", Some("7")),
                event("message", "more", Some("7")),
            ]
        );
        assert_eq!(parser.last_id(), Some("7"));
    }

    #[test]
    fn crlf_cr_and_lf_all_end_lines() {
        let (out, _) = parse(&[b"data: a\r\n\r\ndata: b\r\rdata: c\n\n"]);
        assert_eq!(
            out,
            vec![
                event("message", "a", None),
                event("message", "b", None),
                event("message", "c", None),
            ]
        );
    }

    #[test]
    fn events_split_anywhere_read_the_same() {
        let whole: &[u8] =
            b"\xEF\xBB\xBFid: 1\r\ndata: x\r\ndata: y\r\n\r\n: c\r\nid: 2\r\ndata: z\r\n\r\n";
        let (expected, _) = parse(&[whole]);
        assert_eq!(expected.len(), 3);
        for cut in 0..=whole.len() {
            for cut2 in cut..=whole.len() {
                let (out, parser) = parse(&[&whole[..cut], &whole[cut..cut2], &whole[cut2..]]);
                assert_eq!(out, expected, "cut at {cut} and {cut2}");
                assert_eq!(parser.last_id(), Some("2"));
            }
        }
    }

    #[test]
    fn a_leading_bom_is_dropped_once_and_only_at_the_start() {
        let (out, _) = parse(&[b"\xEF\xBB", b"\xBFdata: a\n\n"]);
        assert_eq!(out, vec![event("message", "a", None)]);
        // A second BOM is part of the field name, so the line is not `data`.
        let (out, _) = parse(&[b"\xEF\xBB\xBF\xEF\xBB\xBFdata: a\n\n"]);
        assert_eq!(out, vec![]);
        // Bytes that only begin like a BOM are kept.
        let (out, _) = parse(&[b"\xEF", b"data: a\n\ndata: b\n\n"]);
        assert_eq!(out, vec![event("message", "b", None)]);
    }

    #[test]
    fn events_without_data_are_not_dispatched_and_ids_with_nul_ignored() {
        let (out, parser) = parse(&[b"event: x\n\nid: 3\n\nid: a\0b\ndata\n\n"]);
        assert_eq!(out, vec![event("message", "", Some("3"))]);
        assert_eq!(parser.last_id(), Some("3"));
    }

    #[test]
    fn an_unfinished_event_waits_and_a_huge_line_fails() {
        let (out, _) = parse(&[b"data: a\n"]);
        assert!(out.is_empty());
        let mut parser = Parser::new();
        let mut out = Vec::new();
        let big = vec![b'a'; MAX_LINE / 2 + 1];
        parser.feed(b"data: ", &mut out).unwrap();
        parser.feed(&big, &mut out).unwrap();
        assert_eq!(parser.feed(&big, &mut out), Err(TooLong));
    }
}
