//! A byte stream with no HTTP on it yet, and how its failures read as outcomes: what every
//! connection, the lean HTTP/1.1 client and a WebSocket run over.
//!
//! Knows nothing of HTTP: it sits below the clients that speak it.

use std::io;

use stampede_metrics::Outcome;
use tokio::io::{AsyncRead, AsyncWrite};

/// A byte stream with no HTTP on it yet: what a WebSocket upgrade runs over.
pub(crate) trait Io: AsyncRead + AsyncWrite + Unpin {}

impl<T: AsyncRead + AsyncWrite + Unpin> Io for T {}

/// An I/O error on an open stream (a TLS handshake, an exchange): a peer that hung up is a
/// reset; a certificate or protocol problem is "other" (its sample says which).
pub(crate) fn io_outcome(err: &io::Error) -> Outcome {
    match err.kind() {
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe
        | io::ErrorKind::UnexpectedEof => Outcome::Reset,
        io::ErrorKind::TimedOut => Outcome::Timeout,
        _ => Outcome::Other,
    }
}

/// An error while connecting: nobody listening or no route is a refusal.
pub(crate) fn connect_outcome(err: &io::Error) -> Outcome {
    match err.kind() {
        io::ErrorKind::ConnectionRefused
        | io::ErrorKind::AddrNotAvailable
        | io::ErrorKind::HostUnreachable
        | io::ErrorKind::NetworkUnreachable => Outcome::Refused,
        io::ErrorKind::TimedOut => Outcome::Timeout,
        io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted => Outcome::Reset,
        _ => Outcome::Other,
    }
}
