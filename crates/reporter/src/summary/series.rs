//! The run over time for charts and trend analysis, as summary.json stores it: aggregate
//! figures per point, the number of points bounded (`crate::live::series` builds it).

use serde::{Deserialize, Serialize};

/// At most about this many points per run.
pub const MAX_POINTS: usize = 1500;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Series {
    /// The length of a point, in seconds (the last point of a phase may be shorter).
    pub point_s: f64,
    pub points: Vec<SeriesPoint>,
    /// With several monitors: per point (parallel to `points`), each monitor's reading in
    /// `summary.monitors` order. One monitor's readings are the points' own `cpu_percent` and
    /// `rss_mb`, and then this is empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub monitors: Vec<Vec<MonitorPoint>>,
    /// With `[[stream]]`s: per point (parallel to `points`), each stream's figures in plan
    /// order; empty without streams.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub streams: Vec<Vec<StreamPoint>>,
}

/// One stream over a point, from its `StreamFigures`: open at the point's end, events per
/// second, the end-to-end and round-trip p95 in ms (absent when none happened), and lost.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StreamPoint {
    pub open: u32,
    pub events_per_s: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e2e_p95: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtt_p95: Option<f64>,
    pub lost: u64,
}

/// One monitor's reading at the end of a point; `None` where it could not read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MonitorPoint {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_percent: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rss_mb: Option<f64>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SeriesPoint {
    /// Start of the point, seconds from the start of the run.
    pub offset_s: f64,
    pub length_s: f64,
    /// Step index, from 0.
    pub step: usize,
    pub warmup: bool,
    pub users: u32,
    pub requests: u64,
    pub failed: u64,
    pub rps: f64,
    #[serde(default)]
    pub failed_rps: f64,
    pub error_rate: f64,
    /// The headline latency percentiles in ms (from the scheduled send in open-model steps).
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    /// The first watched process at the point's end, when a monitor read it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_percent: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rss_mb: Option<f64>,
}
