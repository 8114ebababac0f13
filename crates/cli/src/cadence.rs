//! How often a run without a display logs a line: every `--log-every`, or by default every
//! bucket of the scenario's series (a soak's `interval`, one engine interval for the other
//! kinds). A 4-hour soak logged every second would write 14,400 lines into a cron mail; at
//! `interval = "5m"` it writes 48, each covering its whole span.

use std::time::Duration;

/// When the next log line is due, on the run's clock (time since the run started), so the
/// cadence needs no clock of its own and is tested as a pure function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cadence {
    every: Duration,
    next_at: Duration,
}

impl Cadence {
    /// A line every `every` (at least once per engine interval: zero means every interval).
    pub fn new(every: Duration) -> Cadence {
        Cadence {
            every,
            next_at: every,
        }
    }

    /// Whether an interval that ended at `now` closes a span that is due a line. Lines stay on
    /// the grid of `every` from the start of the run, however the intervals fall on it.
    pub fn due(&mut self, now: Duration) -> bool {
        if now < self.next_at {
            return false;
        }
        if self.every.is_zero() {
            return true;
        }
        while self.next_at <= now {
            self.next_at += self.every;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn a_five_minute_cadence_logs_once_per_five_minutes_of_one_second_intervals() {
        let mut cadence = Cadence::new(secs(300));
        let due: Vec<u64> = (1..=3600).filter(|&s| cadence.due(secs(s))).collect();
        assert_eq!(due.len(), 12);
        assert_eq!(&due[..3], [300, 600, 900]);
    }

    #[test]
    fn intervals_off_the_grid_log_at_the_first_interval_past_each_mark() {
        let mut cadence = Cadence::new(secs(10));
        let ends = [4, 8, 12, 16, 20, 24, 28, 45, 50];
        let due: Vec<u64> = ends.into_iter().filter(|&s| cadence.due(secs(s))).collect();
        // 45 s covers the 30 s and 40 s marks at once: one line, not a burst of catch-ups.
        assert_eq!(due, [12, 20, 45, 50]);
    }

    #[test]
    fn zero_logs_every_interval() {
        let mut cadence = Cadence::new(Duration::ZERO);
        assert!((1..=5).all(|s| cadence.due(secs(s))));
    }
}
