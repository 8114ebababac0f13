//! The target's resources as the monitor saw them, per watched process, as summary.json stores
//! them (`crate::live::monitor` keeps the running sums).

use serde::{Deserialize, Serialize};

/// What summary.json says of the target's resources.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MonitorSummary {
    /// What was watched: "the demo target", "PID 4242", a metrics URL.
    pub name: String,
    pub samples: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_cpu_percent: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_rss_mb: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_rss_mb: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_rss_mb: Option<f64>,
    /// Least-squares slope of resident memory over the run, in MB per hour: a leak shows here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rss_slope_mb_per_hour: Option<f64>,
}
