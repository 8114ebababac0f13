//! A stream's figures over a span, computed once from its [`StreamStats`]: what summary.json,
//! steps.csv, the text summary and `[thresholds.stream.NAME]` all read.

use serde::{Deserialize, Serialize};
use stampede_plan::Metric;

use crate::figures::PhaseMs;
use crate::format::round;
use crate::streams::StreamStats;

/// One stream over a span. Times are in milliseconds; a time that never happened (no event,
/// no paired message) is absent.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StreamFigures {
    /// The most of this stream open at once over every load thread: a step's comes from the
    /// engine's gauge (`StepEnd::stream_peaks`), a run's is its largest step's.
    #[serde(default)]
    pub peak_open: u32,
    pub opened: u64,
    pub failed_opens: u64,
    pub reconnects: u64,
    /// Streams the server or the network ended while they were held.
    pub disconnects: u64,
    pub events: u64,
    pub events_per_s: f64,
    /// WebSocket messages sent; absent from streams that send nothing (every SSE stream).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub sent: u64,
    /// Paired messages sent while the partner held its stream.
    pub expected: u64,
    /// Of those, seen within `expect-within`.
    pub delivered: u64,
    pub lost: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_ms: Option<PhaseMs>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_event_ms: Option<PhaseMs>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e2e_ms: Option<PhaseMs>,
    /// WebSocket messages' round trip, send to echo.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtt_ms: Option<PhaseMs>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl StreamFigures {
    pub fn of(stats: &StreamStats, seconds: f64) -> StreamFigures {
        let per_s = |n: u64| {
            if seconds > 0.0 {
                round(n as f64 / seconds, 3)
            } else {
                0.0
            }
        };
        StreamFigures {
            peak_open: 0,
            opened: stats.opened,
            failed_opens: stats.failed_opens,
            reconnects: stats.reconnects,
            disconnects: stats.disconnects,
            events: stats.events,
            events_per_s: per_s(stats.events),
            sent: stats.sent,
            expected: stats.expected,
            delivered: stats.e2e.count(),
            lost: stats.lost,
            connect_ms: PhaseMs::of(&stats.connect),
            first_event_ms: PhaseMs::of(&stats.first_event),
            e2e_ms: PhaseMs::of(&stats.e2e),
            rtt_ms: PhaseMs::of(&stats.rtt),
        }
    }

    /// The value a stream threshold judges; `None` for a metric that is not a stream's, for a
    /// span in which the stream did nothing at all (a stream opened during a warm-up and held
    /// through the step still counts: its events do), and for a time that never happened.
    pub fn value(&self, metric: Metric) -> Option<f64> {
        let activity = self.opened + self.failed_opens + self.events + self.sent + self.expected;
        if activity + self.disconnects + self.reconnects == 0 {
            return None;
        }
        match metric {
            Metric::E2eP50 => self.e2e_ms.map(|e| e.p50),
            Metric::E2eP95 => self.e2e_ms.map(|e| e.p95),
            Metric::E2eP99 => self.e2e_ms.map(|e| e.p99),
            Metric::ConnectP95 => self.connect_ms.map(|c| c.p95),
            Metric::FirstEventP95 => self.first_event_ms.map(|f| f.p95),
            Metric::Lost => Some(self.lost as f64),
            Metric::Disconnects => Some(self.disconnects as f64),
            Metric::RttP95 => self.rtt_ms.map(|r| r.p95),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_and_values_come_from_the_stats() {
        let mut stats = StreamStats::default();
        assert_eq!(StreamFigures::of(&stats, 1.0).value(Metric::Lost), None);
        stats.opened = 2;
        stats.events = 10;
        stats.expected = 5;
        stats.lost = 1;
        for ms in [50, 51, 52, 60] {
            stats.e2e.record_us(ms * 1000);
        }
        stats.connect.record_us(400);
        let f = StreamFigures::of(&stats, 4.0);
        assert_eq!((f.delivered, f.events_per_s), (4, 2.5));
        assert_eq!(f.value(Metric::Lost), Some(1.0));
        assert_eq!(f.value(Metric::Disconnects), Some(0.0));
        // HDR reads back a bucket's top: within 0.1 % at three digits.
        assert!(
            f.value(Metric::E2eP50)
                .is_some_and(|v| (51.0..=51.06).contains(&v))
        );
        assert!(
            f.value(Metric::ConnectP95)
                .is_some_and(|v| (0.39..=0.41).contains(&v))
        );
        assert_eq!(f.value(Metric::FirstEventP95), None);
        assert_eq!(f.value(Metric::RttP95), None);
        stats.rtt.record_us(2_000);
        stats.sent = 1;
        let f = StreamFigures::of(&stats, 4.0);
        assert_eq!(f.sent, 1);
        assert!(
            f.value(Metric::RttP95)
                .is_some_and(|v| (1.99..=2.01).contains(&v))
        );
        assert_eq!(f.value(Metric::P95), None);
    }
}
