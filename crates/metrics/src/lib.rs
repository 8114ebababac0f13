//! Measurements: outcomes, counters and latency histograms, mergeable exactly.
//!
//! The engine fills these on the per-request path; the reporter reads them. Knows nothing of
//! sockets, tokio, files or TOML, so either side can change without the other noticing. Every
//! figure here merges by addition (counters add, histograms `add`), which is what lets interval
//! snapshots from many threads, and later from many machines, combine without averaging
//! percentiles.

mod event;
mod histogram;
mod monitor;
mod outcome;
mod stats;

pub use event::{Event, IntervalSnapshot, RunEnd, RunOutcome, RunStart, StepEnd, StepInfo};
pub use histogram::{LATENCY_MAX_US, Latency, LatencySummary, SIGNIFICANT_DIGITS};
pub use monitor::MonitorSample;
pub use outcome::{Outcome, OutcomeCounts};
pub use stats::{FailureKey, FailureTally, RequestStats, StatsSet};
