//! Wall-clock times as the result files write them: RFC 3339 in UTC, and sortable run ids.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A run id from its start time: UTC, second precision, sortable as text (`20261123T101500Z`).
pub fn new_run_id(now: SystemTime) -> String {
    rfc3339(now).replace(['-', ':'], "")
}

/// `2026-11-23T10:15:00Z`. Times before 1970 (a broken clock) are written as the epoch rather
/// than panicking inside the formatter.
pub(crate) fn rfc3339(time: SystemTime) -> String {
    humantime::format_rfc3339_seconds(time.max(UNIX_EPOCH)).to_string()
}

/// Seconds since the Unix epoch, fractional.
pub(crate) fn unix_seconds(time: SystemTime) -> f64 {
    time.duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs_f64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_are_compact_utc_and_sortable() {
        let t = UNIX_EPOCH + Duration::from_secs(1_795_428_900);
        assert_eq!(rfc3339(t), "2026-11-23T10:15:00Z");
        assert_eq!(new_run_id(t), "20261123T101500Z");
        assert!(new_run_id(t) < new_run_id(t + Duration::from_secs(1)));
        assert_eq!(humantime::parse_rfc3339("2026-11-23T10:15:00Z").unwrap(), t);
    }

    #[test]
    fn a_clock_before_1970_does_not_panic() {
        let t = UNIX_EPOCH - Duration::from_secs(10);
        assert_eq!(rfc3339(t), "1970-01-01T00:00:00Z");
        assert_eq!(unix_seconds(t), 0.0);
    }
}
