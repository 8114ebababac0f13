//! The collector: merges the shards' snapshots into one interval and announces each step's end.
//!
//! Merging is addition (counters add, histograms `add`), so the merged percentiles are exactly
//! those of all requests together, never an average of per-thread percentiles. A step's own
//! figures are not kept here: they are the sum of its measured intervals, which every listener
//! already receives.

use std::collections::BTreeMap;
use std::time::Duration;

use stampede_metrics::{IntervalSnapshot, StatsSet, StepEnd, StepInfo};
use stampede_plan::Plan;

use crate::timeline::{Slot, slots};

/// One step being collected.
struct StepState {
    slots: Vec<Slot>,
    /// Slot index -> (shards reported, merged statistics, active users).
    pending: BTreeMap<usize, (usize, StatsSet, u32)>,
    done: usize,
    ended: Duration,
    cut_short: bool,
}

pub(crate) struct Collector {
    shards: usize,
    requests: usize,
    steps: Vec<StepState>,
    pub(crate) infos: Vec<StepInfo>,
    seq: u64,
    pub(crate) setup: StatsSet,
}

/// What the collector has ready to emit.
pub(crate) enum Ready {
    Interval(IntervalSnapshot),
    /// A step every shard has finished; its peak users are filled in by the caller.
    StepEnded(StepEnd),
}

impl Collector {
    pub(crate) fn new(plan: &Plan, shards: usize) -> Collector {
        let offsets = plan.step_offsets();
        let infos = plan
            .steps
            .iter()
            .enumerate()
            .map(|(index, step)| StepInfo {
                index,
                label: step.label.clone(),
                users: step.load.max_users(),
                rate: step.load.rate_per_s(),
                offset: offsets[index],
                ramp: step.ramp,
                warmup: step.warmup,
                hold: step.hold,
                cooldown: step.cooldown,
            })
            .collect();
        let steps = plan
            .steps
            .iter()
            .map(|step| StepState {
                slots: slots(step.hold, step.warmup, plan.interval),
                pending: BTreeMap::new(),
                done: 0,
                ended: Duration::ZERO,
                cut_short: false,
            })
            .collect();
        Collector {
            shards,
            requests: plan.requests.len(),
            steps,
            infos,
            seq: 0,
            setup: StatsSet::new(plan.requests.len()),
        }
    }

    /// Adds one shard's interval; returns the merged interval once every shard has sent it.
    pub(crate) fn interval(
        &mut self,
        step: usize,
        slot: usize,
        active_users: u32,
        stats: StatsSet,
        out: &mut Vec<Ready>,
    ) {
        let requests = self.requests;
        let entry = self.steps[step]
            .pending
            .entry(slot)
            .or_insert_with(|| (0, StatsSet::new(requests), 0));
        entry.0 += 1;
        entry.1.add(&stats);
        entry.2 += active_users;
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
        let state = &mut self.steps[step];
        state.done += 1;
        state.ended = state.ended.max(ended);
        state.cut_short |= cut_short;
        if state.done == self.shards {
            self.flush(step, true, out);
            let state = &self.steps[step];
            let info = &self.infos[step];
            let measured_from = info.warmup.min(info.hold);
            // Requests drained after the hold still count, but the window they are spread
            // over is the hold (or less, when users finished early or the run was stopped).
            let ended = state.ended.min(info.hold);
            out.push(Ready::StepEnded(StepEnd {
                index: step,
                measured: ended.saturating_sub(measured_from),
                peak_users: 0,
                cut_short: state.cut_short,
            }));
        }
    }

    /// Emits, in order, every slot all shards have reported (or, at the end of the step, every
    /// slot any shard reported: a shard that stopped early has nothing more to send).
    fn flush(&mut self, step: usize, final_: bool, out: &mut Vec<Ready>) {
        let shards = self.shards;
        let offset = self.infos[step].offset;
        let state = &mut self.steps[step];
        while let Some(entry) = state.pending.first_entry() {
            if entry.get().0 < shards && !final_ {
                break;
            }
            let slot = *entry.key();
            let (_, stats, active_users) = entry.remove();
            let bounds = state.slots.get(slot).copied().unwrap_or(Slot {
                start: Duration::ZERO,
                end: Duration::ZERO,
                warmup: false,
            });
            out.push(Ready::Interval(IntervalSnapshot {
                step,
                seq: self.seq,
                start: offset + bounds.start,
                length: bounds.end - bounds.start,
                warmup: bounds.warmup,
                active_users,
                stats,
                monitor: Vec::new(),
            }));
            self.seq += 1;
        }
    }
}
