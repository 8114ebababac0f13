//! Consecutive engine intervals merged into one row of a time series.
//!
//! A window never spans two steps, nor warm-up and measurement, so every row belongs to exactly
//! one phase and a reader can filter on it. Memory is one `StatsSet`, whatever the run's length,
//! and none when a window is a single interval: that interval is read where it is.

use std::time::Duration;

use stampede_metrics::{IntervalSnapshot, MonitorSample, StatsSet};

pub(crate) struct Window {
    /// Engine intervals per window.
    group: usize,
    count: usize,
    pub(crate) step: usize,
    pub(crate) warmup: bool,
    pub(crate) start: Duration,
    pub(crate) end: Duration,
    /// Users active at the end of the window.
    pub(crate) users: u32,
    /// Each stream's open count at the end of the window.
    pub(crate) streams_open: Vec<u32>,
    /// The sum of the window's intervals so far (unused when a window is one interval).
    stats: StatsSet,
    /// The latest sample of the first watched process taken in the window.
    pub(crate) monitor: Option<MonitorSample>,
    /// The latest sample of each watched process, by source, for one column pair each.
    pub(crate) samples: Vec<Option<MonitorSample>>,
}

impl Window {
    pub(crate) fn new(group: usize) -> Window {
        Window {
            group: group.max(1),
            count: 0,
            step: 0,
            warmup: false,
            start: Duration::ZERO,
            end: Duration::ZERO,
            users: 0,
            streams_open: Vec::new(),
            stats: StatsSet::default(),
            monitor: None,
            samples: Vec::new(),
        }
    }

    pub(crate) fn length(&self) -> Duration {
        self.end.saturating_sub(self.start)
    }

    /// Adds one interval (whose statistics are `stats`, the snapshot's own or a reduction of
    /// them), calling `emit` with each window it completes and the window's statistics.
    pub(crate) fn push(
        &mut self,
        snapshot: &IntervalSnapshot,
        stats: &StatsSet,
        mut emit: impl FnMut(&Window, &StatsSet),
    ) {
        if self.count > 0 && (self.step != snapshot.step || self.warmup != snapshot.warmup) {
            self.flush(&mut emit);
        }
        if self.count == 0 {
            self.step = snapshot.step;
            self.warmup = snapshot.warmup;
            self.start = snapshot.start;
        }
        self.end = snapshot.start + snapshot.length;
        self.users = snapshot.active_users;
        self.streams_open.clone_from(&snapshot.streams_open);
        if let Some(sample) = snapshot.monitor.iter().find(|s| s.source == 0) {
            self.monitor = Some(*sample);
        }
        for sample in &snapshot.monitor {
            let index = usize::from(sample.source);
            if self.samples.len() <= index {
                self.samples.resize(index + 1, None);
            }
            self.samples[index] = Some(*sample);
        }
        self.count += 1;
        if self.group == 1 {
            // A window of one interval is that interval: no copy of its histograms.
            emit(self, stats);
            self.reset();
            return;
        }
        self.stats.add(stats);
        if self.count >= self.group {
            self.flush(&mut emit);
        }
    }

    /// Emits what is left (the end of the run may leave a partial window).
    pub(crate) fn flush(&mut self, emit: &mut impl FnMut(&Window, &StatsSet)) {
        if self.count > 0 {
            let stats = std::mem::take(&mut self.stats);
            emit(self, &stats);
            self.stats = stats;
            self.stats.clear();
            self.reset();
        }
    }

    /// Bytes held by the window's histograms: what a series or a timeseries.csv row costs
    /// beyond its fixed fields.
    #[cfg(test)]
    pub(crate) fn footprint_bytes(&self) -> usize {
        self.stats
            .requests
            .iter()
            .map(|r| r.footprint_bytes())
            .sum()
    }

    fn reset(&mut self) {
        self.monitor = None;
        self.samples.iter_mut().for_each(|s| *s = None);
        self.count = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use stampede_metrics::Outcome;

    proptest! {
        // Every case allocates histograms for up to 40 intervals; fewer cases keep this quick.
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Whatever the grouping and the phases, windows lose no request, hold at most `group`
        /// intervals, and never mix two phases.
        #[test]
        fn windows_keep_every_request_and_one_phase(
            group in 1usize..6,
            intervals in prop::collection::vec((0usize..3, any::<bool>(), 0u64..20), 0..40),
        ) {
            let mut window = Window::new(group);
            let mut seen = 0;
            let mut check = |w: &Window, stats: &StatsSet| {
                let length = w.length().as_secs() as usize;
                assert!(length >= 1 && length <= group, "{length} intervals in a window of {group}");
                seen += stats.aggregate().requests();
            };
            for (seq, &(step, warmup, n)) in intervals.iter().enumerate() {
                let mut stats = StatsSet::new(1);
                for _ in 0..n {
                    stats.requests[0].outcomes.bump(Outcome::Status2xx);
                }
                let snap = IntervalSnapshot {
                    step,
                    warmup,
                    ..crate::testdata::second(seq as u64, stats)
                };
                // A window's intervals are contiguous, so its length counts them; the phase check
                // is that a change of phase always closed the window before.
                window.push(&snap, &snap.stats, &mut check);
                prop_assert_eq!((window.step, window.warmup), (step, warmup));
            }
            window.flush(&mut check);
            prop_assert_eq!(seen, intervals.iter().map(|i| i.2).sum::<u64>());
        }
    }

    fn snapshot(step: usize, seq: u64, warmup: bool) -> IntervalSnapshot {
        let mut stats = StatsSet::new(1);
        stats.requests[0].outcomes.bump(Outcome::Status2xx);
        IntervalSnapshot {
            step,
            warmup,
            active_users: 10 + seq as u32,
            ..crate::testdata::second(seq, stats)
        }
    }

    #[test]
    fn groups_within_a_phase_and_cuts_at_phase_changes() {
        let mut window = Window::new(2);
        let mut rows = Vec::new();
        let phases = [(0, true), (0, false), (0, false), (0, false), (1, false)];
        for (seq, (step, warmup)) in phases.into_iter().enumerate() {
            let snap = snapshot(step, seq as u64, warmup);
            window.push(&snap, &snap.stats, |w, stats| {
                rows.push((
                    w.step,
                    w.warmup,
                    w.start.as_secs(),
                    w.length().as_secs(),
                    w.users,
                ));
                assert_eq!(stats.aggregate().requests(), w.length().as_secs());
            });
        }
        window.flush(&mut |w, _| rows.push((w.step, w.warmup, w.start.as_secs(), 1, w.users)));
        assert_eq!(
            rows,
            [
                (0, true, 0, 1, 10),
                (0, false, 1, 2, 12),
                (0, false, 3, 1, 13),
                (1, false, 4, 1, 14)
            ]
        );
    }
}
