//! The collector: merges the shards' snapshots into one interval, one step, one run.
//!
//! Merging is addition (counters add, histograms `add`), so the merged percentiles are exactly
//! those of all requests together, never an average of per-thread percentiles.

use std::collections::BTreeMap;
use std::time::Duration;

use stampede_metrics::{IntervalSnapshot, StatsSet, StepEnd, StepInfo};
use stampede_scenario::{Load, Plan};

use crate::timeline::{Slot, slots};

/// One step being collected.
struct StepState {
    slots: Vec<Slot>,
    /// Slot index -> (shards reported, merged snapshot).
    pending: BTreeMap<usize, (usize, StatsSet, u32)>,
    /// Slots already emitted.
    emitted: usize,
    total: StatsSet,
    done: usize,
    ended: Duration,
    peak_users: u32,
    cut_short: bool,
}

pub(crate) struct Collector {
    shards: usize,
    requests: usize,
    steps: Vec<StepState>,
    pub(crate) infos: Vec<StepInfo>,
    seq: u64,
    pub(crate) setup: StatsSet,
    offsets: Vec<Duration>,
}

/// What the collector has ready to emit.
pub(crate) enum Ready {
    Interval(IntervalSnapshot),
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
                rate: match step.load {
                    Load::Open { rate_per_s, .. } => Some(rate_per_s),
                    _ => None,
                },
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
                emitted: 0,
                total: StatsSet::new(plan.requests.len()),
                done: 0,
                ended: Duration::ZERO,
                peak_users: 0,
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
            offsets,
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
        let state = &mut self.steps[step];
        let entry = state
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
        peak_users: u32,
        cut_short: bool,
        out: &mut Vec<Ready>,
    ) {
        let state = &mut self.steps[step];
        state.done += 1;
        state.ended = state.ended.max(ended);
        state.peak_users += peak_users;
        state.cut_short |= cut_short;
        if state.done == self.shards {
            self.flush(step, true, out);
            let state = &mut self.steps[step];
            let info = &self.infos[step];
            let measured_from = info.warmup.min(info.hold);
            // Requests drained after the hold still count, but the window they are spread
            // over is the hold (or less, when users finished early or the run was stopped).
            let ended = state.ended.min(info.hold);
            out.push(Ready::StepEnded(StepEnd {
                index: step,
                measured: ended.saturating_sub(measured_from),
                peak_users: state.peak_users,
                target_rate: info.rate,
                stats: std::mem::take(&mut state.total),
                cut_short: state.cut_short,
            }));
        }
    }

    /// Emits, in order, every slot all shards have reported (or, at the end of the step, every
    /// slot any shard reported: a shard that stopped early has nothing more to send).
    fn flush(&mut self, step: usize, final_: bool, out: &mut Vec<Ready>) {
        let shards = self.shards;
        let offset = self.offsets[step];
        let state = &mut self.steps[step];
        while let Some((&slot, &(count, _, _))) = state.pending.iter().next() {
            if count < shards && !final_ {
                break;
            }
            let (_, stats, active_users) = state.pending.remove(&slot).expect("present");
            let bounds = state.slots.get(slot).copied().unwrap_or(Slot {
                start: Duration::ZERO,
                end: Duration::ZERO,
                warmup: false,
            });
            if !bounds.warmup {
                state.total.add(&stats);
            }
            state.emitted = slot + 1;
            out.push(Ready::Interval(IntervalSnapshot {
                step,
                seq: self.seq,
                start: offset + bounds.start,
                length: bounds.end - bounds.start,
                warmup: bounds.warmup,
                active_users,
                stats,
            }));
            self.seq += 1;
        }
    }
}
