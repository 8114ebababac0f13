//! What the engine tells its listeners while a run goes on, and what the run record stores.
//!
//! The events are the run: every file the reporter writes is derived from them alone, so a run
//! record (the events, appended as they happen) can be replayed into the same files later, and
//! records of several processes can be merged. Events borrow their payload: a listener that
//! wants to keep something copies it, so the engine never clones a histogram for a listener that
//! only prints a line. Every payload serialises (histograms as base64 HdrHistogram V2).

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::{MonitorSample, StatsSet};

/// Things that happen during a run, in order: one `RunStarted`, then per step a `StepStarted`,
/// its `Interval`s (and any `Alert`) and a `StepEnded`, then one `RunEnded`.
#[derive(Debug)]
pub enum Event<'a> {
    RunStarted(&'a RunStart),
    StepStarted(&'a StepInfo),
    Interval(&'a IntervalSnapshot),
    Alert(&'a Alert),
    StepEnded(&'a StepEnd),
    RunEnded(&'a RunEnd),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunStart {
    pub started_at: SystemTime,
    /// The run's planned length, every step and cooldown included.
    pub planned: Duration,
    /// Worker threads generating load.
    pub threads: usize,
    /// The address the run sends to, resolved (`builtin` becomes the embedded target's address).
    pub base_url: String,
    /// What the monitor watches, by name; a [`MonitorSample`] points into this list.
    pub monitors: Vec<String>,
}

/// A step as planned.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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

/// Everything measured in one interval of one step, merged over all worker threads, with what
/// the monitor saw of the target at its end.
#[derive(Clone, Debug, Serialize, Deserialize)]
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
    /// One sample per watched process, taken at the end of the interval.
    #[serde(default)]
    pub monitor: Vec<MonitorSample>,
    /// Per `[[stream]]`, how many were open over every load thread as the interval was
    /// collected; absent without streams, so records written before it read the same.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub streams_open: Vec<u32>,
}

/// Something a live limit found while the run went on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// From the start of the run.
    pub at: Duration,
    pub level: AlertLevel,
    /// One sentence, with the figure and the limit: "p95 was 812 ms over the last 30s, the
    /// limit is < 500 ms".
    pub message: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AlertLevel {
    /// A warning level was passed; the run goes on.
    Warning,
    /// A sweep found its limit (`stop-when`, a monitor's stop level): it ends after this step.
    StopSweep,
    /// A limit that must hold failed: the run stops as failed.
    Abort,
}

/// A finished step. Its figures are those of its measured (post-warm-up) intervals.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepEnd {
    pub index: usize,
    /// Time measured, warm-up excluded.
    pub measured: Duration,
    /// The most users active at once during the step.
    pub peak_users: u32,
    /// The step ended before its planned hold (interrupted, or a limit stopped it).
    pub cut_short: bool,
    /// Per stream of the plan, the most of it open at once during the step, over every load
    /// thread. Absent from records of plans without streams.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stream_peaks: Vec<u32>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunEnding {
    /// Every step ran to its end (thresholds are judged later, by the reporter).
    Completed,
    /// A sweep found its limit (`stop-when`, a monitor's stop level) and ended early; the steps
    /// so far are the result.
    StoppedEarly { reason: String },
    /// Ctrl-C or SIGTERM: the steps done so far are intact.
    Interrupted,
    /// A limit that must hold failed and stopped the run.
    Aborted { reason: String },
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunEnd {
    pub finished_at: SystemTime,
    pub elapsed: Duration,
    pub outcome: RunEnding,
    /// Per-user setup requests (a login), measured apart from the steps.
    pub setup: StatsSet,
}
