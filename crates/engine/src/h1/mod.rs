//! The lean HTTP/1.1 client that carries a user's requests: one request at a time on a byte
//! stream the user's own task reads and writes, with no channel, no task and no per-request
//! buffer of its own (the request and read buffers are reused).
//!
//! Replaces hyper's `client::conn::http1` on the request path because hyper's floor per
//! connection (fixed 8 KiB read and write buffers, a request channel, its dispatcher) was most
//! of the memory per user and much of the CPU per request; hyper still carries HTTP/2 and the
//! SSE streams (see `conn`). Knows nothing of statistics: it hands back the response head and
//! counts the body bytes, keeping the first few.

mod encode;
mod response;

use std::fmt;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::{HeaderName, HeaderValue, Method};
use stampede_metrics::Outcome;
use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadBuf};
use tokio::time::Instant;

use crate::wire::{Io, io_outcome};
use response::{Decoder, Step};

/// What the read buffer starts at, and shrinks back to after a response that needed more.
const READ_BYTES: usize = 4096;

/// How far the read buffer grows while a body keeps filling it (fewer reads for a large body).
const READ_BODY_MAX: usize = 64 * 1024;

/// A connection speaking HTTP/1.1 for one user.
pub(crate) struct Conn {
    io: Box<dyn Io>,
    /// Bytes read and not yet used are `read[start..end]`; its length is its capacity (kept
    /// zeroed, so reads need no unsafe code).
    read: Vec<u8>,
    start: usize,
    end: usize,
    /// The request being sent; kept for its capacity.
    write: Vec<u8>,
    /// The request written last: what its response looks like.
    method: Method,
    closes: bool,
    /// False once the connection cannot carry another request.
    reusable: bool,
}

/// Why an exchange, or a connection's readiness, failed.
#[derive(Debug)]
pub(crate) enum Error {
    Io(io::Error),
    /// The peer closed before the response was complete.
    Closed,
    /// The connection ended after the last response (the peer or the response said so).
    Ended,
    /// The reply is not HTTP/1.x we can read.
    Parse(&'static str),
    /// A response head past [`response::MAX_HEAD_BYTES`] or [`response::MAX_HEADERS`].
    TooLarge,
}

impl Error {
    /// A connection that broke is a reset; a reply that is not HTTP is "other".
    pub(crate) fn outcome(&self) -> Outcome {
        match self {
            Error::Io(err) => io_outcome(err),
            Error::Closed | Error::Ended => Outcome::Reset,
            Error::Parse(_) | Error::TooLarge => Outcome::Other,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(_) => f.write_str("connection error"),
            Error::Closed => f.write_str("connection closed before message completed"),
            Error::Ended => f.write_str("connection closed"),
            Error::Parse(what) => f.write_str(what),
            Error::TooLarge => f.write_str("message head is too large"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(err) => Some(err),
            _ => None,
        }
    }
}

impl Conn {
    pub(crate) fn new(io: Box<dyn Io>) -> Conn {
        Conn {
            io,
            read: Vec::new(),
            start: 0,
            end: 0,
            write: Vec::new(),
            method: Method::GET,
            closes: false,
            reusable: true,
        }
    }

    /// Whether the connection can take a request now: not if a response ended it, nor if the
    /// peer closed it or sent bytes while it was idle (nothing was asked: it is broken).
    pub(crate) async fn ready(&mut self) -> Result<(), Error> {
        if !self.reusable {
            return Err(Error::Ended);
        }
        let io = &mut self.io;
        let idle = std::future::poll_fn(|cx| Poll::Ready(poll_idle(io.as_mut(), cx))).await;
        if idle.is_err() {
            self.reusable = false;
        }
        idle
    }

    /// Writes the request into the connection's buffer (see [`encode::request`]);
    /// [`Conn::exchange`] sends it.
    pub(crate) fn start<'h>(
        &mut self,
        method: &Method,
        target: &str,
        headers: impl IntoIterator<Item = (&'h HeaderName, &'h HeaderValue)>,
        body: &[u8],
    ) {
        let written = encode::request(&mut self.write, method, target, headers, body);
        self.method = written.method;
        self.closes = written.closes;
    }

    /// Sends the request [`Conn::start`] wrote and reads its response: the head's parts, the
    /// body's length and when the final head arrived (also set in `head`, for a body that
    /// breaks later); the first `keep` bytes of the body go into `body`; the response's headers
    /// are in the parts only when `headers` asks for them (or for a 429). Dropping the future mid-way leaves the connection unusable, and the
    /// caller drops it.
    pub(crate) async fn exchange(
        &mut self,
        body: &mut Vec<u8>,
        (keep, headers): (usize, bool),
        head: &mut Option<Instant>,
    ) -> Result<(http::response::Parts, u64, Instant), Error> {
        self.reusable = false;
        self.io.write_all(&self.write).await.map_err(Error::Io)?;
        self.io.flush().await.map_err(Error::Io)?;
        if self.read.is_empty() {
            self.read = vec![0; READ_BYTES];
        }
        let parsed = loop {
            match response::parse_head(&self.read[self.start..self.end], &self.method, headers)? {
                // 1xx are interim: the final response follows.
                Some(parsed) if parsed.parts.status.is_informational() => {
                    self.start += parsed.len;
                }
                Some(parsed) => break parsed,
                None => {
                    if self.fill().await? == 0 {
                        return Err(Error::Closed);
                    }
                }
            }
        };
        let arrived = Instant::now();
        *head = Some(arrived);
        self.start += parsed.len;
        let bytes = self
            .read_body(Decoder::new(parsed.framing), body, keep)
            .await?;
        // Bytes after the response were never asked for: the connection is not in step.
        self.reusable = parsed.keep_alive
            && !self.closes
            && parsed.parts.status.as_u16() != 101
            && self.start == self.end;
        if self.read.len() > READ_BODY_MAX / 4 {
            self.read = vec![0; READ_BYTES];
            (self.start, self.end) = (0, 0);
        }
        Ok((parsed.parts, bytes, arrived))
    }

    /// Reads the body through the read buffer, counting all of it and keeping `keep` bytes.
    async fn read_body(
        &mut self,
        mut decoder: Decoder,
        body: &mut Vec<u8>,
        keep: usize,
    ) -> Result<u64, Error> {
        let mut bytes = 0u64;
        loop {
            match decoder.step(&self.read[self.start..self.end])? {
                Step::Body { consumed, data } => {
                    let data = &self.read[self.start + data.start..self.start + data.end];
                    bytes += data.len() as u64;
                    let room = keep.saturating_sub(body.len());
                    body.extend_from_slice(&data[..data.len().min(room)]);
                    self.start += consumed;
                }
                Step::Done { consumed } => {
                    self.start += consumed;
                    return Ok(bytes);
                }
                Step::Need => {
                    if self.fill().await? == 0 {
                        decoder.at_eof()?;
                        return Ok(bytes);
                    }
                }
            }
        }
    }

    /// Reads more bytes after those not yet used, making room first: moved to the front, or
    /// a larger buffer while a head is incomplete (the head parser bounds it). 0 at the end.
    async fn fill(&mut self) -> Result<usize, Error> {
        if self.start == self.end {
            (self.start, self.end) = (0, 0);
        }
        if self.end == self.read.len() {
            if self.start > 0 {
                self.read.copy_within(self.start..self.end, 0);
                (self.start, self.end) = (0, self.end - self.start);
            } else {
                let grown = (self.read.len() * 2).min(response::MAX_HEAD_BYTES + READ_BYTES);
                if grown <= self.read.len() {
                    return Err(Error::TooLarge);
                }
                self.read.resize(grown, 0);
            }
        }
        let room = self.read.len() - self.end;
        let n = self
            .io
            .read(&mut self.read[self.end..])
            .await
            .map_err(Error::Io)?;
        self.end += n;
        // A read that filled the room: a large body is coming; read it in larger pieces.
        if n == room && self.read.len() < READ_BODY_MAX {
            self.read.resize(self.read.len() * 2, 0);
        }
        Ok(n)
    }
}

/// An idle connection is fine while it has nothing to read; a close, an error or bytes nobody
/// asked for mean it is gone.
fn poll_idle(io: &mut dyn Io, cx: &mut Context<'_>) -> Result<(), Error> {
    let mut byte = [0u8; 1];
    let mut buf = ReadBuf::new(&mut byte);
    match Pin::new(io).poll_read(cx, &mut buf) {
        Poll::Pending => Ok(()),
        Poll::Ready(Ok(())) if buf.filled().is_empty() => Err(Error::Ended),
        Poll::Ready(Ok(())) => Err(Error::Parse("unexpected bytes on an idle connection")),
        Poll::Ready(Err(err)) => Err(Error::Io(err)),
    }
}

#[cfg(test)]
mod tests;
