//! What a monitor saw of the target at one moment: its CPU use and resident memory.
//!
//! Plain data, filled by whoever samples the target (the CLI reads /proc or scrapes a metrics
//! endpoint); this crate neither samples nor judges limits.

use std::time::Duration;

/// One sample of the target process. A value the monitor could not read is `None`, never 0.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MonitorSample {
    /// When the sample was taken, from the start of the run.
    pub offset: Duration,
    /// CPU used since the previous sample, in percent of one core (150.0: one and a half cores).
    pub cpu_percent: Option<f64>,
    /// Resident memory, in bytes.
    pub rss_bytes: Option<u64>,
}
