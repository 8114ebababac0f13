//! One HTTP/1.1 connection per virtual user: open it, and name what went wrong when it breaks.
//!
//! Uses hyper's `client::conn` directly, not the pooled legacy client: the user owns its
//! connection, so N users means N connections, and a broken one is re-opened and counted.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use stampede_metrics::Outcome;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::task::AbortHandle;

pub(crate) type Sender = http1::SendRequest<Full<Bytes>>;

/// How users reach the target.
#[derive(Clone)]
pub enum Connector {
    Tcp(SocketAddr),
    /// An in-memory pipe to a server in the same process: lets schedule tests run under tokio's
    /// paused clock, which real sockets would defeat.
    Memory(Arc<dyn Fn() -> tokio::io::DuplexStream + Send + Sync>),
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Connector::Tcp(addr) => write!(f, "Tcp({addr})"),
            Connector::Memory(_) => f.write_str("Memory"),
        }
    }
}

impl Connector {
    /// Opens a connection and spawns its driver on the current thread's `LocalSet`.
    pub(crate) async fn connect(
        &self,
        timeout: Duration,
    ) -> Result<(Sender, AbortHandle), Outcome> {
        match self {
            Connector::Tcp(addr) => {
                let stream = match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
                    Err(_) => return Err(Outcome::Timeout),
                    Ok(Err(err)) => return Err(connect_outcome(&err)),
                    Ok(Ok(stream)) => stream,
                };
                // Requests are small and latency is what we measure: never wait for Nagle.
                let _ = stream.set_nodelay(true);
                handshake(stream).await
            }
            Connector::Memory(open) => handshake(open()).await,
        }
    }
}

async fn handshake<T>(io: T) -> Result<(Sender, AbortHandle), Outcome>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (sender, connection) = http1::handshake(TokioIo::new(io))
        .await
        .map_err(|err| classify(&err))?;
    let driver = tokio::task::spawn_local(async move {
        // The connection ends when the user drops its sender or the peer hangs up; either way
        // the next request sees it and reconnects, so there is nothing to report here.
        let _ = connection.await;
    });
    Ok((sender, driver.abort_handle()))
}

fn connect_outcome(err: &io::Error) -> Outcome {
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

/// Names a hyper error as an outcome: a connection that broke mid-exchange is a reset, a reply
/// that is not HTTP is "other".
pub(crate) fn classify(err: &hyper::Error) -> Outcome {
    if err.is_timeout() {
        return Outcome::Timeout;
    }
    if err.is_parse() || err.is_parse_status() || err.is_parse_too_large() {
        return Outcome::Other;
    }
    if let Some(io) = find_io_error(err) {
        return match io.kind() {
            io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::UnexpectedEof => Outcome::Reset,
            io::ErrorKind::TimedOut => Outcome::Timeout,
            _ => Outcome::Other,
        };
    }
    if err.is_incomplete_message() || err.is_closed() || err.is_canceled() {
        return Outcome::Reset;
    }
    Outcome::Other
}

fn find_io_error(err: &hyper::Error) -> Option<&io::Error> {
    let mut source = std::error::Error::source(err);
    while let Some(inner) = source {
        if let Some(io) = inner.downcast_ref::<io::Error>() {
            return Some(io);
        }
        source = inner.source();
    }
    None
}
