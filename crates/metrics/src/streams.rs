//! What a held stream measured over a span: opening it, its first event, the events that came,
//! and the messages between paired users that arrived (their end-to-end latency) or did not.
//!
//! Merges by addition like everything else here, so threads' and intervals' parts combine
//! exactly. Knows nothing of SSE or sockets: the engine times the stream and counts here.

use serde::{Deserialize, Serialize};

use crate::Latency;
use crate::phases::coarse;

/// One named stream's figures over a span, over every user holding it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StreamStats {
    /// From starting to connect to the stream's response head (TCP, TLS, HTTP): once per
    /// stream opened.
    #[serde(default = "Latency::coarse", deserialize_with = "coarse")]
    pub connect: Latency,
    /// From the stream's request going out to its first event (comments are not events).
    #[serde(default = "Latency::coarse", deserialize_with = "coarse")]
    pub first_event: Latency,
    /// Messages from a partner: the sender's send instant to the arrival on this stream.
    #[serde(default)]
    pub e2e: Latency,
    /// WebSocket messages this stream sent with a correlation id: the send to its echo's
    /// arrival on the same stream.
    #[serde(default)]
    pub rtt: Latency,
    /// Streams opened (a response head with a success status).
    #[serde(default)]
    pub opened: u64,
    /// Attempts that got no stream: no connection, a failure status, a broken head.
    #[serde(default)]
    pub failed_opens: u64,
    /// Events received (comments such as heartbeats excluded); a WebSocket's messages.
    #[serde(default)]
    pub events: u64,
    /// WebSocket messages sent on the stream.
    #[serde(default)]
    pub sent: u64,
    /// Messages a partner sent while this stream's user held it: each ends as seen in time
    /// (`e2e`), `lost`, or not judged because the step ended first.
    #[serde(default)]
    pub expected: u64,
    /// Messages sent to this stream's user and not seen within `expect-within`; for a
    /// WebSocket, also its own messages whose echo did not come back within it.
    #[serde(default)]
    pub lost: u64,
    /// Streams the server (or the network) ended while they were meant to be held.
    #[serde(default)]
    pub disconnects: u64,
    /// Streams opened again after the previous one ended, by hold or by disconnect.
    #[serde(default)]
    pub reconnects: u64,
}

impl Default for StreamStats {
    fn default() -> Self {
        StreamStats {
            connect: Latency::coarse(),
            first_event: Latency::coarse(),
            e2e: Latency::new(),
            rtt: Latency::new(),
            opened: 0,
            failed_opens: 0,
            events: 0,
            sent: 0,
            expected: 0,
            lost: 0,
            disconnects: 0,
            reconnects: 0,
        }
    }
}

impl StreamStats {
    pub fn add(&mut self, other: &StreamStats) {
        self.connect.add(&other.connect);
        self.first_event.add(&other.first_event);
        self.e2e.add(&other.e2e);
        self.rtt.add(&other.rtt);
        self.opened += other.opened;
        self.failed_opens += other.failed_opens;
        self.events += other.events;
        self.sent += other.sent;
        self.expected += other.expected;
        self.lost += other.lost;
        self.disconnects += other.disconnects;
        self.reconnects += other.reconnects;
    }

    /// Whether the stream did anything in the span: opened, tried, received, was sent to,
    /// broke. A stream opened in a warm-up and held through the step is active in the step.
    pub fn active(&self) -> bool {
        self.opened + self.failed_opens + self.events + self.sent + self.expected + self.lost > 0
            || self.disconnects + self.reconnects > 0
    }

    /// Messages whose fate is known: delivered in time (or echoed), or lost.
    pub fn judged(&self) -> u64 {
        self.e2e.count() + self.rtt.count() + self.lost
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_add_up_and_read_back_as_written() {
        let mut a = StreamStats::default();
        a.e2e.record_us(50_000);
        a.lost = 2;
        a.events = 3;
        let mut b = StreamStats::default();
        b.e2e.record_us(52_000);
        b.connect.record_us(300);
        b.disconnects = 1;
        b.add(&a);
        assert_eq!(
            (b.e2e.count(), b.lost, b.events, b.disconnects),
            (2, 2, 3, 1)
        );
        assert_eq!(b.judged(), 4);
        let json = serde_json::to_string(&b).unwrap();
        let back: StreamStats = serde_json::from_str(&json).unwrap();
        assert_eq!(serde_json::to_string(&back).unwrap(), json);
        assert_eq!(back.connect.digits(), b.connect.digits());
    }
}
