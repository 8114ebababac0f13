//! What a run means beyond its figures, as summary.json stores it: the knee of a capacity sweep,
//! the elbow of a throughput sweep, the drift of a soak, the recovery after a burst. Computed by
//! the judge (`crate::judge::analysis`); plain data here.

use serde::{Deserialize, Serialize};
use stampede_metrics::format;
use stampede_plan::{Condition, Metric};

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
    /// The scenario's own warning levels (`knee = { .. }`); none: the heuristic found the knee.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub levels: Vec<KneeLevel>,
    /// What marked the knee, first: `p95 crossed 300 ms`, or the heuristic's first reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The most throughput any step of the sweep reached (requests per second): where the
    /// curve flattens when the system saturates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plateau_rps: Option<f64>,
}

/// One warning level of a user-defined knee: the knee is the first step where it holds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct KneeLevel {
    pub metric: Metric,
    pub condition: Condition,
}

impl Knee {
    /// Which rule found the knee, as every output names it: `heuristic`, or
    /// `your levels: p95 > 300 ms or error-rate > 1%`.
    pub fn rule(&self) -> String {
        if self.levels.is_empty() {
            return "heuristic".to_owned();
        }
        let rules: Vec<String> = self
            .levels
            .iter()
            .map(|l| format::rule(l.metric, &l.condition))
            .collect();
        format!("your levels: {}", rules.join(" or "))
    }
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

/// Whether a soak drifted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DriftVerdict {
    Stable,
    Drifting,
    /// Too few measured points to tell a trend from noise: nothing was judged.
    TooShort,
}

impl DriftVerdict {
    pub fn as_str(self) -> &'static str {
        match self {
            DriftVerdict::Stable => "stable",
            DriftVerdict::Drifting => "drifting",
            DriftVerdict::TooShort => "too short",
        }
    }
}

/// A soak's drift: the last third of its measured points against the first, by medians (a
/// single slow bucket moves neither), with an absolute floor under every relative limit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Drift {
    pub verdict: DriftVerdict,
    /// Measured points (buckets with requests, warm-up excluded).
    pub points: usize,
    /// From the first measured point to the last.
    pub hours: f64,
    /// Median p95 of the first and of the last third of the points.
    pub p95_first_ms: f64,
    pub p95_last_ms: f64,
    /// `last - first`, and that over `first`.
    pub p95_change_ms: f64,
    pub p95_growth: f64,
    pub p95_growth_limit: f64,
    /// A growth counts only when the change is at least this large.
    pub min_change_ms: f64,
    /// The error rate over all requests of the first and of the last third.
    pub error_rate_first: f64,
    pub error_rate_last: f64,
    pub error_rate_growth: f64,
    pub error_rate_growth_limit: f64,
    /// The monitored target's resident memory: median of each third, and the growth per hour
    /// between the thirds' middles (only over a span long enough to speak of hours).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rss_first_mb: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rss_last_mb: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rss_growth_mb_per_hour: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rss_growth_limit_mb_per_hour: Option<f64>,
    /// The line through the thirds' middles, for charts: value at the first measured point,
    /// and per hour.
    pub p95_intercept_ms: f64,
    pub p95_slope_ms_per_hour: f64,
    pub error_rate_intercept: f64,
    pub error_rate_slope_per_hour: f64,
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
