//! Serving one accepted connection: the TLS handshake when the target serves HTTPS, then
//! HTTP/1.1 or HTTP/2 on the same port (by ALPN on TLS; on plain TCP, by the HTTP/2
//! preface a client with prior knowledge sends), upgrades included, until the client goes
//! or the connection is hung up on.
//!
//! Knows nothing of routes: every request goes to the `Conn` service.

use std::sync::Arc;
use std::time::Duration;

use hyper::rt::{Read, Write};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio_rustls::TlsAcceptor;
use tracing::debug;

use crate::counters::bump;
use crate::service::Conn;
use crate::state::State;
use crate::tls;

/// Longest a client may take to finish the TLS handshake; past it the attempt counts as a
/// failed handshake and the connection is closed, so silent sockets cannot pile up.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `stream` on a task of its own.
pub(crate) fn spawn(stream: TcpStream, state: Arc<State>, tls: Option<TlsAcceptor>) {
    // Small JSON answers on keep-alive connections: don't let Nagle hold them back.
    // Failing to set it only costs latency, so it is not worth dropping the connection.
    let _ = stream.set_nodelay(true);
    tokio::spawn(async move {
        match tls {
            None => serve_http(TokioIo::new(stream), state).await,
            Some(acceptor) => serve_tls(stream, acceptor, state).await,
        }
    });
}

async fn serve_tls(stream: TcpStream, acceptor: TlsAcceptor, state: Arc<State>) {
    let counters = &state.metrics.counters;
    let handshake =
        tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream).into_fallible());
    match handshake.await {
        Ok(Ok(stream)) => {
            bump(&counters.tls_handshakes);
            let alpn = tls::alpn_label(stream.get_ref().1);
            debug!(alpn, "TLS handshake done");
            serve_http(TokioIo::new(stream), state).await;
        }
        Ok(Err((err, stream))) => {
            // Count before the socket closes: a client that sees the close may read
            // `/metrics` next and must find the failure there.
            bump(&counters.tls_handshake_failures);
            debug!(error = %err, "TLS handshake failed");
            drop(stream);
        }
        Err(_elapsed) => {
            bump(&counters.tls_handshake_failures);
            debug!("TLS handshake timed out");
        }
    }
}

/// HTTP/1.1 and HTTP/2 on one connection, until it ends or `hangup` is notified.
async fn serve_http<I>(io: I, state: Arc<State>)
where
    I: Read + Write + Unpin + Send + 'static,
{
    let hangup = Arc::new(Notify::new());
    let service = Conn::new(state, Arc::clone(&hangup));
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .keep_alive(true)
        // No header timeout: a virtual user may idle between requests for as long as its
        // scenario says, and hyper would otherwise close idle keep-alive connections.
        .header_read_timeout(None);
    let served = builder.serve_connection_with_upgrades(io, service);
    tokio::select! {
        served = served => {
            if let Err(err) = served {
                debug!(error = %err, "connection ended with an error");
            }
        }
        () = hangup.notified() => debug!("hung up on a slow event-stream consumer"),
    }
}
