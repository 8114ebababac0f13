//! The target's resources as the monitor saw them, per watched process, as summary.json stores
//! them (`crate::live::monitor` keeps the running sums).

use serde::{Deserialize, Serialize};

/// What summary.json says of the target's resources.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MonitorSummary {
    /// What was watched: "the demo target", "PID 4242", a metrics URL.
    pub name: String,
    pub samples: u64,
    /// Samples the monitor could not read (a refused scrape, a vanished process); all of them
    /// when the monitor was unavailable from the start.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub failed_samples: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_cpu_percent: Option<f64>,
    /// The mean of the CPU readings (failed samples left out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean_cpu_percent: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_rss_mb: Option<f64>,
    /// The mean of the resident memory readings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean_rss_mb: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_rss_mb: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_rss_mb: Option<f64>,
    /// Least-squares slope of resident memory over the run, in MB per hour: a leak shows here.
    /// Absent unless at least `MIN_SLOPE_SAMPLES` readings span `MIN_SLOPE_SPAN_S`: a few
    /// seconds extrapolated to an hour is noise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rss_slope_mb_per_hour: Option<f64>,
}

/// Readings of resident memory needed for a slope per hour.
pub const MIN_SLOPE_SAMPLES: u64 = 10;
/// The span, in seconds, those readings must cover.
pub const MIN_SLOPE_SPAN_S: f64 = 300.0;

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl MonitorSummary {
    /// No sample could be read at all: the monitor was unavailable, which is not a target at 0.
    pub fn unavailable(&self) -> bool {
        self.samples > 0 && self.failed_samples == self.samples
    }
}
