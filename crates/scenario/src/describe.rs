//! `stampede plan`: a plan as text, steps with absolute offsets and the total time.
//!
//! Secrets never appear: a secret header, a template holding an `${env:..}` value and an HMAC
//! key all print as `<redacted>`.

use std::fmt::Write as _;
use std::time::Duration;

use stampede_metrics::format;
use stampede_plan::template::{Part, Template, Var};
use stampede_plan::{
    BaseUrl, Check, Load, Monitor, MonitorLimit, MonitorProcess, Plan, Scope, StatusSet, Think,
    Threshold,
};

const REDACTED: &str = "<redacted>";

fn d(duration: Duration) -> String {
    if duration.is_zero() {
        "0s".to_owned()
    } else {
        humantime::format_duration(duration).to_string()
    }
}

/// "pid 1234, cpu warn 70% stop 80%, rss stop 1.8 GB".
fn describe_monitor(monitor: &Monitor) -> String {
    let mut parts = Vec::new();
    match &monitor.process {
        Some(MonitorProcess::Pid(pid)) => parts.push(format!("pid {pid}")),
        Some(MonitorProcess::PidFile(path)) => parts.push(format!("pid from {}", path.display())),
        None => {}
    }
    if let Some(metrics) = &monitor.metrics {
        // A query may hold a token, and this text is kept with the results.
        let url = metrics.url();
        match url.split_once('?') {
            Some((bare, _)) => parts.push(format!("scrape {bare}?...")),
            None => parts.push(format!("scrape {url}")),
        }
    }
    if parts.is_empty() {
        parts.push("the target".to_owned());
    }
    let limit = |name: &str, limit: &MonitorLimit, show: &dyn Fn(f64) -> String| {
        let levels: Vec<String> = [("warn", limit.warn), ("stop", limit.stop)]
            .into_iter()
            .filter_map(|(level, value)| value.map(|v| format!("{level} {}", show(v))))
            .collect();
        (!levels.is_empty()).then(|| format!("{name} {}", levels.join(" ")))
    };
    parts.extend(limit("cpu", &monitor.cpu_percent, &|v| format!("{v}%")));
    parts.extend(limit("rss", &monitor.rss_bytes, &format::bytes));
    parts.join(", ")
}

/// The plan as text for `stampede plan`.
/// How a capacity plan finds its knee, in the words every output uses: `heuristic`, or
/// `your levels: p95 > 300 ms or error-rate > 1%`.
fn knee_rule(levels: &[(stampede_plan::Metric, stampede_plan::Condition)]) -> String {
    if levels.is_empty() {
        return "heuristic (p95 against the first step, error rate, throughput growth)".to_owned();
    }
    let rules: Vec<String> = levels.iter().map(|(m, c)| format::rule(*m, c)).collect();
    format!("your levels: first step where {}", rules.join(" or "))
}

pub fn describe(plan: &Plan) -> String {
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = Describer(plan).write_description(&mut out);
    out
}

/// A plan being described: its fields read through `Deref`.
struct Describer<'a>(&'a Plan);

impl std::ops::Deref for Describer<'_> {
    type Target = Plan;
    fn deref(&self) -> &Plan {
        self.0
    }
}

impl Describer<'_> {
    fn write_description(&self, out: &mut String) -> std::fmt::Result {
        writeln!(out, "scenario  {} ({})", self.name, self.kind.as_str())?;
        if !self.description.is_empty() {
            writeln!(out, "about     {}", self.description)?;
        }
        let target = match &self.base_url {
            BaseUrl::Builtin => "builtin (the embedded demo target)".to_owned(),
            BaseUrl::Http(base) => base.url_for(self.tls.is_some()),
        };
        writeln!(out, "target    {target}")?;
        if let Some(tls) = &self.tls {
            let trust = match (&tls.ca_pem, tls.insecure) {
                (_, true) => "no certificate check (insecure)",
                (Some(_), false) => "trusts the ca-file",
                (None, false) => "trusts the system's roots",
            };
            let client = if tls.client.is_some() {
                ", client certificate"
            } else {
                ""
            };
            let name = tls
                .server_name
                .as_deref()
                .map(|n| format!(", server name {n}"))
                .unwrap_or_default();
            writeln!(out, "tls       {trust}{client}{name}")?;
        }
        if self.http != stampede_plan::HttpVersion::Auto {
            writeln!(out, "http      {}", self.http.as_str())?;
        }
        let series = if self.series_interval != self.interval {
            format!(", time series every {}", d(self.series_interval))
        } else {
            String::new()
        };
        writeln!(
            out,
            "timing    snapshots every {}{series}, grace {}, connect timeout {}",
            d(self.interval),
            d(self.grace),
            d(self.connect_timeout)
        )?;
        for monitor in &self.monitors {
            let name = monitor
                .name
                .as_ref()
                .map_or(String::new(), |name| format!("{name}: "));
            writeln!(out, "monitor   {name}{}", describe_monitor(monitor))?;
        }
        if let Some(data) = &self.data {
            writeln!(
                out,
                "data      {} ({} rows, {}; columns {})",
                data.file,
                data.rows.len(),
                data.mode.as_str(),
                data.columns.join(", ")
            )?;
        }

        writeln!(
            out,
            "\nrequests{}",
            if self.flows.is_empty() {
                " (picked by weight)"
            } else {
                ""
            }
        )?;
        let width = self
            .requests
            .iter()
            .map(|r| r.name.len())
            .max()
            .unwrap_or(0);
        for (id, request) in self.requests.iter().enumerate() {
            let mut line = format!("{} {}", request.method, self.template(&request.path));
            for (i, (key, value)) in request.query.iter().enumerate() {
                let sep = if i == 0 && !line.contains('?') {
                    '?'
                } else {
                    '&'
                };
                let _ = write!(line, "{sep}{key}={}", self.template(value));
            }
            let mut notes = Vec::new();
            if self.flows.is_empty() {
                notes.push(format!("weight {}", request.weight));
            }
            match request.think {
                Think::None => {}
                think => notes.push(format!("think {}", think_text(think))),
            }
            notes.push(format!("timeout {}", d(request.timeout)));
            if request.expect != StatusSet::success() {
                notes.push(format!("expect {}", statuses(&request.expect)));
            }
            writeln!(
                out,
                "  {:<width$}  {line}  ({})",
                request.name,
                notes.join(", ")
            )?;
            let pad = " ".repeat(width + 4);
            for header in &request.headers {
                let value = if header.secret {
                    REDACTED.to_owned()
                } else {
                    self.template(&header.value)
                };
                writeln!(out, "{pad}{}: {value}", header.name)?;
            }
            if let Some(body) = &request.body {
                writeln!(out, "{pad}body: {}", self.template(body))?;
            }
            if let Some(sign) = &request.sign {
                writeln!(
                    out,
                    "{pad}signed: {}: {}<hmac-sha256 of the body, key {REDACTED}>",
                    sign.header, sign.prefix
                )?;
            }
            let options = self.options_for(id);
            for (index, check) in request.checks.iter().enumerate() {
                let named = options.checks.get(index);
                let name = named.map_or_else(|| check_text(check), |o| o.name.clone());
                let fails = if named.is_some_and(|o| o.fail_request) {
                    ", fails the request"
                } else {
                    ""
                };
                let what = check_text(check);
                if name == what {
                    writeln!(out, "{pad}check: {what}{fails}")?;
                } else {
                    writeln!(out, "{pad}check `{name}`: {what}{fails}")?;
                }
            }
            if let stampede_plan::On429::Backoff { max } = options.on_429 {
                writeln!(
                    out,
                    "{pad}on 429: back off for Retry-After, at most {}",
                    d(max)
                )?;
            }
            for capture in &request.captures {
                let from = match &capture.from {
                    stampede_plan::CaptureFrom::JsonPointer(pointer) => format!("json:{pointer}"),
                    stampede_plan::CaptureFrom::Header(name) => format!("header:{name}"),
                };
                let name = self.captures.get(capture.slot).map_or("?", String::as_str);
                writeln!(out, "{pad}capture: {name} <- {from}")?;
            }
        }
        if !self.setup.is_empty() {
            writeln!(out, "\nsetup (once per user): {}", self.names(&self.setup))?;
        }
        if !self.flows.is_empty() {
            writeln!(out, "\nflows (picked by weight)")?;
            for flow in &self.flows {
                writeln!(
                    out,
                    "  {}  weight {}: {}",
                    flow.name,
                    flow.weight,
                    self.names(&flow.steps)
                )?;
            }
        }
        self.write_streams(out)?;

        writeln!(out, "\nsteps")?;
        for (i, (step, at)) in self.steps.iter().zip(self.step_offsets()).enumerate() {
            let load = match step.load {
                Load::Closed { users } => format!("{users} users"),
                Load::Open {
                    rate_per_s,
                    max_users,
                    max_backlog,
                } => {
                    format!(
                        "{rate_per_s} iterations/s (at most {max_users} users, backlog {max_backlog})"
                    )
                }
                Load::Burst { requests } => format!("{requests} iterations at once"),
            };
            let mut notes = vec![format!("hold {}", d(step.hold))];
            if !step.ramp.is_zero() {
                notes.push(match step.ramp_from {
                    0 => format!("ramp {}", d(step.ramp)),
                    from => format!("ramp {} from {from} users", d(step.ramp)),
                });
            }
            if !step.warmup.is_zero() {
                notes.push(format!("warm-up {}", d(step.warmup)));
            }
            match self.warmup_requests(i) {
                0 => {}
                n => notes.push(format!("warm-up the first {n} requests")),
            }
            if let Some(think) = step.think {
                notes.push(format!("think {}", think_text(think)));
            }
            if let Some(n) = step.iterations_per_user {
                notes.push(format!("{n} iterations per user"));
            }
            writeln!(
                out,
                "  {:>2}. at {:<10} {:<12} {load}; {}",
                i + 1,
                d(at),
                step.label,
                notes.join(", ")
            )?;
            if !step.cooldown.is_zero() {
                writeln!(
                    out,
                    "      at {:<10} cooldown {}",
                    d(at + step.hold),
                    d(step.cooldown)
                )?;
            }
        }
        writeln!(out, "total     {}", d(self.total_duration()))?;

        if !self.thresholds.is_empty() {
            writeln!(out, "\nthresholds")?;
            for threshold in &self.thresholds {
                writeln!(out, "  {}", self.threshold_text(threshold))?;
            }
        }
        if !self.stop_when.is_empty() {
            let rules: Vec<String> = self
                .stop_when
                .iter()
                .map(|(m, c)| format::rule(*m, c))
                .collect();
            writeln!(out, "\nstop when {}", rules.join(" or "))?;
        }
        if self.kind == stampede_plan::Kind::Capacity {
            writeln!(out, "knee      {}", knee_rule(&self.knee_levels))?;
            writeln!(out, "ceiling   knee x {}", self.ceiling_factor)?;
        }
        if let Some(drift) = &self.drift {
            let mut rules = Vec::new();
            if let Some(g) = drift.p95_growth {
                rules.push(format!("p95 grows more than {}%", g * 100.0));
            }
            if let Some(g) = drift.error_rate_growth {
                rules.push(format!("error rate rises more than {} points", g * 100.0));
            }
            writeln!(out, "drift     fail if {}", rules.join(" or "))?;
        }
        Ok(())
    }

    fn names(&self, ids: &[usize]) -> String {
        ids.iter()
            .map(|&id| self.requests.get(id).map_or("?", |r| r.name.as_str()))
            .collect::<Vec<_>>()
            .join(" -> ")
    }

    /// A template as written, with secrets redacted.
    fn template(&self, template: &Template) -> String {
        if template.is_secret() {
            return REDACTED.to_owned();
        }
        let mut text = String::new();
        for part in template.parts() {
            match part {
                Part::Lit(lit) => text.push_str(&lit.replace("${", "$${")),
                Part::Var(var) | Part::JsonVar(var) => {
                    let name = match var {
                        Var::Uuid => "uuid".to_owned(),
                        Var::Seq => "seq".to_owned(),
                        Var::RunSeq => "run_seq".to_owned(),
                        Var::Vu => "vu".to_owned(),
                        Var::Iteration => "iteration".to_owned(),
                        Var::NowMs => "now_ms".to_owned(),
                        Var::Pair => "pair".to_owned(),
                        Var::Partner => "partner".to_owned(),
                        Var::MsgId => "msg_id".to_owned(),
                        Var::Rand { lo, hi } => format!("rand:{lo}..{hi}"),
                        Var::Data(column) => {
                            let name = self.data.as_ref().and_then(|d| d.columns.get(*column));
                            format!("data.{}", name.map_or("?", String::as_str))
                        }
                        Var::Capture(slot) => self
                            .captures
                            .get(*slot)
                            .cloned()
                            .unwrap_or_else(|| "?".into()),
                    };
                    let _ = write!(text, "${{{name}}}");
                }
            }
        }
        text
    }

    /// The streams every user holds, headers redacted as for requests.
    fn write_streams(&self, out: &mut String) -> std::fmt::Result {
        if self.streams.is_empty() {
            return Ok(());
        }
        writeln!(
            out,
            "\nstreams (held by every user, each on its own connection)"
        )?;
        for stream in &self.streams {
            let hold = stream.hold.map_or_else(
                || "the whole step".to_owned(),
                |h| format!("{}, then re-open", d(h)),
            );
            let mut notes = vec![format!("hold {hold}")];
            if stream.pairs {
                notes.push(format!(
                    "pairs users 2k and 2k+1, a message lost after {}",
                    d(stream.expect_within)
                ));
            }
            if let Some(send) = &stream.send {
                notes.push(format!(
                    "sends {} every {}, an echo lost after {}",
                    self.template(&send.body),
                    d(send.every),
                    d(stream.expect_within)
                ));
            }
            writeln!(
                out,
                "  {}  {} {}  ({})",
                stream.name,
                stream.kind.as_str(),
                self.template(&stream.path),
                notes.join(", ")
            )?;
            for header in &stream.headers {
                let value = if header.secret {
                    REDACTED.to_owned()
                } else {
                    self.template(&header.value)
                };
                writeln!(out, "    {}: {value}", header.name)?;
            }
        }
        Ok(())
    }

    fn threshold_text(&self, threshold: &Threshold) -> String {
        let metric = threshold.metric;
        let mut text = format::rule(metric, &threshold.condition);
        if let Some(warn) = threshold.warn {
            let _ = write!(text, " (warn unless {})", format::condition(metric, &warn));
        }
        match threshold.scope {
            Scope::Run => text.push_str(", whole run"),
            Scope::PerStep => text.push_str(", each step"),
            Scope::Request(id) => {
                let _ = write!(
                    text,
                    ", request `{}`",
                    self.requests.get(id).map_or("?", |r| r.name.as_str())
                );
            }
            Scope::Stream(index) => {
                let _ = write!(
                    text,
                    ", stream `{}`",
                    self.streams.get(index).map_or("?", |s| s.name.as_str())
                );
            }
        }
        if let Some(live) = threshold.live {
            let _ = write!(text, ", live over {} windows", d(live.window));
            text.push_str(if live.abort {
                ", aborts the run"
            } else {
                ", warns while running"
            });
        }
        text
    }
}

fn think_text(think: Think) -> String {
    match think {
        Think::None => "none".into(),
        Think::Fixed(t) => d(t),
        Think::Range(lo, hi) => format!("{}..{}", d(lo), d(hi)),
    }
}

/// `2xx, 301, 404`: whole classes folded.
pub(crate) fn statuses(set: &StatusSet) -> String {
    let mut parts = Vec::new();
    for class in 1..=5u16 {
        let codes: Vec<u16> = (class * 100..class * 100 + 100)
            .filter(|&c| set.contains(c))
            .collect();
        if codes.len() == 100 {
            parts.push(format!("{class}xx"));
        } else {
            parts.extend(codes.iter().map(u16::to_string));
        }
    }
    parts.join(", ")
}

/// What a check checks, in words: also a check's default name in results.
pub(crate) fn check_text(check: &Check) -> String {
    match check {
        Check::Status(set) => format!("status in {}", statuses(set)),
        Check::MaxLatency(max) => format!("latency <= {}", d(*max)),
        Check::BodyContains(text) => format!("body contains {text:?}"),
        Check::Json { pointer, equals } => format!("json {pointer} == {equals}"),
    }
}
