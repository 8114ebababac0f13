//! How `stampede run` reaches the target: the engine's connector built from the plan (TLS
//! configured once for the run, HTTP/2 as asked), with the plan's warnings logged first, so a
//! run with `insecure = true` says so every time.
//!
//! Knows nothing of rustls: the engine builds the TLS configuration; this only logs and adds a
//! hint where the fix is known.

use std::net::SocketAddr;

use stampede_engine::{Connector, TlsError};
use stampede_plan::Plan;

use crate::output::Hinted;

/// The connector for `plan`, whose base-url resolved to `addr`.
pub fn connector(plan: &Plan, addr: SocketAddr) -> anyhow::Result<Connector> {
    for warning in &plan.warnings {
        tracing::warn!("{warning}");
    }
    Connector::for_plan(plan, addr).map_err(|err| {
        let hint = match err {
            TlsError::NoSystemRoots { .. } => {
                "install the system's CA certificates, point SSL_CERT_FILE at a bundle, or set \
                 [tls] ca-file"
            }
            _ => "check the [tls] table of the scenario (`stampede validate` checks its files)",
        };
        Hinted::caused_by("cannot set up TLS for the run", hint, err)
    })
}
