//! Validation and lowering: a parsed file becomes a [`Plan`], every problem reported on the way.
//!
//! One pass over the file: each part is checked and lowered together, problems go to the sink
//! and lowering carries on with a stand-in value, so one run reports every problem. The plan
//! built alongside is thrown away when anything was reported.

mod bounds;
mod checks;
mod data;
mod flows;
mod kinds;
mod monitor;
mod requests;
mod stages;
mod streams;
mod templating;
mod thresholds;
mod transport;
mod url;
mod values;

use std::path::Path;
use std::time::Duration;

use crate::diag::Sink;
use crate::file::{Common, DefaultsFile};
use crate::parse::KindFile;
use crate::spanned::Spanned;
use stampede_plan::{BaseUrl, DataSet, Plan, RequestOptions};

/// Looks up `${env:NAME}`: the process environment, or a fake one in tests.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Everything lowering needs besides the file, and what it learns on the way.
pub(crate) struct Lowerer<'a> {
    pub sink: Sink<'a>,
    pub source: &'a str,
    pub base_dir: &'a Path,
    pub env: EnvLookup<'a>,
    /// `--allow-remote` was given.
    pub allow_remote_flag: bool,
    /// Capture names, by slot.
    captures: Vec<String>,
    data: Option<DataSet>,
    request_names: Vec<String>,
    base_url: BaseUrl,
    /// Something is watched (a `[monitor]`, or the builtin target): `target-cpu` can be read.
    watched: bool,
    /// Per request, in order: what it does beyond what it sends.
    request_options: Vec<RequestOptions>,
    /// base-url is https://.
    base_https: bool,
    /// Requests that have thresholds of their own, and where: checked once flows are known.
    request_thresholds: Vec<(usize, std::ops::Range<usize>)>,
}

impl<'a> Lowerer<'a> {
    pub(crate) fn new(
        sink: Sink<'a>,
        source: &'a str,
        base_dir: &'a Path,
        env: EnvLookup<'a>,
        allow_remote_flag: bool,
    ) -> Self {
        Lowerer {
            sink,
            source,
            base_dir,
            env,
            allow_remote_flag,
            captures: Vec::new(),
            data: None,
            request_names: Vec::new(),
            base_url: BaseUrl::Builtin,
            watched: false,
            request_options: Vec::new(),
            base_https: false,
            request_thresholds: Vec::new(),
        }
    }

    /// Lowers the file; the plan is only meaningful when the sink stayed empty.
    pub(crate) fn lower(&mut self, file: KindFile, default_name: &str) -> Plan {
        let (common, specific) = kinds::split(file);
        let mut plan = Plan {
            kind: common.kind.value.0,
            ..Plan::default()
        };
        self.common(&common, default_name, &mut plan);
        let defaults = common.defaults.as_ref().map(|d| &d.value);
        if let Some(data) = &common.data {
            self.data = self.data_set(data);
        }
        self.declare_captures(&common);
        plan.captures = self.captures.clone();
        if let Some(connect) = defaults.and_then(|d| d.connect_timeout.as_ref()) {
            plan.connect_timeout = self.positive(connect, "connect-timeout");
        }
        plan.requests = self.requests(&common, defaults);
        plan.request_options = std::mem::take(&mut self.request_options);
        plan.flows = self.flows(&common);
        plan.setup = self.setup(&common);
        plan.streams = self.streams(&common, defaults);
        if plan.flows.is_empty()
            && !plan.requests.is_empty()
            && plan.requests.iter().all(|r| r.weight == 0)
        {
            let span = common.request.as_ref().map_or(0..0, |r| r.span.clone());
            self.sink.hint(
                span,
                "every request has weight 0, so none would ever run",
                "give at least one request a weight, or add a [[flow]]",
            );
        }
        self.watched = common.monitor.is_some() || self.base_url == BaseUrl::Builtin;
        if let Some(thresholds) = &common.thresholds {
            plan.thresholds = self.thresholds(thresholds, &plan.streams);
            self.check_request_thresholds(&plan);
        }
        if let Some(monitor) = &common.monitor {
            let allow_remote = self.allow_remote(&common);
            plan.monitors = self.monitors(monitor, allow_remote);
        }
        self.specific(specific, &common, &mut plan);
        self.check_stream_loads(&common, &plan);
        plan.data = self.data.take();
        plan
    }

    fn common(&mut self, common: &Common, default_name: &str, plan: &mut Plan) {
        plan.name = match &common.name {
            Some(name) if name.trim().is_empty() => {
                self.sink.error(name.span.clone(), "`name` is empty");
                default_name.to_owned()
            }
            Some(name) => {
                if let Err(message) = checks::safe_name(name) {
                    self.sink.hint(
                        name.span.clone(),
                        message,
                        format!(
                            "a name is one safe path component: letters, digits, spaces and \
                             - _ . + , ( ) @ #, at most {} characters, not starting with `.`",
                            crate::limits::MAX_NAME_CHARS
                        ),
                    );
                }
                name.value.clone()
            }
            None => default_name.to_owned(),
        };
        plan.description = common
            .description
            .as_ref()
            .map(|d| d.value.clone())
            .unwrap_or_default();
        let allow_remote = self.allow_remote(common);
        // Named by the caller, who knows which layer said so; see `crate::remote_permission`.
        plan.remote_allowed_by = allow_remote.then(String::new);
        (plan.base_url, self.base_https) = match &common.base_url {
            Some(text) => self.base_url(text, allow_remote),
            None => (BaseUrl::Builtin, false),
        };
        self.base_url = plan.base_url.clone();
        self.transport(common, plan);
        if let Some(interval) = &common.interval {
            plan.interval = self.positive(interval, "interval");
            if plan.interval < crate::limits::MIN_INTERVAL {
                self.sink.hint(
                    interval.span.clone(),
                    format!(
                        "`interval` is shorter than {}",
                        crate::limits::show(crate::limits::MIN_INTERVAL)
                    ),
                    "snapshots finer than 10ms cost memory and CPU and say nothing more",
                );
            }
        }
        plan.series_interval = plan.interval;
        if let Some(grace) = &common.grace {
            plan.grace = grace.0;
        }
    }

    /// Whether hosts outside loopback are allowed, by the file or the command line.
    fn allow_remote(&self, common: &Common) -> bool {
        self.allow_remote_flag || common.allow_remote.as_ref().is_some_and(|a| a.value)
    }

    /// A duration that must not be zero.
    fn positive(&mut self, value: &Spanned<crate::types::Dur>, key: &str) -> Duration {
        if value.0.is_zero() {
            self.sink.error(
                value.span.clone(),
                format!("`{key}` must be longer than zero"),
            );
            return Duration::from_secs(1);
        }
        value.0
    }

    /// The names of the requests, with their spans, for cross-references.
    fn request_index(&self, name: &str) -> Option<usize> {
        self.request_names.iter().position(|n| n == name)
    }

    /// Reports an unknown request name with a suggestion.
    fn unknown_request(&mut self, name: &Spanned<String>, context: &str) {
        let hint = crate::parse::did_you_mean(name, self.request_names.iter().map(String::as_str))
            .or_else(|| Some(format!("requests: {}", self.request_names.join(", "))));
        self.sink.maybe_hint(
            name.span.clone(),
            format!("unknown request `{}` in {context}", name.value),
            hint,
        );
    }
}

/// The defaults table, when there is one.
pub(crate) type Defaults<'f> = Option<&'f DefaultsFile>;
