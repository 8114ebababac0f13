//! The summary schema: summary.json, the run's verdict and figures as every rendering reads them.
//! A serialization boundary: plain data, computed by `judge` and `live`, read by `render`,
//! `store` and anyone with a JSON parser.
//!
//! Only `schema_version` changes when a field changes meaning or goes away; new fields may be
//! added within a version (readers ignore what they do not know).

use std::path::Path;

use serde::{Deserialize, Serialize};
use stampede_metrics::{Alert, Arrivals, Figures, LoadFigures};

pub mod analysis;
pub mod fingerprint;
pub mod named;
pub mod plan;
pub mod series;
pub mod stream;
pub mod threshold;
pub mod words;

use crate::Error;
use analysis::Analysis;
pub use fingerprint::Fingerprint;
use named::Named;
use series::Series;
use stampede_metrics::MonitorFigures;
use threshold::ThresholdResult;

/// 2: figures come from the metrics crate's one vocabulary (`latency_ms` is the headline, with
/// `latency_from` and `latency_sent_ms`; outcomes keyed as in every file; `rate_limited` is
/// `outcomes["429"]`), threshold metrics are spelled as in TOML (`error-rate`), steps carry
/// their load figures (`peak_users`, `scheduled`, `dropped`, ...), and `alerts` and `stopped`
/// say what the live judge found.
pub const SCHEMA_VERSION: u32 = 2;
pub const SUMMARY_FILE: &str = "summary.json";

/// Who ran what, where: the parts of a run the events do not carry.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunMeta {
    pub run_id: String,
    pub scenario: String,
    pub kind: String,
    pub base_url: String,
    /// A free label recorded in the history (a commit, a build, "after the cache fix").
    pub tag: Option<String>,
    /// SHA-256 of the scenario file and the overrides applied, in hex: runs (or segments of
    /// one run) with the same hash ran the same scenario.
    #[serde(default)]
    pub scenario_sha256: String,
    /// The plan as `stampede plan` prints it, secrets redacted: what was run, in words.
    #[serde(default)]
    pub plan_text: String,
    /// The run's configuration, for grouping comparable runs (absent in older records).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<Fingerprint>,
    /// A segment of a run split across processes, or the merge of one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_out: Option<ScaleOut>,
    /// One run of a repeat (`--repeat N`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat: Option<Repeat>,
}

/// A run split across processes (`stampede run --segment i/n`), or the merge of its segments.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScaleOut {
    /// The run group: the segments of one run share it, and nothing else does.
    pub group: String,
    /// How many segments the run was split into.
    pub segments: u32,
    /// This segment, from 1; `None` for the merged run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment: Option<u32>,
    /// The instant every segment was to begin its first step (RFC 3339), when one was agreed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_at: Option<String>,
    /// How late the (latest) segment began after `start_at`, in microseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_late_us: Option<u64>,
    /// The merged run: the latest segment's start minus the earliest's, in microseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_skew_us: Option<u64>,
}

/// One of the runs of `stampede run NAME --repeat N`: the runs of one repeat share `group`,
/// and nothing else does.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Repeat {
    pub group: String,
    /// This run, from 1.
    pub run: u32,
    /// How many runs were asked for.
    pub of: u32,
}

/// The verdict of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Every step ran and every threshold held.
    Passed,
    /// A threshold failed, or a limit aborted the run.
    Failed,
    /// Ctrl-C or SIGTERM stopped the run; the steps that ran are reported as they were.
    Interrupted,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Passed => "passed",
            Verdict::Failed => "failed",
            Verdict::Interrupted => "interrupted",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub schema_version: u32,
    pub scenario: String,
    pub kind: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    pub run_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// The segment, or the merge of segments, this run is (see [`ScaleOut`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_out: Option<ScaleOut>,
    /// One run of a repeat (`--repeat N`): the group it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat: Option<Repeat>,
    pub base_url: String,
    /// The run's configuration (absent in runs of an older stampede).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<Fingerprint>,
    /// RFC 3339, UTC.
    pub started_at: String,
    pub finished_at: String,
    pub elapsed_s: f64,
    pub verdict: Verdict,
    /// Why a limit that must hold aborted the run, when one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aborted: Option<String>,
    /// Why a sweep ended before its last step (`stop-when`, a monitor's stop level).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
    /// Why the run failed whatever its thresholds: no request completed, or none succeeded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed_because: Vec<String>,
    /// What a reader must see with the figures, one sentence each: the rate achieved against
    /// the one planned, arrivals dropped or late, failures no threshold gates, closed-model
    /// queueing, the monitor's peaks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Every check of every request over the run, by name, with the first values it failed on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<CheckResult>,
    /// What the live judge found while the run went on, in order (at most
    /// [`MAX_ALERTS`]; `alerts_dropped` counts the rest).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<Alert>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub alerts_dropped: u64,
    /// The steps that ran, in order (an interrupted run lists fewer than planned).
    pub steps: Vec<StepSummary>,
    pub total: TotalSummary,
    /// Per-user setup requests (a login), measured apart from the steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub setup: Option<Figures>,
    pub thresholds: Vec<ThresholdResult>,
    pub analysis: Analysis,
    /// What failed and how often, as in failures.csv.
    pub failures: Vec<FailureRow>,
    /// The run over time, coarsened to a bounded number of points for charts.
    pub series: Series,
    /// The target's CPU and memory as the monitor saw them, per watched process.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub monitors: Vec<MonitorFigures>,
    /// Each `[[stream]]` over the run and per step; absent for plans without streams.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub streams: Vec<stream::StreamSummary>,
}

/// Alerts kept in a summary at most: a flapping limit must not grow a 24-hour soak's summary.
pub const MAX_ALERTS: usize = 100;

fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StepSummary {
    /// Position in the plan, from 0 (shown as `step index + 1` to people).
    pub index: usize,
    pub label: String,
    /// Users configured (closed model) or the pool cap (open model); the users actually
    /// active are `peak_users`.
    pub users: u32,
    /// When the step started, from the start of the run.
    pub offset_s: f64,
    pub warmup_s: f64,
    pub hold_s: f64,
    pub cooldown_s: f64,
    /// Time measured: the hold without its warm-up, or less when cut short.
    pub duration_s: f64,
    #[serde(flatten)]
    pub load: LoadFigures,
    #[serde(flatten)]
    pub figures: Figures,
    /// The step ended before its planned hold.
    pub cut_short: bool,
    /// Open model: where every scheduled arrival went, warm-up included (`unaccounted` is 0
    /// unless stampede lost count).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arrivals: Option<Arrivals>,
    /// The watched processes over the step's measured time (its CPU is `target_cpu_percent`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub monitors: Vec<MonitorFigures>,
    pub requests_by_name: Named<Figures>,
}

impl StepSummary {
    /// "step 2 (100 users)", for people.
    pub fn title(&self) -> String {
        format!("step {} ({})", self.index + 1, self.label)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TotalSummary {
    /// The most users any step configured.
    pub users: u32,
    /// Measured time, summed over the steps.
    pub duration_s: f64,
    /// Summed over the steps; `peak_users` is the largest step's peak.
    #[serde(flatten)]
    pub load: LoadFigures,
    #[serde(flatten)]
    pub figures: Figures,
    pub requests_by_name: Named<Figures>,
}

/// One check of one request over the run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    pub request: String,
    /// The scenario's `name` for it, or what it checks (`status in 201`).
    pub name: String,
    pub passed: u64,
    pub failed: u64,
    /// `passed / (passed + failed)`.
    pub pass_rate: f64,
    /// The first distinct values it failed on: `429` for a status check.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seen: Vec<String>,
    /// A failure of this check also failed its request (`fail-request`).
    #[serde(default)]
    pub fails_request: bool,
}

/// One row of failures.csv: one request failing one way.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureRow {
    pub method: String,
    pub name: String,
    pub error: String,
    pub occurrences: u64,
    pub first_seen: String,
    pub last_seen: String,
    /// The first such failure as it looked (a body's start, an error, the value a check saw),
    /// control characters escaped; from the responses, so never a secret of ours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample: Option<String>,
}

impl Summary {
    /// Reads `run_dir/summary.json`.
    pub fn read(run_dir: &Path) -> Result<Summary, Error> {
        let path = run_dir.join(SUMMARY_FILE);
        let bytes = std::fs::read(&path).map_err(|source| Error::Read {
            path: path.clone(),
            source,
        })?;
        // The version is checked before the shape, so an old file says why it cannot be read.
        #[derive(Deserialize)]
        struct Version {
            schema_version: u32,
        }
        let version: Version = serde_json::from_slice(&bytes).map_err(|source| Error::Json {
            path: path.clone(),
            source,
        })?;
        if version.schema_version != SCHEMA_VERSION {
            return Err(Error::Schema {
                path,
                found: version.schema_version,
                expected: SCHEMA_VERSION,
            });
        }
        serde_json::from_slice(&bytes).map_err(|source| Error::Json { path, source })
    }

    pub fn to_json(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).expect("a summary always serialises");
        bytes.push(b'\n');
        bytes
    }
}
