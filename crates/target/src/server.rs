//! Running the target: its own runtime on its own thread, an accept loop, one task per
//! connection, and a prompt shutdown.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tracing::debug;

use crate::config::Config;
use crate::error::Error;
use crate::service::Conn;
use crate::state::State;

/// Name of the runtime's threads, so they are easy to tell apart in `top -H` and profiles.
const THREAD_NAME: &str = "stampede-target";

/// How long shutdown waits for the runtime's blocking tasks (there are none in normal
/// operation); connections themselves are simply dropped.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

/// Pause after a failed `accept` (say, out of file descriptors) so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(10);

/// A running target on its own runtime thread(s). Dropping it shuts it down.
pub struct Target {
    addr: SocketAddr,
    state: Arc<State>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Target {
    /// Starts a target on `127.0.0.1` with a port chosen by the OS.
    pub fn start(config: Config) -> Result<Target, Error> {
        Target::start_on(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), config)
    }

    /// Starts a target listening on `addr`. Returns once it accepts connections.
    ///
    /// May be called from inside another tokio runtime: the target's runtime is built,
    /// run and dropped on its own thread only.
    pub fn start_on(addr: SocketAddr, config: Config) -> Result<Target, Error> {
        // Bind on the caller's thread, so a taken port is reported to the caller.
        let bind_error = |source| Error::Bind { addr, source };
        let listener = std::net::TcpListener::bind(addr).map_err(bind_error)?;
        listener.set_nonblocking(true).map_err(bind_error)?;
        let local_addr = listener.local_addr().map_err(bind_error)?;

        let state = Arc::new(State::new(&config));
        let threads = config.threads.max(1);
        let (stop, stopped) = oneshot::channel();
        let (started, started_rx) = mpsc::sync_channel(1);
        let serving = Arc::clone(&state);
        let thread = std::thread::Builder::new()
            .name(THREAD_NAME.into())
            .spawn(move || run_runtime(listener, local_addr, threads, serving, stopped, started))
            .map_err(Error::Thread)?;
        let outcome = started_rx.recv().unwrap_or_else(|_| {
            Err(Error::Runtime(std::io::Error::other(
                "the target's thread ended before it started serving",
            )))
        });
        if let Err(err) = outcome {
            // The thread has returned or is about to; joining cannot block for long.
            let _ = thread.join();
            return Err(err);
        }
        debug!(addr = %local_addr, threads, "demo target listening");
        Ok(Target {
            addr: local_addr,
            state,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The address the target listens on (with the real port when started on port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Requests that reached the router so far, faulted ones included.
    pub fn requests_served(&self) -> u64 {
        self.state.requests_served.load(Ordering::Relaxed)
    }

    /// Stops accepting, drops open connections, ends the runtime and joins its thread.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            // An error only means the accept loop has already ended.
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            debug!("the demo target's thread panicked");
        }
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        self.stop();
    }
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

/// Serves on `addr` until Ctrl-C or SIGTERM: the standalone `stampede target`. Call it
/// from a plain thread (such as `main`), not from inside an async runtime.
pub fn run_blocking(addr: SocketAddr, config: Config) -> Result<(), Error> {
    let target = Target::start_on(addr, config)?;
    let signals = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .map_err(Error::Runtime)?;
    let waited = signals.block_on(shutdown_signal());
    target.shutdown();
    waited.map_err(Error::Signal)
}

async fn shutdown_signal() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut terminate = signal(SignalKind::terminate())?;
        tokio::select! {
            interrupted = tokio::signal::ctrl_c() => interrupted,
            _ = terminate.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await
    }
}

/// The body of the target's thread: builds the runtime, says whether that worked, serves
/// until told to stop, then drops every connection with the runtime.
fn run_runtime(
    listener: std::net::TcpListener,
    addr: SocketAddr,
    threads: usize,
    state: Arc<State>,
    stopped: oneshot::Receiver<()>,
    started: mpsc::SyncSender<Result<(), Error>>,
) {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .thread_name(THREAD_NAME)
        .enable_io()
        .enable_time()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            let _ = started.send(Err(Error::Runtime(err)));
            return;
        }
    };
    let listener = {
        let _context = runtime.enter();
        TcpListener::from_std(listener)
    };
    let listener = match listener {
        Ok(listener) => listener,
        Err(source) => {
            let _ = started.send(Err(Error::Bind { addr, source }));
            return;
        }
    };
    // The caller waits for this message; if it has gone, nobody is left to stop us.
    if started.send(Ok(())).is_err() {
        return;
    }
    runtime.block_on(accept_loop(listener, state, stopped));
    // Dropping the runtime drops every connection task, stalled ones included.
    runtime.shutdown_timeout(SHUTDOWN_GRACE);
}

async fn accept_loop(listener: TcpListener, state: Arc<State>, mut stop: oneshot::Receiver<()>) {
    loop {
        tokio::select! {
            biased;
            _ = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => serve(stream, Arc::clone(&state)),
                Err(err) => {
                    debug!(error = %err, "accept failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            },
        }
    }
    debug!("demo target stopped accepting");
}

fn serve(stream: TcpStream, state: Arc<State>) {
    // Small JSON answers on keep-alive connections: don't let Nagle hold them back.
    // Failing to set it only costs latency, so it is not worth dropping the connection.
    let _ = stream.set_nodelay(true);
    let service = Conn::new(state);
    tokio::spawn(async move {
        let served = http1::Builder::new()
            .keep_alive(true)
            // No header timeout: a virtual user may idle between requests for as long as its
            // scenario says, and hyper would otherwise close idle keep-alive connections.
            .header_read_timeout(None)
            .serve_connection(TokioIo::new(stream), service)
            .await;
        if let Err(err) = served {
            debug!(error = %err, "connection ended with an error");
        }
    });
}
