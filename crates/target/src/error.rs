//! Why the target could not start or keep running.

use std::net::SocketAddr;

/// Why the target could not start or keep running.
///
/// Faults the target injects on purpose are not errors: they are answers (or the lack of
/// one) that the load generator counts.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The listening socket could not be opened.
    #[error("cannot listen on {addr}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    /// The tokio runtime that serves requests could not be built.
    #[error("cannot start the target's runtime")]
    Runtime(#[source] std::io::Error),
    /// The thread that drives the runtime could not be spawned.
    #[error("cannot spawn the target's thread")]
    Thread(#[source] std::io::Error),
    /// `run_blocking` could not listen for Ctrl-C or SIGTERM.
    #[error("cannot listen for the shutdown signal")]
    Signal(#[source] std::io::Error),
}
