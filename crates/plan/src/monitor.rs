//! `[monitor]` and `[[monitor]]`: where the target's CPU and memory are read, and the limits on
//! them. Sampling is the monitor crate's job; this only says what to sample.

use std::path::PathBuf;

use crate::target::MetricsUrl;

/// The Prometheus gauge of resident memory read from a `metrics-url` unless `series` says
/// otherwise (the name the standard process collectors use).
pub const DEFAULT_RSS_SERIES: &str = "process_resident_memory_bytes";
/// The Prometheus counter of CPU seconds read from a `metrics-url` unless `series` says otherwise.
pub const DEFAULT_CPU_SECONDS_SERIES: &str = "process_cpu_seconds_total";

#[derive(Clone, Debug, PartialEq)]
pub struct Monitor {
    /// The name `[[monitor]]` gives it (letters, digits, `-`, `_`): how its columns, summary
    /// entry and messages name it. `None` for a single `[monitor]`, named after what it reads.
    pub name: Option<String>,
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
    /// A monitor that cannot read its target at start stops the run before it begins (true),
    /// or is left out with a warning (false). The parser resolves the default: required when
    /// the monitor has a limit, since a limit nobody can read guards nothing.
    pub required: bool,
}

impl Default for Monitor {
    /// Watches nothing in particular, with no limits and the standard series names: what the
    /// embedded target gets when the scenario has no `[monitor]`.
    fn default() -> Monitor {
        Monitor {
            name: None,
            process: None,
            metrics: None,
            rss_series: DEFAULT_RSS_SERIES.to_owned(),
            cpu_seconds_series: DEFAULT_CPU_SECONDS_SERIES.to_owned(),
            cpu_percent: MonitorLimit::default(),
            rss_bytes: MonitorLimit::default(),
            required: false,
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

impl MonitorLimit {
    /// Whether either level is set.
    pub fn is_set(&self) -> bool {
        self.warn.is_some() || self.stop.is_some()
    }
}

/// A level that warns and a level that stops; either may be absent.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct MonitorLimit {
    pub warn: Option<f64>,
    pub stop: Option<f64>,
}
