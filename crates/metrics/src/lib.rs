//! The measurement vocabulary: outcomes, counters and latency histograms, mergeable exactly; the
//! figures computed from them ([`Figures`], the one place a number a user sees is computed); how
//! numbers are written ([`format`]); and the events of a run.
//!
//! The engine fills these on the per-request path; the reporter reads them. Knows nothing of
//! sockets, tokio, files or TOML, so either side can change without the other noticing. Every
//! figure here merges by addition (counters add, histograms `add`), which is what lets interval
//! snapshots from many threads, and later from many machines, combine without averaging
//! percentiles.

mod arrivals;
pub mod encoding;
mod event;
mod figures;
pub mod format;
mod histogram;
mod monitor;
mod monitor_figures;
mod outcome;
mod phases;
pub mod sample;
mod spread;
mod stats;
mod stream_figures;
mod streams;
mod tally;

pub use arrivals::Arrivals;
pub use event::{
    Alert, AlertLevel, Event, IntervalSnapshot, RunEnd, RunEnding, RunStart, StepEnd, StepInfo,
};
pub use figures::{
    CheckFigures, Figures, LatencyFrom, LatencyMs, LoadFigures, PhaseMs, PhasesMs, headline,
    ms_of_us, quantile_ms,
};
pub use histogram::{LATENCY_MAX_US, Latency, PHASE_SIGNIFICANT_DIGITS, SIGNIFICANT_DIGITS};
pub use monitor::{MonitorSample, Probe};
pub use monitor_figures::{MIN_SLOPE_SAMPLES, MIN_SLOPE_SPAN_S, MonitorFigures, MonitorTally};
pub use outcome::{Outcome, OutcomeCounts};
pub use phases::Phases;
pub use spread::Spread;
pub use stats::{Connections, FailureKey, FailureTally, RequestStats, StatsSet};
pub use stream_figures::StreamFigures;
pub use streams::StreamStats;
pub use tally::{
    CHECK_VALUES_KEPT, CaptureMiss, CaptureMisses, CheckTally, FAILURE_SAMPLES_KEPT, FailureSample,
    FailureSamples,
};
