//! The `Plan`: what the engine runs, as plain data.
//!
//! Every kind of scenario lowers to the same shape, a list of steps, each a load held for a time
//! and followed by an optional cooldown. Smoke, capacity, throughput, burst and soak are different
//! step lists, not different engines.

use std::path::PathBuf;
use std::time::Duration;

use crate::template::Template;

/// Index of a request in [`Plan::requests`].
pub type RequestId = usize;

#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Smoke,
    Capacity,
    Throughput,
    Burst,
    Soak,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Smoke => "smoke",
            Kind::Capacity => "capacity",
            Kind::Throughput => "throughput",
            Kind::Burst => "burst",
            Kind::Soak => "soak",
        }
    }
}

/// Where the load goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BaseUrl {
    /// The embedded demo target, started in-process on a loopback port.
    Builtin,
    Http(HttpBase),
}

/// An `http://host:port/prefix` base, split once at load time so the engine never parses URLs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpBase {
    pub host: String,
    pub port: u16,
    /// Path prefix without a trailing slash ("" for none); request paths are appended to it.
    pub path_prefix: String,
}

impl HttpBase {
    /// The `Host` header value (an IPv6 host in brackets).
    pub fn authority(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == 80 {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}{}", self.authority(), self.path_prefix)
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
    /// How long in-flight requests may finish after a step ends or the run is stopped.
    pub grace: Duration,
    pub connect_timeout: Duration,
    pub thresholds: Vec<Threshold>,
    /// Users x this factor at the knee is the safe ceiling a capacity run reports.
    pub ceiling_factor: f64,
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
    /// `[monitor]`: the target's CPU and memory, watched each interval, with limits.
    pub monitor: Option<Monitor>,
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
            data: None,
            stop_when: Vec::new(),
            series_interval: Duration::from_secs(1),
            drift: None,
            monitor: None,
        }
    }
}

/// A CSV file's rows, read once at load time; templates refer to columns by index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataSet {
    /// The file as written in the scenario (for messages and `describe`).
    pub file: String,
    pub columns: Vec<String>,
    /// Never empty; every row has one value per column.
    pub rows: Vec<Vec<String>>,
    pub mode: DataMode,
}

/// Which row a user's `${data.column}` reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataMode {
    /// Each iteration takes the next row of one run-wide sequence, wrapping around.
    Sequential,
    /// Each iteration takes a row at random.
    Random,
    /// Each user keeps one row for the whole run: user `n` gets row `n` (wrapping around when
    /// there are more users than rows).
    UniquePerVu,
}

impl DataMode {
    pub fn as_str(self) -> &'static str {
        match self {
            DataMode::Sequential => "sequential",
            DataMode::Random => "random",
            DataMode::UniquePerVu => "unique-per-vu",
        }
    }
}

impl DataSet {
    /// The row for an iteration: `seq` is the run-wide sequence number, `random` any random
    /// number; the mode decides which one counts.
    pub fn row(&self, vu: u64, seq: u64, random: u64) -> &[String] {
        let n = self.rows.len() as u64;
        let index = match self.mode {
            DataMode::Sequential => seq % n,
            DataMode::Random => random % n,
            DataMode::UniquePerVu => vu % n,
        };
        &self.rows[index as usize]
    }
}

/// Soak limits on drift from the first time-series bucket to the last.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Drift {
    /// Largest allowed relative growth of p95, as a fraction (0.2: the last bucket's p95 may be
    /// at most 1.2 times the first's).
    pub p95_growth: Option<f64>,
    /// Largest allowed rise of the error rate, as a fraction (0.01: one percentage point).
    pub error_rate_growth: Option<f64>,
}

/// The Prometheus gauge of resident memory read from a `metrics-url` unless `series` says
/// otherwise (the name the standard process collectors use).
pub const DEFAULT_RSS_SERIES: &str = "process_resident_memory_bytes";
/// The Prometheus counter of CPU seconds read from a `metrics-url` unless `series` says otherwise.
pub const DEFAULT_CPU_SECONDS_SERIES: &str = "process_cpu_seconds_total";

/// `[monitor]`: where the target's CPU and memory are read, and the limits on them. Sampling is
/// the CLI's job; this only says what to sample.
#[derive(Clone, Debug, PartialEq)]
pub struct Monitor {
    /// A process on this machine whose CPU and RSS are read from /proc.
    pub process: Option<MonitorProcess>,
    /// A Prometheus endpoint scraped each interval.
    pub metrics: Option<MetricsUrl>,
    /// The gauge of resident bytes read from `metrics`.
    pub rss_series: String,
    /// The counter of CPU seconds read from `metrics`; its rate is the CPU use.
    pub cpu_seconds_series: String,
    /// In percent of one core: 150.0 is one and a half cores busy.
    pub cpu_percent: MonitorLimit,
    /// In bytes.
    pub rss_bytes: MonitorLimit,
}

impl Default for Monitor {
    /// Watches nothing in particular, with no limits and the standard series names: what the
    /// embedded target gets when the scenario has no `[monitor]`.
    fn default() -> Monitor {
        Monitor {
            process: None,
            metrics: None,
            rss_series: DEFAULT_RSS_SERIES.to_owned(),
            cpu_seconds_series: DEFAULT_CPU_SECONDS_SERIES.to_owned(),
            cpu_percent: MonitorLimit::default(),
            rss_bytes: MonitorLimit::default(),
        }
    }
}

/// The process a monitor reads from /proc.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MonitorProcess {
    Pid(u32),
    /// Read when the run starts, since a server writes it when it starts; the path is already
    /// resolved against the scenario file's directory.
    PidFile(PathBuf),
}

/// An `http://host:port/path` endpoint, split at load time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetricsUrl {
    /// Host and port (its `path_prefix` is empty).
    pub server: HttpBase,
    /// Path and query, starting with `/`.
    pub path: String,
}

impl MetricsUrl {
    pub fn url(&self) -> String {
        format!("{}{}", self.server.url(), self.path)
    }
}

/// A level that warns and a level that stops; either may be absent.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct MonitorLimit {
    pub warn: Option<f64>,
    pub stop: Option<f64>,
}

/// Bytes for people, in decimal units as `rss` limits are written: "1.8 GB", "512 MB".
pub fn format_bytes(bytes: f64) -> String {
    const UNITS: [(&str, f64); 4] = [("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)];
    for (unit, size) in UNITS {
        if bytes >= size {
            let value = bytes / size;
            // Three significant digits at most: "1.82 GB", "18.2 GB", "182 GB".
            let text = if value >= 100.0 {
                format!("{value:.0}")
            } else if value >= 10.0 {
                format!("{value:.1}")
            } else {
                format!("{value:.2}")
            };
            let text = if text.contains('.') {
                text.trim_end_matches('0').trim_end_matches('.').to_owned()
            } else {
                text
            };
            return format!("{text} {unit}");
        }
    }
    format!("{bytes:.0} B")
}

impl Plan {
    /// When each step starts, from the start of the run.
    pub fn step_offsets(&self) -> Vec<Duration> {
        let mut at = Duration::ZERO;
        self.steps
            .iter()
            .map(|step| {
                let start = at;
                at += step.duration() + step.cooldown;
                start
            })
            .collect()
    }

    /// The whole run, every step and cooldown included.
    pub fn total_duration(&self) -> Duration {
        self.steps.iter().map(|s| s.duration() + s.cooldown).sum()
    }
}

#[derive(Clone, Debug)]
pub struct Step {
    /// A short human label: "50 users", "200/s", "burst".
    pub label: String,
    pub load: Load,
    /// Time to bring users up from zero to the step's count, inside `hold`.
    pub ramp: Duration,
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
    pub fn duration(&self) -> Duration {
        self.hold
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
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Think {
    #[default]
    None,
    Fixed(Duration),
    /// Uniformly random in `[lo, hi]`.
    Range(Duration, Duration),
}

#[derive(Clone, Debug)]
pub struct Request {
    pub name: String,
    /// Upper-case method name.
    pub method: String,
    /// Path (and optional query) appended to the base URL's prefix.
    pub path: Template,
    /// Extra query parameters, appended after `path`'s own.
    pub query: Vec<(String, Template)>,
    pub headers: Vec<Header>,
    pub body: Option<Template>,
    pub weight: u32,
    pub think: Think,
    pub timeout: Duration,
    pub expect: StatusSet,
    pub checks: Vec<Check>,
    pub captures: Vec<Capture>,
    pub sign: Option<Sign>,
}

#[derive(Clone)]
pub struct Header {
    pub name: String,
    pub value: Template,
    /// Never printed or written anywhere (Authorization, API keys, values from `${env:..}`).
    pub secret: bool,
}

impl std::fmt::Debug for Header {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut s = f.debug_struct("Header");
        s.field("name", &self.name);
        if self.secret {
            s.field("value", &"<redacted>");
        } else {
            s.field("value", &self.value);
        }
        s.field("secret", &self.secret).finish()
    }
}

/// A set of HTTP status codes 100..=599, as a bitmap: membership is one shift and one mask.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct StatusSet([u64; 10]);

impl StatusSet {
    pub const fn empty() -> StatusSet {
        StatusSet([0; 10])
    }

    /// 2xx and 3xx: what a request expects unless it says otherwise.
    pub fn success() -> StatusSet {
        let mut set = StatusSet::empty();
        for code in 200..400 {
            set.insert(code);
        }
        set
    }

    pub fn insert(&mut self, code: u16) {
        if code < 640 {
            self.0[usize::from(code / 64)] |= 1 << (code % 64);
        }
    }

    #[inline]
    pub fn contains(&self, code: u16) -> bool {
        code < 640 && self.0[usize::from(code / 64)] & (1 << (code % 64)) != 0
    }
}

impl std::fmt::Debug for StatusSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set()
            .entries((0..640u16).filter(|&c| self.contains(c)))
            .finish()
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Check {
    Status(StatusSet),
    MaxLatency(Duration),
    BodyContains(String),
    /// The JSON value at a pointer equals this JSON text.
    Json {
        pointer: String,
        equals: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Capture {
    /// Index into [`Plan::captures`].
    pub slot: usize,
    pub from: CaptureFrom,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CaptureFrom {
    JsonPointer(String),
    Header(String),
}

/// HMAC-SHA256 over the final body bytes, sent as `header: prefix + hex`.
#[derive(Clone)]
pub struct Sign {
    pub secret: Vec<u8>,
    pub header: String,
    pub prefix: String,
}

impl std::fmt::Debug for Sign {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sign")
            .field("secret", &"<redacted>")
            .field("header", &self.header)
            .field("prefix", &self.prefix)
            .finish()
    }
}

#[derive(Clone, Debug)]
pub struct Flow {
    pub name: String,
    pub weight: u32,
    pub steps: Vec<RequestId>,
}

/// A pass/fail rule on the results. Conditions say what must hold (`p95 < 500ms`).
#[derive(Clone, Debug, PartialEq)]
pub struct Threshold {
    pub metric: Metric,
    pub condition: Condition,
    /// A stricter condition whose breach is only a warning.
    pub warn: Option<Condition>,
    pub scope: Scope,
    /// Judge over a sliding window while the run goes on (with `abort`, stop the run).
    pub window: Option<Duration>,
    pub abort: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    P50,
    P90,
    P95,
    P99,
    Max,
    Mean,
    /// Failed / all, as a fraction.
    ErrorRate,
    /// Completed requests per second.
    Rps,
    /// Passed checks / checked responses, as a fraction.
    Checks,
}

/// `< 500ms`, `> 100`, `<= 1%`: latencies in milliseconds, rates as fractions.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Condition {
    pub op: Op,
    pub value: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Lt,
    Le,
    Gt,
    Ge,
}

impl Condition {
    pub fn holds(&self, observed: f64) -> bool {
        match self.op {
            Op::Lt => observed < self.value,
            Op::Le => observed <= self.value,
            Op::Gt => observed > self.value,
            Op::Ge => observed >= self.value,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Run,
    PerStep,
    Request(RequestId),
}
