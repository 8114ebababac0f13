//! Where intervals fall inside a step: fixed boundaries every `interval` from the step's start,
//! plus one at the end of warm-up and one at the end of the hold, so that no interval straddles
//! warm-up and measurement. Every shard computes the same list, so their snapshots line up.

use std::time::Duration;

/// One interval of a step, as offsets from the step's start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Slot {
    pub(crate) start: Duration,
    pub(crate) end: Duration,
    pub(crate) warmup: bool,
}

pub(crate) fn slots(hold: Duration, warmup: Duration, interval: Duration) -> Vec<Slot> {
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

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn cuts_at_interval_warmup_and_hold() {
        let got = slots(S(2500), S(1200), S(1000));
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
        assert!(slots(Duration::ZERO, Duration::ZERO, S(1000)).is_empty());
    }
}
