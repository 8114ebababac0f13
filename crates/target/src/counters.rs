//! Counters and gauges beyond the per-route table: TLS handshakes, requests per HTTP
//! version, event streams, conversations and websockets. Printed by `GET /metrics` after the
//! route table, every series always present (zero included), so a scrape can rely on them.
//!
//! Plain atomics, bumped where the thing happens; nothing here knows how it is served.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use http::Version;

/// `version` label values, in the order printed.
const VERSIONS: [&str; 3] = ["1.0", "1.1", "2"];

#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) tls_handshakes: AtomicU64,
    pub(crate) tls_handshake_failures: AtomicU64,
    versions: [AtomicU64; VERSIONS.len()],
    pub(crate) sse_streams_open: AtomicI64,
    pub(crate) messages_posted: AtomicU64,
    pub(crate) deliveries_sent: AtomicU64,
    pub(crate) deliveries_replayed: AtomicU64,
    pub(crate) deliveries_dropped: AtomicU64,
    pub(crate) slow_sse_consumers: AtomicU64,
    pub(crate) websockets_open: AtomicI64,
    pub(crate) ws_messages_received: AtomicU64,
    pub(crate) ws_messages_sent: AtomicU64,
    pub(crate) slow_ws_consumers: AtomicU64,
}

/// Adds `n` to a counter; relaxed, since each counter is read on its own.
pub(crate) fn add(counter: &AtomicU64, n: u64) {
    if n > 0 {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// Adds one to a counter.
pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl Counters {
    /// Counts one request by its HTTP version; HTTP/0.9 and HTTP/3 never reach hyper's
    /// server, so they are not labels.
    pub(crate) fn count_version(&self, version: Version) {
        let index = match version {
            Version::HTTP_10 => 0,
            Version::HTTP_2 => 2,
            _ => 1,
        };
        bump(&self.versions[index]);
    }

    pub(crate) fn render(&self, out: &mut String) {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let gauge = |gauge: &AtomicI64| gauge.load(Ordering::Relaxed).max(0);
        out.push_str(
            "# HELP stampede_target_requests_by_version_total Requests handled, by HTTP version.\n\
             # TYPE stampede_target_requests_by_version_total counter\n",
        );
        for (label, count) in VERSIONS.iter().zip(&self.versions) {
            let _ = writeln!(
                out,
                "stampede_target_requests_by_version_total{{version=\"{label}\"}} {}",
                load(count)
            );
        }
        let counters = [
            (
                "tls_handshakes_total",
                "TLS handshakes completed.",
                load(&self.tls_handshakes),
            ),
            (
                "tls_handshake_failures_total",
                "TLS handshakes that failed or timed out.",
                load(&self.tls_handshake_failures),
            ),
            (
                "messages_posted_total",
                "Messages posted to conversations.",
                load(&self.messages_posted),
            ),
            (
                "deliveries_sent_total",
                "Live message events written to event streams.",
                load(&self.deliveries_sent),
            ),
            (
                "deliveries_replayed_total",
                "Message events replayed to resuming event streams (Last-Event-ID).",
                load(&self.deliveries_replayed),
            ),
            (
                "deliveries_dropped_total",
                "Deliveries discarded by the drop-ratio knob.",
                load(&self.deliveries_dropped),
            ),
            (
                "ws_messages_received_total",
                "Text and binary websocket messages received.",
                load(&self.ws_messages_received),
            ),
            (
                "ws_messages_sent_total",
                "Text and binary websocket messages sent (echoes and broadcasts).",
                load(&self.ws_messages_sent),
            ),
        ];
        for (name, help, value) in counters {
            write_single(out, name, help, "counter", value);
        }
        let gauges = [
            (
                "sse_streams_open",
                "Event streams open now.",
                gauge(&self.sse_streams_open),
            ),
            (
                "websockets_open",
                "Websockets open now.",
                gauge(&self.websockets_open),
            ),
        ];
        for (name, help, value) in gauges {
            write_single(out, name, help, "gauge", value.unsigned_abs());
        }
        out.push_str(
            "# HELP stampede_target_slow_consumers_dropped_total Streams and websockets cut off because their queue was full.\n\
             # TYPE stampede_target_slow_consumers_dropped_total counter\n",
        );
        for (kind, count) in [
            ("sse", &self.slow_sse_consumers),
            ("ws", &self.slow_ws_consumers),
        ] {
            let _ = writeln!(
                out,
                "stampede_target_slow_consumers_dropped_total{{kind=\"{kind}\"}} {}",
                load(count)
            );
        }
    }
}

fn write_single(out: &mut String, name: &str, help: &str, kind: &str, value: u64) {
    // Writing into a String cannot fail.
    let _ = writeln!(
        out,
        "# HELP stampede_target_{name} {help}\n\
         # TYPE stampede_target_{name} {kind}\n\
         stampede_target_{name} {value}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_series_is_printed_even_at_zero() {
        let counters = Counters::default();
        counters.count_version(Version::HTTP_2);
        counters.count_version(Version::HTTP_11);
        counters.count_version(Version::HTTP_11);
        bump(&counters.slow_ws_consumers);
        counters.sse_streams_open.fetch_add(3, Ordering::Relaxed);
        let mut out = String::new();
        counters.render(&mut out);
        for expected in [
            r#"stampede_target_requests_by_version_total{version="1.1"} 2"#,
            r#"stampede_target_requests_by_version_total{version="2"} 1"#,
            r#"stampede_target_requests_by_version_total{version="1.0"} 0"#,
            "stampede_target_tls_handshakes_total 0",
            "stampede_target_tls_handshake_failures_total 0",
            "stampede_target_sse_streams_open 3",
            "stampede_target_websockets_open 0",
            r#"stampede_target_slow_consumers_dropped_total{kind="ws"} 1"#,
            "# TYPE stampede_target_deliveries_dropped_total counter",
        ] {
            assert!(out.contains(expected), "missing {expected} in\n{out}");
        }
    }
}
