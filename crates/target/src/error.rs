//! Why the target could not start or keep running.

use std::net::SocketAddr;
use std::path::PathBuf;

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
    /// The TLS certificate could not be generated.
    #[error("cannot generate the TLS certificate")]
    Certificate(#[source] rcgen::Error),
    /// A certificate or key file named by `TlsConfig::Files` could not be read.
    #[error("cannot read {path}")]
    ReadPem {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A certificate or key file holds no usable PEM of its kind.
    #[error("no PEM {what} in {path}")]
    NoPem { path: PathBuf, what: &'static str },
    /// rustls refused the certificate and key (say, a key that does not match).
    #[error("cannot configure TLS with this certificate and key")]
    Tls(#[source] tokio_rustls::rustls::Error),
    /// `Target::write_certificate` was asked of a target that serves plain HTTP.
    #[error("the target serves plain HTTP: it has no certificate to write")]
    NoCertificate,
    /// `Target::write_certificate` could not write its file.
    #[error("cannot write the certificate to {path}")]
    WriteCertificate {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}
