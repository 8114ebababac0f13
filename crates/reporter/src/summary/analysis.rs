//! What a run means beyond its figures, as summary.json stores it: the knee of a capacity sweep,
//! the elbow of a throughput sweep, the drift of a soak, the recovery after a burst. Computed by
//! the judge (`crate::judge::analysis`); plain data here.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub knee: Option<Knee>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elbow: Option<Elbow>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift: Option<Drift>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst: Option<Burst>,
}

/// One step as a point on a load curve.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    /// Step index, from 0.
    pub step: usize,
    pub label: String,
    /// The load: users for a capacity sweep, the offered rate for a throughput sweep.
    pub load: f64,
    pub rps: f64,
    pub p95_ms: f64,
    pub error_rate: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Knee {
    pub found: bool,
    /// The knee step (index from 0) and its users.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users: Option<u32>,
    /// Why, in a sentence.
    pub why: String,
    pub ceiling_factor: f64,
    /// knee users x ceiling factor, rounded down.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ceiling_users: Option<u32>,
    pub p95_factor: f64,
    pub error_rate_limit: f64,
    pub min_growth: f64,
    /// The sweep: users against p95, error rate and throughput.
    pub points: Vec<CurvePoint>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Elbow {
    pub found: bool,
    /// The last step under the limit before p95 climbs past it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<usize>,
    /// The highest offered rate (per second) whose p95 and error rate stayed under the limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_under_limit: Option<f64>,
    pub limit_ms: f64,
    /// Where the limit comes from, in words.
    pub limit_source: String,
    pub error_rate_limit: f64,
    pub why: String,
    /// What `load` of the points is: `offered rate` or `throughput`.
    pub load_axis: String,
    pub points: Vec<CurvePoint>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Drift {
    /// `stable`, `drifting`, or `too short` (fewer than 3 measured points).
    pub verdict: String,
    pub points: usize,
    /// From the first measured point to the last.
    pub hours: f64,
    pub p95_mean_ms: f64,
    /// p95 ~ intercept + slope x hours since the first measured point.
    pub p95_intercept_ms: f64,
    pub p95_slope_ms_per_hour: f64,
    /// Relative growth of the fitted p95 over the run, and its limit.
    pub p95_growth: f64,
    pub p95_growth_limit: f64,
    pub error_rate_intercept: f64,
    pub error_rate_slope_per_hour: f64,
    /// Rise of the fitted error rate over the run, and its limit.
    pub error_rate_growth: f64,
    pub error_rate_growth_limit: f64,
    /// `plan` or `defaults`.
    pub limits_from: String,
    pub why: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Burst {
    /// The burst step (index from 0).
    pub step: usize,
    pub recovered: bool,
    /// When the burst ended, seconds from the start of the run.
    pub ended_at_s: f64,
    /// Seconds from the end of the burst until recovery.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_s: Option<f64>,
    pub before_p95_ms: f64,
    pub before_error_rate: f64,
    /// The worst point during the burst.
    pub burst_p95_ms: f64,
    pub burst_error_rate: f64,
    pub tolerance: f64,
    pub why: String,
}
