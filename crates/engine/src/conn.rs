//! One connection per virtual user: open it (TCP, then TLS, then HTTP/1.1 or HTTP/2), time the
//! steps that happened, and name what went wrong when it breaks.
//!
//! Requests over HTTP/1.1 go through our own lean client ([`crate::h1`]); HTTP/2 and the SSE
//! streams through hyper's `client::conn`, not the pooled legacy client. Either way the user
//! owns its connection, so N users means N connections (an HTTP/2 one carries only its user's
//! requests), and a broken one is re-opened and counted. Knows nothing of requests or
//! statistics: it hands back a sender, the connection's [`Driver`], what the opening cost, and a
//! clock of the first write.

use std::cell::Cell;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::Either;
use http_body_util::Full;
use hyper::client::conn::{http1, http2};
use hyper_util::rt::TokioIo;
use stampede_metrics::Outcome;
use stampede_plan::{BaseUrl, HttpVersion, Plan};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::task::AbortHandle;
use tokio::time::Instant;

use crate::h1;
use crate::tls::{self, TlsClient, TlsError};
use crate::wire::{Io, connect_outcome, io_outcome};

type Body = Full<Bytes>;

/// How users reach the target.
#[derive(Clone)]
pub enum Connector {
    /// Plain HTTP/1.1 over TCP.
    Tcp(SocketAddr),
    /// An in-memory pipe to a server in the same process, HTTP/1.1: lets schedule tests run
    /// under tokio's paused clock, which real sockets would defeat.
    Memory(Arc<dyn Fn() -> tokio::io::DuplexStream + Send + Sync>),
    /// TCP with TLS and/or HTTP/2, as a scenario's base-url and `http` ask.
    Net(Endpoint),
}

/// Where and how a [`Connector::Net`] connects.
#[derive(Clone, Debug)]
pub struct Endpoint {
    pub addr: SocketAddr,
    pub http: HttpVersion,
    /// `None` for plain TCP.
    pub tls: Option<TlsClient>,
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Connector::Tcp(addr) => write!(f, "Tcp({addr})"),
            Connector::Memory(_) => f.write_str("Memory"),
            Connector::Net(endpoint) => write!(f, "{endpoint:?}"),
        }
    }
}

/// A connection just opened: how to send on it, what moves its bytes, and what opening cost.
pub(crate) struct Opened {
    pub(crate) sender: Sender,
    pub(crate) driver: Driver,
    /// TCP connect time; `None` when there was no TCP (the in-memory pipe).
    pub(crate) connecting: Option<Duration>,
    /// TLS handshake time, for TLS connections.
    pub(crate) tls: Option<Duration>,
    pub(crate) writes: WriteClock,
}

/// Which HTTP/1.1 client a connection gets (HTTP/2 is hyper's either way).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Client {
    /// The lean client: a user's requests.
    Lean,
    /// hyper's: a body that streams as it arrives (an SSE stream).
    Hyper,
}

/// A connection that could not be opened: the outcome, and what happened in words (for the
/// failure's sample).
pub(crate) struct Refusal {
    pub(crate) outcome: Outcome,
    pub(crate) detail: String,
}

impl Connector {
    /// The connector a plan asks for: TLS for an `https://` base-url (its configuration built
    /// here, once for the run), HTTP/2 when `http` says so. `addr` is base-url's resolved
    /// address.
    pub fn for_plan(plan: &Plan, addr: SocketAddr) -> Result<Connector, TlsError> {
        let tls = match (&plan.tls, &plan.base_url) {
            (Some(settings), BaseUrl::Http(base)) => {
                Some(TlsClient::new(settings, &base.host, plan.http)?)
            }
            // The builtin target is plain HTTP; lowering allows TLS only with an https URL.
            _ => None,
        };
        Ok(match (&tls, plan.http) {
            (None, HttpVersion::Http1 | HttpVersion::Auto) => Connector::Tcp(addr),
            _ => Connector::Net(Endpoint {
                addr,
                http: plan.http,
                tls,
            }),
        })
    }

    /// Whether connections are TLS: an HTTP/2 request then names `https` as its `:scheme`.
    pub(crate) fn is_tls(&self) -> bool {
        matches!(self, Connector::Net(Endpoint { tls: Some(_), .. }))
    }

    /// Opens a connection; HTTP/2's driver is spawned on the current thread's `LocalSet`,
    /// HTTP/1.1's is handed back for the caller's task to poll.
    pub(crate) async fn connect(
        &self,
        timeout: Duration,
        client: Client,
    ) -> Result<Opened, Refusal> {
        // Boxed: opening (TLS state, hyper's handshake) is the largest thing a user awaits,
        // and inline it would size every user's task for it, though it runs once per
        // connection.
        match Box::pin(tokio::time::timeout(timeout, self.open(client))).await {
            Ok(result) => result,
            Err(_) => Err(Refusal {
                outcome: Outcome::Timeout,
                detail: format!("no connection within {}", humanish(timeout)),
            }),
        }
    }

    async fn open(&self, client: Client) -> Result<Opened, Refusal> {
        let writes = WriteClock::default();
        match self {
            Connector::Memory(open) => {
                let io = Timed::new(open(), writes.clone());
                let (sender, driver) = handshake(io, false, client).await?;
                Ok(opened(sender, driver, None, None, writes))
            }
            Connector::Tcp(addr) => {
                let (stream, connecting) = tcp(*addr).await?;
                let io = Timed::new(stream, writes.clone());
                let (sender, driver) = handshake(io, false, client).await?;
                Ok(opened(sender, driver, Some(connecting), None, writes))
            }
            Connector::Net(endpoint) => {
                let (stream, connecting) = tcp(endpoint.addr).await?;
                let io = Timed::new(stream, writes.clone());
                let Some(tls_client) = &endpoint.tls else {
                    let h2 = endpoint.http == HttpVersion::Http2;
                    let (sender, driver) = handshake(io, h2, client).await?;
                    return Ok(opened(sender, driver, Some(connecting), None, writes));
                };
                let began = Instant::now();
                let stream = tls_client
                    .connector
                    .connect(tls_client.server_name.clone(), io)
                    .await
                    .map_err(|err| Refusal {
                        outcome: io_outcome(&err),
                        detail: tls::describe(&err),
                    })?;
                let handshake_time = began.elapsed();
                // ALPN decides under `auto`; `2` offered only h2, so it is h2 whatever the
                // server said.
                let h2 = match endpoint.http {
                    HttpVersion::Http1 => false,
                    HttpVersion::Http2 => true,
                    HttpVersion::Auto => stream.get_ref().1.alpn_protocol() == Some(b"h2"),
                };
                let (sender, driver) = handshake(stream, h2, client).await?;
                Ok(opened(
                    sender,
                    driver,
                    Some(connecting),
                    Some(handshake_time),
                    writes,
                ))
            }
        }
    }
}

impl Connector {
    /// Opens a connection (TCP, then TLS offering only HTTP/1.1) and leaves HTTP to the caller:
    /// a WebSocket's upgrade is one HTTP/1.1 request, after which the bytes are its own.
    pub(crate) async fn connect_io(&self, timeout: Duration) -> Result<Box<dyn Io>, Refusal> {
        match tokio::time::timeout(timeout, self.open_io()).await {
            Ok(result) => result,
            Err(_) => Err(Refusal {
                outcome: Outcome::Timeout,
                detail: format!("no connection within {}", humanish(timeout)),
            }),
        }
    }

    async fn open_io(&self) -> Result<Box<dyn Io>, Refusal> {
        match self {
            Connector::Memory(open) => Ok(Box::new(open())),
            Connector::Tcp(addr) => Ok(Box::new(tcp(*addr).await?.0)),
            Connector::Net(endpoint) => {
                let (stream, _) = tcp(endpoint.addr).await?;
                let Some(client) = &endpoint.tls else {
                    return Ok(Box::new(stream));
                };
                let stream = client
                    .http1_connector
                    .connect(client.server_name.clone(), stream)
                    .await
                    .map_err(|err| Refusal {
                        outcome: io_outcome(&err),
                        detail: tls::describe(&err),
                    })?;
                Ok(Box::new(stream))
            }
        }
    }
}

fn opened(
    sender: Sender,
    driver: Driver,
    connecting: Option<Duration>,
    tls: Option<Duration>,
    writes: WriteClock,
) -> Opened {
    Opened {
        sender,
        driver,
        connecting,
        tls,
        writes,
    }
}

async fn tcp(addr: SocketAddr) -> Result<(TcpStream, Duration), Refusal> {
    let began = Instant::now();
    let stream = TcpStream::connect(addr).await.map_err(|err| Refusal {
        outcome: connect_outcome(&err),
        detail: format!("cannot connect to {addr}: {err}"),
    })?;
    // Requests are small and latency is what we measure: never wait for Nagle.
    let _ = stream.set_nodelay(true);
    Ok((stream, began.elapsed()))
}

/// A user's sender: HTTP/1.1 (ours, or hyper's for a stream) or HTTP/2, whichever the
/// connection speaks.
pub(crate) enum Sender {
    Lean(h1::Conn),
    Http1(http1::SendRequest<Body>),
    Http2(http2::SendRequest<Body>),
}

/// A request handed over: hyper's future of the response head, or the lean connection that
/// has it written in its buffer, for [`crate::exchange::exchange_lean`].
pub(crate) enum Sending<'a, F> {
    Hyper(F),
    Lean(&'a mut h1::Conn),
}

impl Sender {
    pub(crate) fn is_http2(&self) -> bool {
        matches!(self, Sender::Http2(_))
    }

    /// The lean HTTP/1.1 client, which takes a request's parts without an `http::Request`.
    pub(crate) fn lean(&mut self) -> Option<&mut h1::Conn> {
        match self {
            Sender::Lean(conn) => Some(conn),
            Sender::Http1(_) | Sender::Http2(_) => None,
        }
    }

    /// Waits until the connection can take a request; an error means it is gone.
    pub(crate) async fn ready(&mut self) -> Result<(), Broke> {
        match self {
            Sender::Lean(conn) => conn.ready().await.map_err(Broke::Lean),
            Sender::Http1(sender) => sender.ready().await.map_err(Broke::Hyper),
            Sender::Http2(sender) => sender.ready().await.map_err(Broke::Hyper),
        }
    }

    /// Hands `request` (whose body is `body`) over at once: hyper's future waits for the
    /// response head; the lean client has it written into its buffer. Not an `async fn`, which
    /// would keep the request in its future beside hyper's.
    pub(crate) fn send(
        &mut self,
        request: http::Request<Body>,
        body: &[u8],
    ) -> Sending<
        '_,
        impl Future<Output = Result<http::Response<hyper::body::Incoming>, hyper::Error>> + use<>,
    > {
        match self {
            Sender::Lean(conn) => {
                let target = request.uri().path_and_query().map_or("/", |pq| pq.as_str());
                conn.start(request.method(), target, request.headers(), body);
                Sending::Lean(conn)
            }
            Sender::Http1(sender) => Sending::Hyper(Either::Left(sender.send_request(request))),
            Sender::Http2(sender) => Sending::Hyper(Either::Right(sender.send_request(request))),
        }
    }
}

/// Runs the HTTP handshake. HTTP/1.1's connection is driven by its user's own task (see
/// [`Driver`]); HTTP/2's by a task of its own, as hyper spawns the stream tasks anyway. The
/// lean client has no handshake: it does its own I/O as its user awaits an exchange.
async fn handshake<T>(io: T, h2: bool, client: Client) -> Result<(Sender, Driver), Refusal>
where
    T: AsyncRead + AsyncWrite + Unpin + 'static,
{
    if !h2 && client == Client::Lean {
        return Ok((Sender::Lean(h1::Conn::new(Box::new(io))), Driver::Own));
    }
    let refused = |err: hyper::Error| Refusal {
        outcome: classify(&err),
        detail: format!("http handshake: {err}"),
    };
    // The connection ends when the user drops its sender or the peer hangs up; either way the
    // next request sees it and reconnects, so there is nothing to report from the driver.
    if h2 {
        let (sender, connection) = http2::Builder::new(LocalExec)
            .handshake(TokioIo::new(io))
            .await
            .map_err(refused)?;
        let driver = tokio::task::spawn_local(async move {
            let _ = connection.await;
        });
        Ok((
            Sender::Http2(sender),
            Driver::Spawned(driver.abort_handle()),
        ))
    } else {
        let (sender, connection) = http1::handshake(TokioIo::new(io)).await.map_err(refused)?;
        let connection = Box::pin(async move {
            let _ = connection.await;
        });
        Ok((Sender::Http1(sender), Driver::Inline(Some(connection))))
    }
}

/// What moves a connection's bytes. Dropping it tears the connection down at once (a
/// timed-out request must not leave a socket behind waiting for a server that stalls).
pub(crate) enum Driver {
    /// Polled by the user's task beside each request ([`Driver::drive`]): no task per
    /// connection, no wake-up of another task per request. `None` once the connection ended.
    Inline(Option<Pin<Box<dyn Future<Output = ()>>>>),
    /// A task of its own on the load thread's `LocalSet`.
    Spawned(AbortHandle),
    /// Nothing apart from the work: the lean client moves its bytes inside the exchange.
    Own,
}

impl Driver {
    /// Runs `work` (waiting for readiness, an exchange, reading a body) to its end while
    /// moving the connection's bytes. Between calls an inline connection is not polled: an
    /// idle HTTP/1.1 connection has nothing to do, and a close the peer sent meanwhile shows
    /// at the next call, as the next request's failed readiness.
    ///
    /// `work` comes pinned where the caller made it: taken by value, it would be kept twice in
    /// this future (as the argument and pinned), and that is in every user's task.
    pub(crate) async fn drive<F: Future>(&mut self, mut work: Pin<&mut F>) -> F::Output {
        let Driver::Inline(connection) = self else {
            return work.await;
        };
        std::future::poll_fn(|cx| {
            if let Poll::Ready(out) = work.as_mut().poll(cx) {
                return Poll::Ready(out);
            }
            let Some(driving) = connection.as_mut() else {
                // Ended: hyper has already failed whatever was waiting on it.
                return Poll::Pending;
            };
            if driving.as_mut().poll(cx).is_ready() {
                *connection = None;
            }
            // The connection may just have written the request `work` queued, or handed it the
            // response it waits for: poll it again rather than wait for a wake-up.
            work.as_mut().poll(cx)
        })
        .await
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if let Driver::Spawned(task) = self {
            task.abort();
        }
    }
}

/// Runs HTTP/2's background tasks on the load thread's `LocalSet`, beside the user: the
/// connection's I/O is not `Send`, and a shard never hands work to another thread.
#[derive(Clone, Copy)]
struct LocalExec;

impl<F> hyper::rt::Executor<F> for LocalExec
where
    F: Future + 'static,
    F::Output: 'static,
{
    fn execute(&self, future: F) {
        tokio::task::spawn_local(future);
    }
}

/// When a connection first wrote after being reset: the moment a request started going out,
/// from which time to first byte (`waiting`) is measured.
#[derive(Clone, Default)]
pub(crate) struct WriteClock(Rc<Cell<Option<Instant>>>);

impl WriteClock {
    /// Forgets the last write: call before handing a request over.
    pub(crate) fn reset(&self) {
        self.0.set(None);
    }

    /// The first write since the last reset.
    pub(crate) fn first_write(&self) -> Option<Instant> {
        self.0.get()
    }

    fn wrote(&self) {
        if self.0.get().is_none() {
            self.0.set(Some(Instant::now()));
        }
    }
}

/// A stream that notes its first write into a [`WriteClock`]. Under TLS it sits below the
/// encryption, so it sees records as they leave.
struct Timed<T> {
    inner: T,
    clock: WriteClock,
}

impl<T> Timed<T> {
    fn new(inner: T, clock: WriteClock) -> Timed<T> {
        Timed { inner, clock }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Timed<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Timed<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.clock.wrote();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.clock.wrote();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

fn humanish(d: Duration) -> String {
    stampede_metrics::format::seconds(d)
}

/// Why an exchange, or a connection's readiness, failed.
pub(crate) enum Broke {
    Hyper(hyper::Error),
    Lean(h1::Error),
    Timeout(Duration),
}

impl Broke {
    pub(crate) fn outcome(&self) -> Outcome {
        match self {
            Broke::Hyper(err) => classify(err),
            Broke::Lean(err) => err.outcome(),
            Broke::Timeout(_) => Outcome::Timeout,
        }
    }

    /// What happened in words, with hyper's causes: "connection closed before message
    /// completed", "no response within 5s".
    pub(crate) fn detail(&self) -> String {
        match self {
            Broke::Hyper(err) => chain(err),
            Broke::Lean(err) => chain(err),
            Broke::Timeout(limit) => format!(
                "no complete response within {}",
                stampede_metrics::format::seconds(*limit)
            ),
        }
    }
}

/// An error and its causes, joined by ": ".
fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
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
        return io_outcome(io);
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
