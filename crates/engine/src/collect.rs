//! The collector: merges the shards' snapshots into one interval and announces each step's end.
//!
//! Merging is addition (counters add, histograms `add`), so the merged percentiles are exactly
//! those of all requests together, never an average of per-thread percentiles. A step's own
//! figures are not kept here: they are the sum of its measured intervals, which every listener
//! already receives.
//!
//! Memory is bounded by what is in flight, not by the plan: a step's state exists from its
//! first message to its end, an interval's only until every shard has sent it, and a slot's
//! bounds travel with the shards' messages instead of being precomputed.
//!
//! Statistics go back where they came from: a shard's part, once added into another or emitted
//! and read, is cleared and returned to its shard ([`give_back`]), which fills it again in a
//! later interval. Interval histograms are then allocated once per shard, not once per interval.
//!
//! An interval can have two parts. With warm-up by count, a shard's first requests of a step
//! go to a warm-up part; the collector emits the warm-up part of a slot as a snapshot marked
//! `warmup` and the measured part as another, so every listener leaves the warm-up out exactly
//! as it leaves out a warm-up by time.

use std::collections::BTreeMap;
use std::sync::mpsc::Sender;
use std::time::Duration;

use stampede_metrics::{IntervalSnapshot, StatsSet, StepEnd, StepInfo};
use stampede_plan::Plan;

use crate::timeline::Slot;

/// What one shard measured in one slot.
#[derive(Debug)]
pub(crate) struct Part {
    pub(crate) bounds: Slot,
    pub(crate) active_users: u32,
    /// Requests left out as warm-up, and everything else of a shard still warming up.
    pub(crate) warmup: Option<StatsSet>,
    /// The measured part: `None` while the shard is still warming up.
    pub(crate) measured: Option<StatsSet>,
    /// Where the shard takes statistics back.
    pub(crate) home: Home,
}

/// The way back to the shard a set of statistics came from.
pub(crate) type Home = Sender<StatsSet>;

/// Statistics and the shard they go back to.
pub(crate) struct Homed {
    pub(crate) stats: StatsSet,
    pub(crate) home: Home,
}

/// Clears `stats` and hands it back to its shard (a shard that has ended just drops it).
pub(crate) fn give_back(home: &Home, mut stats: StatsSet) {
    stats.clear();
    let _ = home.send(stats);
}

/// One slot being merged.
struct Pending {
    shards: usize,
    bounds: Slot,
    active_users: u32,
    warmup: Option<Homed>,
    measured: Option<Homed>,
}

/// One step being collected.
struct StepState {
    offset: Duration,
    /// Slot index -> the merge so far.
    pending: BTreeMap<usize, Pending>,
    done: usize,
    ended: Duration,
    cut_short: bool,
}

pub(crate) struct Collector<'a> {
    plan: &'a Plan,
    shards: usize,
    steps: BTreeMap<usize, StepState>,
    /// A walk over step offsets: steps arrive in order, so finding the next one's is O(1).
    cursor: (usize, Duration),
    seq: u64,
    pub(crate) setup: StatsSet,
}

/// What the collector has ready to emit.
pub(crate) enum Ready {
    /// A merged interval, and the shard its statistics go back to once read.
    Interval(IntervalSnapshot, Home),
    /// A step every shard has finished; its peak users are filled in by the caller.
    StepEnded(StepEnd),
}

impl<'a> Collector<'a> {
    pub(crate) fn new(plan: &'a Plan, shards: usize) -> Collector<'a> {
        Collector {
            plan,
            shards,
            steps: BTreeMap::new(),
            cursor: (0, Duration::ZERO),
            seq: 0,
            setup: StatsSet::new(plan.requests.len()),
        }
    }

    /// When step `index` starts, from the start of the run (saturating).
    pub(crate) fn offset(&mut self, index: usize) -> Duration {
        if index < self.cursor.0 {
            self.cursor = (0, Duration::ZERO);
        }
        while self.cursor.0 < index {
            let span = self
                .plan
                .steps
                .get(self.cursor.0)
                .map_or(Duration::ZERO, |s| s.span());
            self.cursor = (self.cursor.0 + 1, self.cursor.1.saturating_add(span));
        }
        self.cursor.1
    }

    /// Step `index` as planned; `None` past the last step.
    pub(crate) fn info(&mut self, index: usize) -> Option<StepInfo> {
        let offset = self.offset(index);
        let step = self.plan.steps.get(index)?;
        Some(StepInfo {
            index,
            label: step.label.clone(),
            users: step.load.max_users(),
            rate: step.load.rate_per_s(),
            offset,
            ramp: step.ramp,
            warmup: step.warmup,
            hold: step.hold,
            cooldown: step.cooldown,
        })
    }

    fn state(&mut self, step: usize) -> &mut StepState {
        // Only a new step needs its offset; the walk is not advanced for known ones.
        let offset = if self.steps.contains_key(&step) {
            Duration::ZERO
        } else {
            self.offset(step)
        };
        self.steps.entry(step).or_insert_with(|| StepState {
            offset,
            pending: BTreeMap::new(),
            done: 0,
            ended: Duration::ZERO,
            cut_short: false,
        })
    }

    /// Adds one shard's interval; emits the merged interval once every shard has sent it.
    pub(crate) fn interval(&mut self, step: usize, slot: usize, part: Part, out: &mut Vec<Ready>) {
        let state = self.state(step);
        let entry = state.pending.entry(slot).or_insert_with(|| Pending {
            shards: 0,
            bounds: part.bounds,
            active_users: 0,
            warmup: None,
            measured: None,
        });
        entry.shards += 1;
        entry.active_users += part.active_users;
        merge(&mut entry.warmup, part.warmup, &part.home);
        merge(&mut entry.measured, part.measured, &part.home);
        self.flush(step, false, out);
    }

    /// One shard finished the step; emits the step once every shard has.
    pub(crate) fn step_done(
        &mut self,
        step: usize,
        ended: Duration,
        cut_short: bool,
        out: &mut Vec<Ready>,
    ) {
        let shards = self.shards;
        let state = self.state(step);
        state.done += 1;
        state.ended = state.ended.max(ended);
        state.cut_short |= cut_short;
        if state.done < shards {
            return;
        }
        self.flush(step, true, out);
        let Some(state) = self.steps.remove(&step) else {
            return;
        };
        let (warmup, hold) = self
            .plan
            .steps
            .get(step)
            .map_or((Duration::ZERO, Duration::ZERO), |s| (s.warmup, s.hold));
        let measured_from = warmup.min(hold);
        // Requests drained after the hold still count, but the window they are spread over is
        // the hold (or less, when users finished early or the run was stopped).
        let ended = state.ended.min(hold);
        out.push(Ready::StepEnded(StepEnd {
            index: step,
            measured: ended.saturating_sub(measured_from),
            peak_users: 0,
            stream_peaks: Vec::new(),
            cut_short: state.cut_short,
        }));
    }

    /// Emits, in order, every slot all shards have reported (or, at the end of the step, every
    /// slot any shard reported: a shard that stopped early has nothing more to send).
    fn flush(&mut self, step: usize, final_: bool, out: &mut Vec<Ready>) {
        let shards = self.shards;
        let Some(state) = self.steps.get_mut(&step) else {
            return;
        };
        while let Some(entry) = state.pending.first_entry() {
            if entry.get().shards < shards && !final_ {
                break;
            }
            let slot = entry.remove();
            let bounds = slot.bounds;
            let mut parts = Vec::with_capacity(2);
            if bounds.warmup {
                // A warm-up by time: the whole slot is warm-up, however the shards split it.
                let mut all = slot.warmup;
                if let Some(measured) = slot.measured {
                    merge(&mut all, Some(measured.stats), &measured.home);
                }
                parts.extend(all.map(|homed| (true, homed)));
            } else {
                parts.extend(slot.warmup.map(|homed| (true, homed)));
                parts.extend(slot.measured.map(|homed| (false, homed)));
            }
            for (warmup, Homed { stats, home }) in parts {
                out.push(Ready::Interval(
                    IntervalSnapshot {
                        step,
                        seq: self.seq,
                        start: state.offset.saturating_add(bounds.start),
                        length: bounds.end.saturating_sub(bounds.start),
                        warmup,
                        active_users: slot.active_users,
                        stats,
                        monitor: Vec::new(),
                        streams_open: Vec::new(),
                    },
                    home,
                ));
                self.seq += 1;
            }
        }
    }
}

/// Adds `part` into `into`, either being absent; a part added is given back to `home`.
fn merge(into: &mut Option<Homed>, part: Option<StatsSet>, home: &Home) {
    match (into.as_mut(), part) {
        (Some(total), Some(part)) => {
            total.stats.add(&part);
            give_back(home, part);
        }
        (None, Some(stats)) => {
            *into = Some(Homed {
                stats,
                home: home.clone(),
            });
        }
        (_, None) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stampede_plan::{Load, Step};

    fn plan(steps: usize, hold: Duration) -> Plan {
        let step = Step {
            label: "s".into(),
            load: Load::Closed { users: 1 },
            ramp: Duration::ZERO,
            ramp_from: 0,
            ramp_down: Duration::ZERO,
            warmup: Duration::ZERO,
            hold,
            cooldown: Duration::from_secs(1),
            think: None,
            iterations_per_user: None,
        };
        Plan {
            steps: vec![step; steps],
            interval: Duration::from_millis(1),
            ..Plan::default()
        }
    }

    #[test]
    fn a_huge_sweep_costs_nothing_until_its_steps_run() {
        // 10,000 steps of a year each at a 1 ms interval: eagerly 316 trillion slots before
        // the first step. The collector now holds state only for steps under way.
        let plan = plan(10_000, Duration::from_secs(366 * 24 * 3600));
        let mut collector = Collector::new(&plan, 2);
        assert!(collector.steps.is_empty());
        let info = collector.info(9_999).expect("the last step");
        assert_eq!(info.offset.as_secs(), 9_999 * (366 * 24 * 3600 + 1));
        assert!(collector.info(10_000).is_none());
        // Earlier steps after a later one: the walk restarts rather than going wrong.
        assert_eq!(collector.offset(1).as_secs(), 366 * 24 * 3600 + 1);
    }

    #[test]
    fn warm_up_and_measured_parts_become_two_snapshots() {
        let plan = plan(1, Duration::from_secs(3));
        let mut collector = Collector::new(&plan, 2);
        let bounds = Slot {
            start: Duration::from_secs(1),
            end: Duration::from_secs(2),
            warmup: false,
        };
        let stats = |scheduled| {
            let mut s = StatsSet::new(0);
            s.scheduled = scheduled;
            s
        };
        let mut out = Vec::new();
        let (home, back) = std::sync::mpsc::channel();
        let warming = Part {
            bounds,
            active_users: 1,
            warmup: Some(stats(1)),
            measured: None,
            home: home.clone(),
        };
        collector.interval(0, 1, warming, &mut out);
        assert!(out.is_empty(), "waits for the other shard");
        let past = Part {
            bounds,
            active_users: 2,
            warmup: Some(stats(10)),
            measured: Some(stats(100)),
            home,
        };
        collector.interval(0, 1, past, &mut out);
        let snapshots: Vec<(bool, u64, u32)> = out
            .iter()
            .map(|r| match r {
                Ready::Interval(s, _) => (s.warmup, s.stats.scheduled, s.active_users),
                Ready::StepEnded(_) => panic!("not yet"),
            })
            .collect();
        assert_eq!(snapshots, [(true, 11, 3), (false, 100, 3)]);
        let added: Vec<StatsSet> = back.try_iter().collect();
        assert_eq!(
            added.len(),
            1,
            "the part added into another goes back at once"
        );
        assert_eq!(added[0].scheduled, 0, "cleared");
        for ready in out.drain(..) {
            if let Ready::Interval(snapshot, home) = ready {
                give_back(&home, snapshot.stats);
            }
        }
        assert_eq!(back.try_iter().count(), 2, "and the emitted ones once read");
        collector.step_done(0, Duration::from_secs(3), false, &mut out);
        collector.step_done(0, Duration::from_secs(3), false, &mut out);
        assert!(matches!(out.last(), Some(Ready::StepEnded(_))));
        assert!(
            collector.steps.is_empty(),
            "a finished step leaves nothing behind"
        );
    }
}
