//! What the engine tells its listeners while a run goes on.
//!
//! Events borrow their payload: a listener that wants to keep something copies it, so the engine
//! never clones a histogram for a listener that only prints a line.

use std::time::{Duration, SystemTime};

use crate::StatsSet;

/// Things that happen during a run, in order: one `RunStarted`, then per step a `StepStarted`,
/// its `Interval`s and a `StepEnded`, then one `RunEnded`.
#[derive(Debug)]
pub enum Event<'a> {
    RunStarted(&'a RunStart),
    StepStarted(&'a StepInfo),
    Interval(&'a IntervalSnapshot),
    StepEnded(&'a StepEnd),
    RunEnded(&'a RunEnd),
}

#[derive(Clone, Debug)]
pub struct RunStart {
    pub started_at: SystemTime,
    /// The run's planned length, every step and cooldown included.
    pub planned: Duration,
    /// Worker threads generating load.
    pub threads: usize,
    /// The address the run sends to, resolved (`builtin` becomes the embedded target's address).
    pub base_url: String,
}

/// A step as planned.
#[derive(Clone, Debug)]
pub struct StepInfo {
    pub index: usize,
    pub label: String,
    /// Virtual users (closed model) or the pool cap (open model).
    pub users: u32,
    /// Open model: iterations started per second.
    pub rate: Option<f64>,
    /// When the step starts, from the start of the run.
    pub offset: Duration,
    pub ramp: Duration,
    pub warmup: Duration,
    pub hold: Duration,
    /// Idle time after the step, no traffic.
    pub cooldown: Duration,
}

/// Everything measured in one interval of one step, merged over all worker threads.
#[derive(Clone, Debug)]
pub struct IntervalSnapshot {
    pub step: usize,
    /// Sequence number over the whole run, from 0.
    pub seq: u64,
    /// Start of the interval, from the start of the run.
    pub start: Duration,
    pub length: Duration,
    /// True while the step is warming up: shown in the time series, left out of the step.
    pub warmup: bool,
    /// Users busy or thinking at the end of the interval.
    pub active_users: u32,
    pub stats: StatsSet,
}

/// A finished step, its measured (post-warm-up) statistics merged over all intervals.
#[derive(Clone, Debug)]
pub struct StepEnd {
    pub index: usize,
    /// Time measured, warm-up excluded.
    pub measured: Duration,
    pub peak_users: u32,
    pub target_rate: Option<f64>,
    pub stats: StatsSet,
    /// The step ended before its planned hold (interrupted, or a limit stopped it).
    pub cut_short: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunOutcome {
    /// Every step ran to its end (thresholds are judged later, by the reporter).
    Completed,
    /// Ctrl-C or SIGTERM: the steps done so far are intact.
    Interrupted,
    /// A limit stopped the run early.
    Aborted { reason: String },
}

#[derive(Clone, Debug)]
pub struct RunEnd {
    pub finished_at: SystemTime,
    pub elapsed: Duration,
    pub outcome: RunOutcome,
    /// Per-user setup requests (a login), measured apart from the steps.
    pub setup: StatsSet,
}
