//! Reading an HTTP/1.1 response: the head through `httparse` (bounded in headers and size), how
//! its body is framed (none, `content-length`, chunked, or until the peer closes), and a body
//! decoder that works on whatever bytes have arrived, however the stream was cut.
//!
//! Knows nothing of sockets: the connection feeds it bytes and reads more when it asks.

use std::mem::MaybeUninit;
use std::ops::Range;

use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Version};

use super::Error;

/// Most headers a response head may have, as hyper's client allows.
pub(crate) const MAX_HEADERS: usize = 100;

/// Largest response head (status line and headers), about hyper's default read limit
/// (8 KiB + 100 × 4 KiB): a longer head is not HTTP we can read, and counts as "other".
pub(crate) const MAX_HEAD_BYTES: usize = 8192 + 4096 * MAX_HEADERS;

/// Longest chunk-size line (with extensions) or trailer line.
const MAX_LINE_BYTES: usize = 4096;

/// A parsed response head.
pub(crate) struct Head {
    pub(crate) parts: http::response::Parts,
    /// How many bytes of the buffer the head took.
    pub(crate) len: usize,
    /// How its body ends.
    pub(crate) framing: Framing,
    /// Whether the connection may carry another request after this response.
    pub(crate) keep_alive: bool,
}

/// Parses a response head from the start of `buf`: `Ok(None)` when more bytes are needed.
/// `method` is the request's (a `HEAD` response has no body). The headers are copied into the
/// parts only when `wanted` (or for a 429, whose `Retry-After` a backoff reads): framing needs
/// none of that, and most requests look at nothing but the status.
pub(crate) fn parse_head(buf: &[u8], method: &Method, wanted: bool) -> Result<Option<Head>, Error> {
    // Left uninitialised: filling 100 empty headers before every parse was the largest cost
    // of reading a response (httparse initialises those it parses).
    let mut slots = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut []);
    let parsed = httparse::ParserConfig::default().parse_response_with_uninit_headers(
        &mut response,
        buf,
        &mut slots,
    );
    let len = match parsed {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if buf.len() >= MAX_HEAD_BYTES => {
            return Err(Error::TooLarge);
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(Error::TooLarge),
        Err(err) => return Err(Error::Parse(parse_error(err))),
    };
    if len > MAX_HEAD_BYTES {
        return Err(Error::TooLarge);
    }
    let status = response
        .code
        .and_then(|code| StatusCode::from_u16(code).ok())
        .ok_or(Error::Parse("invalid HTTP status-code parsed"))?;
    let version = match response.version {
        Some(0) => Version::HTTP_10,
        _ => Version::HTTP_11,
    };
    let fields = &*response.headers;
    let framing = framing(method, status, fields)?;
    let keep_alive = keeps_alive(version, fields) && framing != Framing::Eof;
    let (mut parts, ()) = http::Response::new(()).into_parts();
    parts.status = status;
    parts.version = version;
    if wanted || status == StatusCode::TOO_MANY_REQUESTS {
        parts.headers = header_map(fields)?;
    }
    Ok(Some(Head {
        parts,
        len,
        framing,
        keep_alive,
    }))
}

fn header_map(fields: &[httparse::Header<'_>]) -> Result<HeaderMap, Error> {
    let mut headers = HeaderMap::with_capacity(fields.len());
    for field in fields {
        let name = HeaderName::from_bytes(field.name.as_bytes())
            .map_err(|_| Error::Parse("invalid HTTP header parsed"))?;
        let value = HeaderValue::from_bytes(field.value)
            .map_err(|_| Error::Parse("invalid HTTP header parsed"))?;
        headers.append(name, value);
    }
    Ok(headers)
}

/// The values of the header `name`, in order.
fn values<'a>(
    fields: &'a [httparse::Header<'a>],
    name: &'a str,
) -> impl DoubleEndedIterator<Item = &'a [u8]> + 'a {
    fields
        .iter()
        .filter(move |field| field.name.eq_ignore_ascii_case(name))
        .map(|field| field.value)
}

/// The comma-separated items of header values, trimmed.
fn items(value: &[u8]) -> impl DoubleEndedIterator<Item = &[u8]> {
    value.split(|&b| b == b',').map(<[u8]>::trim_ascii)
}

fn parse_error(err: httparse::Error) -> &'static str {
    match err {
        httparse::Error::Status => "invalid HTTP status-code parsed",
        httparse::Error::Version => "invalid HTTP version parsed",
        httparse::Error::HeaderName | httparse::Error::HeaderValue => "invalid HTTP header parsed",
        _ => "invalid HTTP message parsed",
    }
}

/// How a response's body ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Framing {
    /// After this many bytes (0: no body).
    Length(u64),
    Chunked,
    /// When the peer closes: the connection cannot be reused.
    Eof,
}

/// RFC 9112 §6.3: no body for `HEAD`, 1xx, 204 and 304; chunked when it is the last transfer
/// coding; any other transfer coding reads to the close; else `content-length` (every value the
/// same), else to the close.
fn framing(
    method: &Method,
    status: StatusCode,
    fields: &[httparse::Header<'_>],
) -> Result<Framing, Error> {
    if method == Method::HEAD
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
    {
        return Ok(Framing::Length(0));
    }
    if let Some(last) = values(fields, "transfer-encoding").next_back() {
        let chunked = items(last)
            .next_back()
            .is_some_and(|coding| coding.eq_ignore_ascii_case(b"chunked"));
        return Ok(if chunked {
            Framing::Chunked
        } else {
            Framing::Eof
        });
    }
    let mut length = None;
    for value in values(fields, "content-length") {
        for item in items(value) {
            let n = parse_length(item).ok_or(Error::Parse("invalid content-length"))?;
            if length.is_some_and(|seen| seen != n) {
                return Err(Error::Parse("invalid content-length"));
            }
            length = Some(n);
        }
    }
    Ok(length.map_or(Framing::Eof, Framing::Length))
}

fn parse_length(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &b| {
        let digit = (b as char).to_digit(10)?;
        n.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

/// HTTP/1.1 keeps the connection unless `Connection: close`; HTTP/1.0 only with
/// `Connection: keep-alive`.
fn keeps_alive(version: Version, fields: &[httparse::Header<'_>]) -> bool {
    let has = |token: &[u8]| {
        values(fields, "connection")
            .any(|value| items(value).any(|item| item.eq_ignore_ascii_case(token)))
    };
    if version == Version::HTTP_10 {
        has(b"keep-alive")
    } else {
        !has(b"close")
    }
}

/// What the decoder made of the bytes it was shown.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// `consumed` bytes used up; `data` (within them) is body.
    Body { consumed: usize, data: Range<usize> },
    /// Nothing can be decoded until more bytes arrive.
    Need,
    /// The body ended after `consumed` more bytes.
    Done { consumed: usize },
}

/// Decodes one body, step by step, over the bytes that have arrived.
pub(crate) struct Decoder {
    state: State,
}

#[derive(Clone, Copy, Debug)]
enum State {
    Length(u64),
    Eof,
    /// Chunked: at a chunk-size line.
    Size,
    /// Chunked: this much of the chunk's data is still to come.
    Data(u64),
    /// Chunked: the CRLF after a chunk's data.
    DataEnd,
    /// Chunked: after the last chunk, at a trailer line or the final CRLF.
    Trailers,
    Done,
}

impl Decoder {
    pub(crate) fn new(framing: Framing) -> Decoder {
        let state = match framing {
            Framing::Length(0) => State::Done,
            Framing::Length(n) => State::Length(n),
            Framing::Chunked => State::Size,
            Framing::Eof => State::Eof,
        };
        Decoder { state }
    }

    /// Decodes what it can of `buf` (the bytes not yet consumed).
    pub(crate) fn step(&mut self, buf: &[u8]) -> Result<Step, Error> {
        match self.state {
            State::Done => Ok(Step::Done { consumed: 0 }),
            State::Length(left) => Ok(self.counted(buf, left, State::Length, State::Done)),
            State::Eof if buf.is_empty() => Ok(Step::Need),
            State::Eof => Ok(body(buf.len(), 0..buf.len())),
            State::Size => {
                let Some((line, consumed)) = line(buf)? else {
                    return Ok(Step::Need);
                };
                let size = chunk_size(line)?;
                self.state = if size == 0 {
                    State::Trailers
                } else {
                    State::Data(size)
                };
                Ok(body(consumed, 0..0))
            }
            State::Data(left) => Ok(self.counted(buf, left, State::Data, State::DataEnd)),
            State::DataEnd => match buf {
                [] | [b'\r'] => Ok(Step::Need),
                [b'\r', b'\n', ..] => {
                    self.state = State::Size;
                    Ok(body(2, 0..0))
                }
                [b'\n', ..] => {
                    self.state = State::Size;
                    Ok(body(1, 0..0))
                }
                _ => Err(Error::Parse("invalid chunk: no CRLF after its data")),
            },
            State::Trailers => {
                let Some((line, consumed)) = line(buf)? else {
                    return Ok(Step::Need);
                };
                if line.is_empty() {
                    self.state = State::Done;
                    return Ok(Step::Done { consumed });
                }
                Ok(body(consumed, 0..0))
            }
        }
    }

    /// Takes up to `left` bytes of body from `buf`: the state goes on as `more(left)` while
    /// some are still to come, and becomes `then` once they are all in.
    fn counted(&mut self, buf: &[u8], left: u64, more: fn(u64) -> State, then: State) -> Step {
        if buf.is_empty() {
            return Step::Need;
        }
        let take = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let left = left - take as u64;
        self.state = if left == 0 { then } else { more(left) };
        body(take, 0..take)
    }

    /// The peer closed: fine for a body that reads to the close, an incomplete message for
    /// any other that has not ended.
    pub(crate) fn at_eof(&mut self) -> Result<(), Error> {
        match self.state {
            State::Eof | State::Done => {
                self.state = State::Done;
                Ok(())
            }
            _ => Err(Error::Closed),
        }
    }
}

fn body(consumed: usize, data: Range<usize>) -> Step {
    Step::Body { consumed, data }
}

/// The first line of `buf` without its CRLF (a bare LF is taken too), and the bytes it took;
/// `None` while it is incomplete.
fn line(buf: &[u8]) -> Result<Option<(&[u8], usize)>, Error> {
    let Some(end) = buf.iter().position(|&b| b == b'\n') else {
        if buf.len() > MAX_LINE_BYTES {
            return Err(Error::Parse("chunk size or trailer line too long"));
        }
        return Ok(None);
    };
    if end > MAX_LINE_BYTES {
        return Err(Error::Parse("chunk size or trailer line too long"));
    }
    let line = &buf[..end];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    Ok(Some((line, end + 1)))
}

/// A chunk-size line: hex digits, then optional whitespace and `;extensions`, ignored.
fn chunk_size(line: &[u8]) -> Result<u64, Error> {
    let invalid = Error::Parse("invalid chunk size line");
    let digits = line
        .iter()
        .position(|b| !b.is_ascii_hexdigit())
        .unwrap_or(line.len());
    if digits == 0 {
        return Err(invalid);
    }
    let rest = line[digits..].trim_ascii_start();
    if !rest.is_empty() && rest[0] != b';' {
        return Err(invalid);
    }
    line[..digits].iter().try_fold(0u64, |n, &b| {
        let digit = (b as char)
            .to_digit(16)
            .ok_or(Error::Parse("invalid chunk size line"))?;
        n.checked_mul(16)
            .and_then(|n| n.checked_add(u64::from(digit)))
            .ok_or(Error::Parse("chunk size overflows"))
    })
}

#[cfg(test)]
#[path = "response_tests.rs"]
mod tests;
