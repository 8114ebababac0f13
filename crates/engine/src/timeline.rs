//! Where intervals fall inside a step: fixed boundaries every `interval` from the step's start,
//! plus one at the end of warm-up and one at the end of the hold, so that no interval straddles
//! warm-up and measurement. Every shard walks the same sequence, so their snapshots line up.
//!
//! The sequence is generated lazily, one slot at a time in constant memory: a year-long soak
//! or a sweep of ten thousand steps starts at once, whatever its interval, and nothing here
//! grows with the planned length, the number of steps or the number of intervals.

use std::time::Duration;

/// One interval of a step, as offsets from the step's start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Slot {
    pub(crate) start: Duration,
    pub(crate) end: Duration,
    pub(crate) warmup: bool,
}

/// The slots of one step, in order; the last ends at the hold.
#[derive(Clone, Debug)]
pub(crate) struct Slots {
    hold: Duration,
    warmup: Duration,
    interval: Duration,
    next_start: Duration,
}

/// The slots of a step of `hold` whose first `warmup` is left out, cut every `interval`.
pub(crate) fn slots(hold: Duration, warmup: Duration, interval: Duration) -> Slots {
    Slots {
        hold,
        warmup: warmup.min(hold),
        interval: interval.max(Duration::from_millis(1)),
        next_start: Duration::ZERO,
    }
}

impl Iterator for Slots {
    type Item = Slot;

    fn next(&mut self) -> Option<Slot> {
        let start = self.next_start;
        if start >= self.hold {
            return None;
        }
        // The next multiple of the interval after `start`, in nanoseconds so nothing overflows;
        // it is clamped to the hold before it becomes a Duration again.
        let step = self.interval.as_nanos();
        let cut = (start.as_nanos() / step + 1).saturating_mul(step);
        let mut end = if cut >= self.hold.as_nanos() {
            self.hold
        } else {
            nanos(cut)
        };
        if self.warmup > start && self.warmup < end {
            end = self.warmup;
        }
        self.next_start = end;
        Some(Slot {
            start,
            end,
            warmup: end <= self.warmup,
        })
    }
}

/// A Duration of `n` nanoseconds; only called with values below a Duration's.
fn nanos(n: u128) -> Duration {
    const NANOS: u128 = 1_000_000_000;
    let secs = u64::try_from(n / NANOS).unwrap_or(u64::MAX);
    Duration::new(secs, (n % NANOS) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_millis;

    /// The slots as the engine computed them before they were generated lazily: every cut,
    /// sorted and deduplicated. Kept as the reference the lazy walk must equal.
    fn eager(hold: Duration, warmup: Duration, interval: Duration) -> Vec<Slot> {
        let interval = interval.max(Duration::from_millis(1));
        let warmup = warmup.min(hold);
        let mut cuts = Vec::new();
        let mut at = interval;
        while at < hold {
            cuts.push(at);
            at += interval;
        }
        if !warmup.is_zero() {
            cuts.push(warmup);
        }
        cuts.push(hold);
        cuts.sort();
        cuts.dedup();
        let mut start = Duration::ZERO;
        cuts.into_iter()
            .filter(|&end| end > Duration::ZERO)
            .map(|end| {
                let slot = Slot {
                    start,
                    end,
                    warmup: end <= warmup,
                };
                start = end;
                slot
            })
            .collect()
    }

    #[test]
    fn cuts_at_interval_warmup_and_hold() {
        let got: Vec<Slot> = slots(S(2500), S(1200), S(1000)).collect();
        let want = [
            (0, 1000, true),
            (1000, 1200, true),
            (1200, 2000, false),
            (2000, 2500, false),
        ];
        assert_eq!(got.len(), want.len());
        for (slot, (a, b, w)) in got.iter().zip(want) {
            assert_eq!((slot.start, slot.end, slot.warmup), (S(a), S(b), w));
        }
    }

    #[test]
    fn a_zero_hold_has_no_slot() {
        assert!(
            slots(Duration::ZERO, Duration::ZERO, S(1000))
                .next()
                .is_none()
        );
    }

    #[test]
    fn the_lazy_walk_equals_the_eager_list() {
        for hold in [0, 1, 999, 1000, 1001, 2500, 3000, 7777] {
            for warmup in [0, 1, 500, 1000, 1200, 2999, 9000] {
                for interval in [0, 1, 7, 250, 1000, 5000] {
                    let (h, w, i) = (S(hold), S(warmup), S(interval));
                    let lazy: Vec<Slot> = slots(h, w, i).collect();
                    assert_eq!(
                        lazy,
                        eager(h, w, i),
                        "hold {hold} warmup {warmup} every {i:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_year_at_one_millisecond_starts_at_once_in_constant_memory() {
        // Eagerly this was 31.6 billion slots (about 750 GB) before the first request. Lazily
        // the first slots come at once, and the walk holds four Durations whatever the length.
        let year = Duration::from_secs(366 * 24 * 3600);
        let mut walk = slots(year, Duration::ZERO, S(1));
        assert_eq!(size_of_val(&walk), 4 * size_of::<Duration>());
        let first: Vec<Slot> = walk.by_ref().take(3).collect();
        assert_eq!(first[2].start, S(2));
        assert_eq!(first[2].end, S(3));
        // Even a hold no run could reach neither panics nor loops.
        let mut huge = slots(Duration::MAX, Duration::MAX, Duration::MAX);
        let only = huge.next().expect("one slot");
        assert_eq!((only.end, only.warmup), (Duration::MAX, true));
        assert!(huge.next().is_none());
    }
}
