//! Running the target: its own runtime on its own thread, an accept loop, one task per
//! connection (see `connection`), and a prompt shutdown.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio_rustls::TlsAcceptor;
use tracing::debug;

use crate::config::Config;
use crate::connection;
use crate::error::Error;
use crate::state::State;
use crate::tls;

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
    /// PEM a client should trust, when the target serves TLS.
    trust_pem: Option<String>,
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
        // Certificates first: a bad file is reported before any port is taken.
        let tls = config.tls.as_ref().map(tls::load).transpose()?;
        let (acceptor, trust_pem) = match tls {
            Some(tls) => (Some(tls.acceptor), Some(tls.trust_pem)),
            None => (None, None),
        };
        // Bind on the caller's thread, so a taken port is reported to the caller.
        let bind_error = |source| Error::Bind { addr, source };
        let listener = std::net::TcpListener::bind(addr).map_err(bind_error)?;
        listener.set_nonblocking(true).map_err(bind_error)?;
        let local_addr = listener.local_addr().map_err(bind_error)?;

        let state = Arc::new(State::new(&config));
        let threads = config.threads.max(1);
        let (stop, stopped) = oneshot::channel();
        let (started, started_rx) = mpsc::sync_channel(1);
        let serving = Serving {
            listener,
            addr: local_addr,
            threads,
            state: Arc::clone(&state),
            tls: acceptor,
        };
        let thread = std::thread::Builder::new()
            .name(THREAD_NAME.into())
            .spawn(move || run_runtime(serving, stopped, started))
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
        debug!(addr = %local_addr, threads, tls = trust_pem.is_some(), "demo target listening");
        Ok(Target {
            addr: local_addr,
            trust_pem,
            state,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The address the target listens on (with the real port when started on port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `https` when the target serves TLS, else `http`.
    pub fn scheme(&self) -> &'static str {
        if self.trust_pem.is_some() {
            "https"
        } else {
            "http"
        }
    }

    /// `scheme://addr`, such as `https://127.0.0.1:40123`, for a scenario's base URL.
    pub fn base_url(&self) -> String {
        format!("{}://{}", self.scheme(), self.addr)
    }

    /// The PEM a client should trust to reach this target over TLS: the CA generated at
    /// start for `TlsConfig::Generated`, or the certificate file's contents for
    /// `TlsConfig::Files`. `None` for a plain-HTTP target.
    pub fn certificate_pem(&self) -> Option<&str> {
        self.trust_pem.as_deref()
    }

    /// Writes `certificate_pem()` to `path` (replacing it), for a client's `ca-file`.
    pub fn write_certificate(&self, path: &Path) -> Result<(), Error> {
        let pem = self.trust_pem.as_deref().ok_or(Error::NoCertificate)?;
        std::fs::write(path, pem).map_err(|source| Error::WriteCertificate {
            path: path.to_owned(),
            source,
        })
    }

    /// Serves until Ctrl-C or SIGTERM, then shuts down. Call it from a plain thread (such as
    /// `main`), not from inside an async runtime.
    pub fn serve_until_signal(self) -> Result<(), Error> {
        let signals = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .map_err(Error::Runtime)?;
        let waited = signals.block_on(shutdown_signal());
        self.shutdown();
        waited.map_err(Error::Signal)
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
    Target::start_on(addr, config)?.serve_until_signal()
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

/// What the target's thread needs to serve.
struct Serving {
    listener: std::net::TcpListener,
    addr: SocketAddr,
    threads: usize,
    state: Arc<State>,
    tls: Option<TlsAcceptor>,
}

/// The body of the target's thread: builds the runtime, says whether that worked, serves
/// until told to stop, then drops every connection with the runtime.
fn run_runtime(
    serving: Serving,
    stopped: oneshot::Receiver<()>,
    started: mpsc::SyncSender<Result<(), Error>>,
) {
    let Serving {
        listener,
        addr,
        threads,
        state,
        tls,
    } = serving;
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
    runtime.block_on(accept_loop(listener, state, tls, stopped));
    // Dropping the runtime drops every connection task, stalled ones included.
    runtime.shutdown_timeout(SHUTDOWN_GRACE);
}

async fn accept_loop(
    listener: TcpListener,
    state: Arc<State>,
    tls: Option<TlsAcceptor>,
    mut stop: oneshot::Receiver<()>,
) {
    loop {
        tokio::select! {
            biased;
            _ = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => connection::spawn(stream, Arc::clone(&state), tls.clone()),
                Err(err) => {
                    debug!(error = %err, "accept failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            },
        }
    }
    debug!("demo target stopped accepting");
}
