//! Each kind's own keys, lowered to steps: smoke, capacity, burst and soak are different step
//! lists, not different engines.

use std::time::Duration;

use crate::file::{
    BurstKeys, CapacityKeys, Common, SmokeKeys, SoakKeys, StagesKeys, ThroughputKeys,
};
use crate::parse::KindFile;
use crate::ramp::Ramp;
use crate::spanned::Spanned;
use crate::types::{Count, Dur, Positive, Warmup};
use stampede_plan::{Load, Plan, Step, Think};

use super::Lowerer;

/// Open model defaults: enough users for a few thousand requests per second at modest latency,
/// and a backlog bound that keeps memory flat when the target stalls.
pub(crate) const DEFAULT_MAX_USERS: u32 = 1000;
pub(crate) const DEFAULT_MAX_BACKLOG: u32 = 10_000;
/// A smoke run given only `iterations` stops after at most this long.
pub(crate) const SMOKE_ITERATIONS_BOUND: Duration = Duration::from_secs(600);
/// A soak's time-series bucket unless `interval` says otherwise.
pub(crate) const SOAK_SERIES_INTERVAL: Duration = Duration::from_secs(60);

// One of these exists per load, briefly: boxing would buy nothing.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Specific {
    Smoke(SmokeKeys),
    Capacity(CapacityKeys),
    Throughput(ThroughputKeys),
    Burst(BurstKeys),
    Soak(SoakKeys),
    Stages(StagesKeys),
}

pub(super) fn split(file: KindFile) -> (Common, Specific) {
    match file {
        KindFile::Smoke(f) => {
            let (c, k) = f.split();
            (c, Specific::Smoke(k))
        }
        KindFile::Capacity(f) => {
            let (c, k) = f.split();
            (c, Specific::Capacity(k))
        }
        KindFile::Throughput(f) => {
            let (c, k) = f.split();
            (c, Specific::Throughput(k))
        }
        KindFile::Burst(f) => {
            let (c, k) = f.split();
            (c, Specific::Burst(k))
        }
        KindFile::Soak(f) => {
            let (c, k) = f.split();
            (c, Specific::Soak(k))
        }
        KindFile::Stages(f) => {
            let (c, k) = f.split();
            (c, Specific::Stages(k))
        }
    }
}

type D = Option<Spanned<Dur>>;

fn dur(value: &D) -> Duration {
    value.as_ref().map_or(Duration::ZERO, |d| d.0)
}

pub(super) fn step(label: String, load: Load, hold: Duration) -> Step {
    Step {
        label,
        load,
        ramp: Duration::ZERO,
        ramp_from: 0,
        ramp_down: Duration::ZERO,
        warmup: Duration::ZERO,
        hold,
        cooldown: Duration::ZERO,
        think: None,
        iterations_per_user: None,
    }
}

fn rate_label(rate: f64) -> String {
    format!("{rate}/s")
}

impl Lowerer<'_> {
    pub(super) fn specific(&mut self, specific: Specific, common: &Common, plan: &mut Plan) {
        let run_span = self.bounds(&specific);
        let (warmup, first_only) = match &specific {
            Specific::Smoke(k) => (k.warmup.clone(), false),
            Specific::Capacity(k) => (k.warmup.clone(), false),
            Specific::Throughput(k) => (k.warmup.clone(), false),
            Specific::Burst(k) => (k.warmup.clone(), true),
            Specific::Soak(k) => (k.warmup.clone(), false),
            Specific::Stages(_) => (None, false),
        };
        if let Specific::Smoke(keys) = &specific
            && let Some(iterations) = &keys.iterations
        {
            // The fewest requests an iteration makes: one, or the shortest flow that runs.
            let per_iteration = plan
                .flows
                .iter()
                .filter(|f| f.weight > 0)
                .map(|f| f.steps.len() as u64)
                .min()
                .unwrap_or(1);
            let users = keys.users.as_ref().map_or(1, |u| u.0);
            self.warn_swallowed(&keys.warmup, users, u64::from(iterations.0), per_iteration);
        }
        plan.steps = match specific {
            Specific::Smoke(keys) => self.smoke(keys),
            Specific::Capacity(keys) => {
                if let Some(stop) = &keys.stop_when {
                    plan.stop_when = self.metric_conditions(stop, "stop-when");
                }
                if let Some(levels) = &keys.knee {
                    plan.knee_levels = self.metric_conditions(levels, "knee");
                }
                if let Some(factor) = &keys.ceiling_factor {
                    if factor.value > 0.0 && factor.value <= 1.0 {
                        plan.ceiling_factor = factor.value;
                    } else {
                        self.sink.error(
                            factor.span.clone(),
                            format!(
                                "`ceiling-factor` must be above 0 and at most 1, not {}",
                                factor.value
                            ),
                        );
                    }
                }
                self.capacity(keys)
            }
            Specific::Throughput(keys) => self.throughput(keys),
            Specific::Burst(keys) => self.burst(keys),
            Specific::Soak(keys) => {
                // A soak's `interval` is its time-series bucket; snapshots stay at their default.
                plan.interval = Duration::from_secs(1);
                plan.series_interval = match &common.interval {
                    Some(interval) => interval.0.max(Duration::from_millis(1)),
                    None => SOAK_SERIES_INTERVAL,
                };
                if let Some(drift) = &keys.drift {
                    plan.drift = Some(self.drift(drift));
                }
                self.soak(keys)
            }
            Specific::Stages(keys) => self.stages(keys),
        };
        if let Some(Warmup::Requests(count)) = warmup.map(|w| w.value) {
            let steps = if first_only { 1 } else { plan.steps.len() };
            plan.warmup_requests = vec![count; steps.min(plan.steps.len())];
        }
        self.run_length(plan, run_span);
    }

    /// Reports a missing required key of this kind.
    fn required<T>(&mut self, value: &Option<T>, key: &str, kind: &str, example: &str) -> bool {
        if value.is_none() {
            self.sink.file_error(
                format!("missing key `{key}`: a {kind} scenario needs it"),
                Some(example.to_owned()),
            );
        }
        value.is_some()
    }

    /// `ramp` and `warmup` happen inside `hold`, so neither may be longer.
    pub(super) fn within(
        &mut self,
        value: &D,
        key: &str,
        hold: Duration,
        hold_key: &str,
    ) -> Duration {
        let Some(value) = value else {
            return Duration::ZERO;
        };
        if value.0 > hold {
            self.sink.hint(
                value.span.clone(),
                format!(
                    "`{key}` ({}) is longer than `{hold_key}` ({})",
                    humantime::format_duration(value.0),
                    humantime::format_duration(hold)
                ),
                format!("the {key} happens inside `{hold_key}`; make `{hold_key}` longer or `{key}` shorter"),
            );
        }
        value.0
    }

    /// A step's ramp time for `users` users: a time as given, or users over a rate; either way
    /// inside `hold` (see [`Self::within`]).
    pub(super) fn ramp(
        &mut self,
        value: &Option<Spanned<Ramp>>,
        users: u32,
        key: &str,
        hold: Duration,
        hold_key: &str,
    ) -> Duration {
        let time = value
            .as_ref()
            .map(|v| Spanned::new(v.span.clone(), Dur(v.value.time_for(users))));
        self.within(&time, key, hold, hold_key)
    }

    fn hold(&mut self, value: &D, key: &str, kind: &str) -> Duration {
        if !self.required(value, key, kind, &format!("{key} = \"5m\"")) {
            return Duration::from_secs(1);
        }
        let value = value.as_ref().map(|v| (v.span.clone(), v.0));
        match value {
            Some((span, d)) if d.is_zero() => {
                self.sink
                    .error(span, format!("`{key}` must be longer than zero"));
                Duration::from_secs(1)
            }
            Some((_, d)) => d,
            None => Duration::from_secs(1),
        }
    }

    fn smoke(&mut self, keys: SmokeKeys) -> Vec<Step> {
        self.required(&keys.users, "users", "smoke", "users = 10");
        let users = keys.users.as_ref().map_or(1, |u| u.0);
        let hold = match (&keys.duration, &keys.iterations) {
            (Some(_), _) => self.hold(&keys.duration, "duration", "smoke"),
            (None, Some(_)) => SMOKE_ITERATIONS_BOUND,
            (None, None) => {
                self.sink.file_error(
                    "missing key `duration`: a smoke scenario needs it (or `iterations`)",
                    Some("duration = \"30s\", or iterations = 100 per user".into()),
                );
                Duration::from_secs(1)
            }
        };
        let mut step = step(format!("{users} users"), Load::Closed { users }, hold);
        step.ramp = self.ramp(&keys.ramp, users, "ramp", hold, "duration");
        step.ramp_down = self.within(&keys.ramp_down, "ramp-down", hold, "duration");
        step.warmup = self.warmup(&keys.warmup, hold, "duration").0;
        step.iterations_per_user = keys.iterations.as_ref().map(|i| u64::from(i.0));
        vec![step]
    }

    fn capacity(&mut self, keys: CapacityKeys) -> Vec<Step> {
        self.required(&keys.users, "users", "capacity", "users = [50, 100, 200]");
        let hold = self.hold(&keys.hold, "hold", "capacity");
        let ramp_down = self.within(&keys.ramp_down, "ramp-down", hold, "hold");
        let warmup = self.warmup(&keys.warmup, hold, "hold").0;
        let counts: Vec<u32> = keys
            .users
            .as_ref()
            .map(|u| u.iter().map(|c| c.0).collect())
            .unwrap_or_default();
        if let Some(users) = keys.users.as_ref().filter(|u| u.is_empty()) {
            self.sink.hint(
                users.span.clone(),
                "`users` is empty",
                "users = [50, 100, 200]: one step per count",
            );
        }
        let cooldown = dur(&keys.cooldown);
        let mut steps: Vec<Step> = counts
            .iter()
            .map(|&users| {
                let mut s = step(format!("{users} users"), Load::Closed { users }, hold);
                s.ramp = self.ramp(&keys.ramp, users, "ramp", hold, "hold");
                s.ramp_down = ramp_down;
                s.warmup = warmup;
                s.cooldown = cooldown;
                s
            })
            .collect();
        if let Some(last) = steps.last_mut() {
            last.cooldown = Duration::ZERO;
        }
        steps
    }

    fn open(
        &mut self,
        rate: f64,
        max_users: &Option<Spanned<Count>>,
        max_backlog: &Option<Spanned<Count>>,
    ) -> Load {
        Load::Open {
            rate_per_s: rate,
            max_users: max_users.as_ref().map_or(DEFAULT_MAX_USERS, |m| m.0),
            max_backlog: max_backlog.as_ref().map_or(DEFAULT_MAX_BACKLOG, |m| m.0),
        }
    }

    fn throughput(&mut self, keys: ThroughputKeys) -> Vec<Step> {
        let hold = self.hold(&keys.hold, "hold", "throughput");
        let warmup = self.warmup(&keys.warmup, hold, "hold").0;
        let cooldown = dur(&keys.cooldown);
        let mut steps = Vec::new();
        match (&keys.rates, &keys.users) {
            (Some(rates), None) => {
                if rates.is_empty() {
                    self.sink.hint(rates.span.clone(), "`rates` is empty", "rates = [100, 200, 400]: one step per rate");
                }
                if let Some(ramp) = &keys.ramp {
                    self.sink.hint(ramp.span.clone(), "`ramp` applies to `users`; an open model starts at its rate", "remove `ramp`, or sweep think times with `users` and `think`");
                }
                if let Some(think) = &keys.think {
                    self.sink.hint(think.span.clone(), "`think` sweeps go with `users`, not `rates`", "keep `rates`, or use `users` with `think`");
                }
                for rate in rates.iter() {
                    let load = self.open(rate.0, &keys.max_users, &keys.max_backlog);
                    steps.push(step(rate_label(rate.0), load, hold));
                }
            }
            (None, Some(users)) => {
                let users = users.0;
                let ramp = self.within(&keys.ramp, "ramp", hold, "hold");
                for key in [&keys.max_users, &keys.max_backlog].into_iter().flatten() {
                    self.sink.error(key.span.clone(), "`max-users` and `max-backlog` apply to `rates`, not `users`");
                }
                let Some(thinks) = &keys.think else {
                    self.sink.file_error(
                        "missing key `think`: a throughput scenario with `users` sweeps think times",
                        Some("think = [\"30s\", \"20s\", \"10s\"], one step each; or use rates = [100, 200]".into()),
                    );
                    return Vec::new();
                };
                if thinks.is_empty() {
                    self.sink.error(thinks.span.clone(), "`think` is empty");
                }
                for text in thinks.iter() {
                    let think = self.think(text);
                    let label = match think {
                        Think::None => "no think".to_owned(),
                        _ => format!("think {}", text.trim()),
                    };
                    let mut s = step(label, Load::Closed { users }, hold);
                    s.ramp = ramp;
                    s.think = Some(think);
                    steps.push(s);
                }
            }
            (Some(_), Some(users)) => {
                self.sink.hint(users.span.clone(), "a throughput scenario takes `rates` or `users`, not both", "rates = [..] is an open model; users = N with think = [..] a closed one");
            }
            (None, None) => self.sink.file_error(
                "missing key `rates`: a throughput scenario needs `rates` (or `users` with `think`)",
                Some("rates = [100, 200, 400]".into()),
            ),
        }
        for s in &mut steps {
            s.warmup = warmup;
            s.cooldown = cooldown;
        }
        if let Some(last) = steps.last_mut() {
            last.cooldown = Duration::ZERO;
        }
        steps
    }

    /// `users` or `rate`: the load of a baseline.
    fn baseline(
        &mut self,
        users: &Option<Spanned<Count>>,
        rate: &Option<Spanned<Positive>>,
        kind: &str,
        max_users: &Option<Spanned<Count>>,
        max_backlog: &Option<Spanned<Count>>,
    ) -> Load {
        match (users, rate) {
            (Some(users), None) => {
                for key in [max_users, max_backlog].into_iter().flatten() {
                    self.sink.error(
                        key.span.clone(),
                        "`max-users` and `max-backlog` apply to a `rate`, not `users`",
                    );
                }
                Load::Closed { users: users.0 }
            }
            (None, Some(rate)) => self.open(rate.0, max_users, max_backlog),
            (Some(_), Some(rate)) => {
                self.sink.hint(
                    rate.span.clone(),
                    format!("a {kind} scenario takes `users` or `rate`, not both"),
                    "users = N is a closed model; rate = R an open one",
                );
                Load::Closed { users: 1 }
            }
            (None, None) => {
                self.sink.file_error(
                    format!("missing key `users`: a {kind} scenario needs `users` (or `rate`)"),
                    Some("users = 50".into()),
                );
                Load::Closed { users: 1 }
            }
        }
    }

    fn burst(&mut self, keys: BurstKeys) -> Vec<Step> {
        let baseline = self.baseline(
            &keys.users,
            &keys.rate,
            "burst",
            &keys.max_users,
            &keys.max_backlog,
        );
        let before = self.hold(&keys.before, "before", "burst");
        let burst_for = self.hold(&keys.burst_for, "burst-for", "burst");
        let after = self.hold(&keys.after, "after", "burst");
        let ramp = self.ramp(&keys.ramp, baseline.max_users(), "ramp", before, "before");
        let warmup = self.warmup(&keys.warmup, before, "before").0;
        let burst = match (&keys.burst_users, &keys.burst_rate, &keys.burst_requests) {
            (Some(users), None, None) => Load::Closed { users: users.0 },
            (None, Some(rate), None) => self.open(rate.0, &keys.max_users, &keys.max_backlog),
            (None, None, Some(requests)) => Load::Burst {
                requests: requests.0,
            },
            (None, None, None) => {
                self.sink.file_error(
                    "missing key `burst-users`: a burst scenario needs `burst-users`, `burst-rate` or `burst-requests`",
                    Some("burst-users = 250, or burst-requests = 50 fired at once".into()),
                );
                Load::Burst { requests: 1 }
            }
            (users, rate, requests) => {
                let span = [
                    users.as_ref().map(|s| s.span.clone()),
                    rate.as_ref().map(|s| s.span.clone()),
                    requests.as_ref().map(|s| s.span.clone()),
                ]
                .into_iter()
                .flatten()
                .max_by_key(|s| s.start)
                .unwrap_or(0..0);
                self.sink.error(
                    span,
                    "give one of `burst-users`, `burst-rate` and `burst-requests`",
                );
                Load::Burst { requests: 1 }
            }
        };
        let mut first = step("before".into(), baseline.clone(), before);
        first.ramp = ramp;
        first.warmup = warmup;
        let mut burst_step = step("burst".into(), burst, burst_for);
        if let Some(burst_ramp) = &keys.burst_ramp {
            match burst_step.load {
                Load::Closed { users } => {
                    burst_step.ramp = self.ramp(
                        &keys.burst_ramp,
                        users,
                        "burst-ramp",
                        burst_for,
                        "burst-for",
                    );
                }
                _ => self.sink.hint(
                    burst_ramp.span.clone(),
                    "`burst-ramp` brings users up: it needs `burst-users`",
                    "burst-users = 250 with burst-ramp = \"25/s\"",
                ),
            }
        }
        vec![first, burst_step, step("recovery".into(), baseline, after)]
    }

    fn soak(&mut self, keys: SoakKeys) -> Vec<Step> {
        let load = self.baseline(
            &keys.users,
            &keys.rate,
            "soak",
            &keys.max_users,
            &keys.max_backlog,
        );
        let hold = self.hold(&keys.duration, "duration", "soak");
        let label = match load {
            Load::Closed { users } => format!("{users} users"),
            Load::Open { rate_per_s, .. } => rate_label(rate_per_s),
            Load::Burst { requests } => format!("{requests} at once"),
        };
        let mut s = step(label, load, hold);
        s.ramp = self.within(&keys.ramp, "ramp", hold, "duration");
        s.ramp_down = self.within(&keys.ramp_down, "ramp-down", hold, "duration");
        s.warmup = self.warmup(&keys.warmup, hold, "duration").0;
        vec![s]
    }
}
