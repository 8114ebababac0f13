//! The `Plan`: what the engine runs and the reporter judges, as plain data.
//!
//! The contract between the parser (`stampede-scenario`) and everything downstream: the engine,
//! the monitor and the reporter depend on this crate, never on TOML, figment or schemars. Every
//! default is resolved when a scenario is lowered, so nothing downstream decides one, and the
//! types allow no state that lowering would refuse.
//!
//! Every kind of scenario lowers to the same shape, a list of steps, each a load held for a time
//! and followed by an optional cooldown. Smoke, capacity, throughput, burst, soak and stages are
//! different step lists, not different engines.
//!
//! Knows nothing of sockets, histograms, files or formats: std and serde only.

mod data;
mod metric;
mod monitor;
mod request;
mod stream;
mod target;
pub mod template;
mod transport;

use std::time::Duration;

pub use data::{DataMode, DataSet};
pub use metric::{
    Condition, Drift, LiveRule, Metric, Op, Phase, PhaseStat, Scope, Threshold, Unit,
};
pub use monitor::{
    DEFAULT_CPU_SECONDS_SERIES, DEFAULT_RSS_SERIES, Monitor, MonitorLimit, MonitorProcess,
};
pub use request::{
    Capture, CaptureFrom, Check, CheckOptions, Flow, Header, On429, Request, RequestId,
    RequestOptions, Sign, StatusSet,
};
pub use stream::{Stream, StreamKind, StreamSend};
pub use target::{BaseUrl, HttpBase, MetricsUrl};
pub use template::{Context, Part, Template, Var};
pub use transport::{ClientIdentity, HttpVersion, Tls};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Smoke,
    Capacity,
    Throughput,
    Burst,
    Soak,
    /// A free-form list of stages, each ramping linearly from the users before it (k6 stages).
    Stages,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::Smoke,
        Kind::Capacity,
        Kind::Throughput,
        Kind::Burst,
        Kind::Soak,
        Kind::Stages,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Smoke => "smoke",
            Kind::Capacity => "capacity",
            Kind::Throughput => "throughput",
            Kind::Burst => "burst",
            Kind::Soak => "soak",
            Kind::Stages => "stages",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Plan {
    pub name: String,
    pub kind: Kind,
    pub description: String,
    pub base_url: BaseUrl,
    pub requests: Vec<Request>,
    /// Ordered walks over requests; when non-empty, users pick a flow by weight instead of a
    /// single request.
    pub flows: Vec<Flow>,
    /// Requests each user runs once before its first iteration (a login), measured apart.
    pub setup: Vec<RequestId>,
    pub steps: Vec<Step>,
    /// Names of the per-user captured values; templates refer to them by index.
    pub captures: Vec<String>,
    /// How often the engine snapshots and reports its statistics.
    pub interval: Duration,
    /// How long in-flight requests may finish after a step ends. When the run is stopped
    /// (interrupted, aborted, a sweep's limit) the wait is at most one `interval`, so a stop is
    /// obeyed promptly; what is still in flight then is counted as abandoned.
    pub grace: Duration,
    pub connect_timeout: Duration,
    pub thresholds: Vec<Threshold>,
    /// Users x this factor at the knee is the safe ceiling a capacity run reports.
    pub ceiling_factor: f64,
    /// Capacity: the team's own warning levels (`knee = { p95 = "> 300ms" }`). The knee is the
    /// first step where any of them holds; empty means the built-in heuristic decides.
    pub knee_levels: Vec<(Metric, Condition)>,
    /// Rows that feed `Var::Data`, loaded at validation time.
    pub data: Option<DataSet>,
    /// Capacity: stop the sweep after a step where any of these holds (`p95 > 2s`). Unlike
    /// thresholds, these say when to stop, not what must hold.
    pub stop_when: Vec<(Metric, Condition)>,
    /// Width of a bucket of the reported time series: a soak's `interval` (default 1 minute);
    /// for the other kinds the same as `interval`.
    pub series_interval: Duration,
    /// Soak: how far the last bucket may drift from the first.
    pub drift: Option<Drift>,
    /// `[monitor]` or `[[monitor]]`: the target's CPU and memory, watched each interval, with
    /// limits; a sample's `source` is its index here (empty: the builtin target, unlimited).
    pub monitors: Vec<Monitor>,
    /// TLS settings: `Some` exactly when base-url is `https://`.
    pub tls: Option<Tls>,
    /// The HTTP version users speak.
    pub http: HttpVersion,
    /// Per request, what it does beyond what it sends (429 handling, check names); indexed
    /// like `requests`, and a request past its end takes the defaults (see
    /// [`Plan::options_for`]).
    pub request_options: Vec<RequestOptions>,
    /// Lines every run of this plan logs as warnings before it starts (`insecure = true`).
    pub warnings: Vec<String>,
    /// Warm-up by count, per step: step `i` leaves its first `warmup_requests[i]` requests (over
    /// all users) out of its figures. Steps past the end of the list have none. Beside
    /// [`Step::warmup`], warm-up by time; a scenario gives one or the other. Read it through
    /// [`Plan::warmup_requests`].
    pub warmup_requests: Vec<u64>,
    /// Who allowed hosts outside loopback (`--allow-remote`, `allow-remote = true in FILE`,
    /// an override), or `None`: only loopback. The binary checks the resolved address against
    /// it, since a name such as `localhost` can resolve anywhere.
    pub remote_allowed_by: Option<String>,
    /// Streams every user holds beside its requests (closed-model steps only).
    pub streams: Vec<Stream>,
}

impl Default for Plan {
    /// An empty smoke plan against the builtin target: a base for plans built in code
    /// (`Plan { steps, requests, ..Plan::default() }`).
    fn default() -> Plan {
        Plan {
            name: String::new(),
            kind: Kind::Smoke,
            description: String::new(),
            base_url: BaseUrl::Builtin,
            requests: Vec::new(),
            flows: Vec::new(),
            setup: Vec::new(),
            steps: Vec::new(),
            captures: Vec::new(),
            interval: Duration::from_secs(1),
            grace: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(5),
            thresholds: Vec::new(),
            ceiling_factor: 0.8,
            knee_levels: Vec::new(),
            data: None,
            stop_when: Vec::new(),
            series_interval: Duration::from_secs(1),
            drift: None,
            monitors: Vec::new(),
            tls: None,
            http: HttpVersion::Auto,
            request_options: Vec::new(),
            warnings: Vec::new(),
            warmup_requests: Vec::new(),
            remote_allowed_by: None,
            streams: Vec::new(),
        }
    }
}

/// What a request without its own entry in [`Plan::request_options`] does.
static DEFAULT_OPTIONS: RequestOptions = RequestOptions {
    on_429: On429::Count,
    checks: Vec::new(),
};

impl Plan {
    /// When each step starts, from the start of the run. Saturating: no plan makes this panic
    /// (validation keeps real plans far below `Duration::MAX`).
    pub fn step_offsets(&self) -> Vec<Duration> {
        self.offsets().collect()
    }

    /// What request `id` does beyond what it sends: its entry, or the defaults.
    pub fn options_for(&self, id: RequestId) -> &RequestOptions {
        self.request_options.get(id).unwrap_or(&DEFAULT_OPTIONS)
    }

    /// The whole run, every step and cooldown included.
    /// [`Plan::step_offsets`] one at a time, for callers that must not hold one per step.
    pub fn offsets(&self) -> impl Iterator<Item = Duration> + '_ {
        self.steps.iter().scan(Duration::ZERO, |at, step| {
            let start = *at;
            *at = at.saturating_add(step.span());
            Some(start)
        })
    }

    /// The whole run, every step and cooldown included; saturating.
    pub fn total_duration(&self) -> Duration {
        self.steps.iter().fold(Duration::ZERO, |total, step| {
            total.saturating_add(step.span())
        })
    }

    /// How many requests of step `step` are warm-up (0: none by count).
    pub fn warmup_requests(&self, step: usize) -> u64 {
        self.warmup_requests.get(step).copied().unwrap_or(0)
    }
}

#[derive(Clone, Debug)]
pub struct Step {
    /// A short human label: "50 users", "200/s", "burst".
    pub label: String,
    pub load: Load,
    /// Time to bring users from `ramp_from` to the step's count (up or down), inside `hold`.
    pub ramp: Duration,
    /// Closed model: users already running when the step starts (a stage continues from the
    /// previous stage's count; 0 for every other kind). Users above the step's count leave
    /// evenly over `ramp`, each after its in-flight iteration.
    pub ramp_from: u32,
    /// Time at the end of `hold` over which users leave, linearly down to zero (closed model).
    pub ramp_down: Duration,
    /// Leading part of the hold whose measurements are left out of the step's figures.
    pub warmup: Duration,
    /// How long the step runs, ramp and warm-up included.
    pub hold: Duration,
    /// Idle time after the step: no traffic at all.
    pub cooldown: Duration,
    /// Replaces every request's think time during this step (a throughput sweep over think times).
    pub think: Option<Think>,
    /// Closed model: iterations each user runs before it stops early (`None`: until `hold` ends).
    pub iterations_per_user: Option<u64>,
}

impl Step {
    /// The step's hold and cooldown, saturating.
    pub fn span(&self) -> Duration {
        self.hold.saturating_add(self.cooldown)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Load {
    /// A fixed number of users, each looping: request, think, request.
    Closed { users: u32 },
    /// Iterations started at a fixed rate whatever the responses, by users from a capped pool.
    Open {
        rate_per_s: f64,
        max_users: u32,
        max_backlog: u32,
    },
    /// `requests` iterations fired at once at the start of the step, then nothing.
    Burst { requests: u32 },
}

impl Load {
    /// Users a step may have at most.
    pub fn max_users(&self) -> u32 {
        match *self {
            Load::Closed { users } => users,
            Load::Open { max_users, .. } => max_users,
            Load::Burst { requests } => requests,
        }
    }

    /// The arrival rate asked for, for the open model.
    pub fn rate_per_s(&self) -> Option<f64> {
        match *self {
            Load::Open { rate_per_s, .. } => Some(rate_per_s),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Think {
    #[default]
    None,
    Fixed(Duration),
    /// Uniformly random in `[lo, hi]`.
    Range(Duration, Duration),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(hold: Duration, cooldown: Duration) -> Step {
        Step {
            label: String::new(),
            load: Load::Closed { users: 1 },
            ramp: Duration::ZERO,
            ramp_from: 0,
            ramp_down: Duration::ZERO,
            warmup: Duration::ZERO,
            hold,
            cooldown,
            think: None,
            iterations_per_user: None,
        }
    }

    #[test]
    fn durations_saturate_instead_of_panicking() {
        let plan = Plan {
            steps: vec![
                step(Duration::MAX, Duration::from_secs(1)),
                step(Duration::from_secs(1), Duration::MAX),
                step(Duration::from_secs(1), Duration::ZERO),
            ],
            ..Plan::default()
        };
        assert_eq!(plan.total_duration(), Duration::MAX);
        assert_eq!(
            plan.step_offsets(),
            [Duration::ZERO, Duration::MAX, Duration::MAX]
        );
    }

    #[test]
    fn offsets_add_holds_and_cooldowns() {
        let s = Duration::from_secs;
        let plan = Plan {
            steps: vec![step(s(10), s(5)), step(s(20), s(0)), step(s(1), s(0))],
            warmup_requests: vec![0, 200],
            ..Plan::default()
        };
        assert_eq!(plan.step_offsets(), [s(0), s(15), s(35)]);
        assert_eq!(plan.total_duration(), s(36));
        assert_eq!(
            (0..3).map(|i| plan.warmup_requests(i)).collect::<Vec<_>>(),
            [0, 200, 0]
        );
    }
}
