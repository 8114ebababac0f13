//! `[thresholds]`, `stop-when` and `drift`: condition strings parsed into numbers.
//!
//! Latencies become milliseconds and percentages fractions, so the reporter compares plain
//! numbers and never parses text.

use std::ops::Range;

use crate::file::{DriftFile, MetricConditions, ThresholdValue, ThresholdsFile};
use crate::spanned::Spanned;
use crate::types::parse_duration;
use stampede_plan::{Condition, Drift, LiveRule, Metric, Op, Plan, Scope, Stream, Threshold, Unit};

use super::Lowerer;

/// Parses `"< 500ms"` for `metric`: latencies need a unit, rates a `%`, rps a plain number.
pub(crate) fn parse_condition(text: &str, metric: Metric) -> Result<Condition, String> {
    let trimmed = text.trim();
    let (op, rest) = if let Some(rest) = trimmed.strip_prefix("==") {
        (Op::Eq, rest)
    } else if let Some(rest) = trimmed.strip_prefix("<=") {
        (Op::Le, rest)
    } else if let Some(rest) = trimmed.strip_prefix(">=") {
        (Op::Ge, rest)
    } else if let Some(rest) = trimmed.strip_prefix('<') {
        (Op::Lt, rest)
    } else if let Some(rest) = trimmed.strip_prefix('>') {
        (Op::Gt, rest)
    } else {
        return Err(format!(
            "invalid condition \"{text}\": it must start with <, <=, >, >= or =="
        ));
    };
    let rest = rest.trim();
    let value = match metric.unit() {
        Unit::Millis => {
            if rest.parse::<f64>().is_ok() {
                return Err(format!(
                    "invalid condition \"{text}\": a latency needs a unit, like \"< {rest}ms\""
                ));
            }
            Unit::millis_of(
                parse_duration(rest)
                    .map_err(|why| format!("invalid condition \"{text}\": {why}"))?,
            )
        }
        // CPU is in percent of one core: 250% is two and a half cores busy.
        Unit::Fraction if metric.is_monitor() => super::monitor::parse_cpu(rest)
            .map(|percent| percent / 100.0)
            .map_err(|_| {
                format!("invalid condition \"{text}\": expected a CPU share like \"> 70%\"")
            })?,
        Unit::Fraction => {
            percentage(rest).map_err(|why| format!("invalid condition \"{text}\": {why}"))?
        }
        Unit::PerSecond => rest
            .trim_end_matches("/s")
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v >= 0.0)
            .ok_or_else(|| {
                format!(
                    "invalid condition \"{text}\": expected requests per second, like \"> 100\""
                )
            })?,
        Unit::Count => rest
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v >= 0.0)
            .ok_or_else(|| {
                format!("invalid condition \"{text}\": expected a count, like \"== 0\"")
            })?,
        Unit::MbPerHour => parse_mb_per_hour(rest).ok_or_else(|| {
            format!("invalid condition \"{text}\": expected a size per hour, like \"< 10MB/h\"")
        })?,
    };
    Ok(Condition { op, value })
}

/// `"1.5%"` -> 0.015.
pub(crate) fn percentage(text: &str) -> Result<f64, String> {
    let number = text
        .trim()
        .strip_suffix('%')
        .ok_or_else(|| format!("expected a percentage like \"1%\", not \"{text}\""))?;
    number
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && (0.0..=100.0).contains(v))
        .map(|v| v / 100.0)
        .ok_or_else(|| format!("expected a percentage from 0% to 100%, not \"{text}\""))
}

fn example(metric: Metric) -> String {
    match metric {
        Metric::ErrorRate => "error-rate = \"< 1%\"".into(),
        Metric::Checks => "checks = \"> 99%\"".into(),
        Metric::RateLimited => "rate-limited = \"< 5%\"".into(),
        Metric::TargetCpu => "target-cpu = \"< 70%\"".into(),
        Metric::Rps | Metric::SuccessRps => format!("{} = \"> 100\"", metric.name()),
        latency => format!("{} = \"< 500ms\"", latency.name()),
    }
}

impl Lowerer<'_> {
    fn condition(&mut self, text: &Spanned<String>, metric: Metric) -> Option<Condition> {
        match parse_condition(&text.value, metric) {
            Ok(condition) => Some(condition),
            Err(message) => {
                self.sink.hint(text.span.clone(), message, example(metric));
                None
            }
        }
    }

    pub(super) fn thresholds(
        &mut self,
        file: &ThresholdsFile,
        streams: &[Stream],
    ) -> Vec<Threshold> {
        let per_step = file.per_step.as_ref().is_some_and(|p| p.value);
        let scope = if per_step { Scope::PerStep } else { Scope::Run };
        let mut out = Vec::new();
        self.condition_set(file.entries(), scope, &mut out);
        if let Some(tables) = &file.stream {
            for (name, conditions) in &tables.0 {
                let span = self.key_span(name, &conditions.span);
                let Some(index) = streams.iter().position(|s| &s.name == name) else {
                    let known: Vec<&str> = streams.iter().map(|s| s.name.as_str()).collect();
                    self.sink.hint(
                        span,
                        format!("no stream named `{name}` in [thresholds.stream]"),
                        format!(
                            "streams: {}",
                            if known.is_empty() {
                                "none".to_owned()
                            } else {
                                known.join(", ")
                            }
                        ),
                    );
                    continue;
                };
                let entries = conditions.entries();
                for (_, value) in &entries {
                    if let ThresholdValue::Full(table) = &value.value
                        && let Some(window) = &table.window
                    {
                        self.sink.hint(
                            window.span.clone(),
                            "stream thresholds are judged at the end of the run, not in a window",
                            "drop `window` and `abort`",
                        );
                    }
                }
                self.condition_set(entries, Scope::Stream(index), &mut out);
            }
        }
        if let Some(requests) = &file.request {
            for (name, conditions) in &requests.0 {
                match self.request_index(name) {
                    Some(id) => {
                        let span = self.key_span(name, &conditions.span);
                        self.request_thresholds.push((id, span));
                        self.condition_set(conditions.entries(), Scope::Request(id), &mut out);
                    }
                    None => {
                        let span = self.key_span(name, &conditions.span);
                        self.unknown_request(
                            &Spanned::new(span, name.clone()),
                            "[thresholds.request]",
                        );
                    }
                }
            }
        }
        out
    }

    /// Points at the quoted key of `[thresholds.request."name"]` when it can be found near the
    /// table, else at the table.
    fn key_span(&self, name: &str, table: &Range<usize>) -> Range<usize> {
        let window_start = self.source[..table.start.min(self.source.len())]
            .rfind('[')
            .map_or(table.start, |i| i);
        for quoted in [format!("\"{name}\""), format!("'{name}'"), name.to_owned()] {
            if let Some(at) = self
                .source
                .get(window_start..)
                .and_then(|s| s.find(&quoted))
            {
                let start = window_start + at;
                if start <= table.end {
                    return start..start + quoted.len();
                }
            }
        }
        table.clone()
    }

    fn condition_set(
        &mut self,
        conditions: Vec<(Metric, &Spanned<ThresholdValue>)>,
        scope: Scope,
        out: &mut Vec<Threshold>,
    ) {
        for (metric, value) in conditions {
            let key = metric.name();
            if metric.is_monitor() && !self.monitor_metric_fits(metric, value, scope) {
                continue;
            }
            let threshold = match &value.value {
                ThresholdValue::Simple(text) => self
                    .condition(&Spanned::new(value.span.clone(), text.clone()), metric)
                    .map(|condition| Threshold {
                        metric,
                        condition,
                        warn: None,
                        scope,
                        live: None,
                    }),
                ThresholdValue::Full(table) => {
                    let condition = match &table.limit {
                        Some(limit) => self.condition(limit, metric),
                        None => {
                            self.sink.hint(
                                value.span.clone(),
                                format!("threshold `{key}` has no `limit`"),
                                "{ limit = \"< 2s\", warn = \"< 1s\" }",
                            );
                            None
                        }
                    };
                    let warn = table.warn.as_ref().and_then(|w| self.condition(w, metric));
                    let window = table.window.as_ref().map(|w| self.positive(w, "window"));
                    let abort = table.abort.as_ref().is_some_and(|a| a.value);
                    if let (true, None, Some(a)) = (abort, window, &table.abort) {
                        self.sink.hint(
                            a.span.clone(),
                            "`abort` needs a `window` to judge while the run goes on",
                            "{ limit = \"< 2s\", window = \"30s\", abort = true }",
                        );
                    }
                    let live = window.map(|window| LiveRule { window, abort });
                    condition.map(|condition| Threshold {
                        metric,
                        condition,
                        warn,
                        scope,
                        live,
                    })
                }
            };
            out.extend(threshold);
        }
    }

    /// A monitor figure is judged over a step or the run, from the watched processes' samples:
    /// not for one request, and not over a window (the `[monitor]` limits do that live).
    fn monitor_metric_fits(
        &mut self,
        metric: Metric,
        value: &Spanned<ThresholdValue>,
        scope: Scope,
    ) -> bool {
        let key = metric.name();
        if !self.watched {
            self.sink.hint(
                value.span.clone(),
                format!("`{key}` reads the watched processes, and nothing is watched"),
                "add a [monitor] for the target: pid-file = \"/run/app.pid\" or metrics-url = \"http://127.0.0.1:9100/metrics\"",
            );
            return false;
        }
        if let Scope::Request(_) | Scope::Stream(_) = scope {
            self.sink.hint(
                value.span.clone(),
                format!("`{key}` is the watched processes' CPU, not one request's or stream's"),
                format!("put `{key}` in [thresholds] (the run, or each step with per-step = true)"),
            );
            return false;
        }
        if let ThresholdValue::Full(table) = &value.value
            && let Some(window) = &table.window
        {
            self.sink.hint(
                window.span.clone(),
                format!("`{key}` is judged for each step or the run, not over a window"),
                "for a live limit, give the monitor one: [monitor] cpu = { warn = \"70%\", stop = \"85%\" }",
            );
            return false;
        }
        true
    }

    /// Thresholds on a request that never runs in the steps would judge nothing ("no data").
    /// A request only in `[setup]` is the common case: setup is measured apart (once per
    /// user, a login), and a threshold on it is refused here rather than failing the run.
    pub(super) fn check_request_thresholds(&mut self, plan: &Plan) {
        for (id, span) in std::mem::take(&mut self.request_thresholds) {
            let runs = if plan.flows.is_empty() {
                plan.requests.get(id).is_some_and(|r| r.weight > 0)
            } else {
                plan.flows
                    .iter()
                    .any(|f| f.weight > 0 && f.steps.contains(&id))
            };
            if runs {
                continue;
            }
            let name = plan.requests.get(id).map_or("?", |r| r.name.as_str());
            if plan.setup.contains(&id) {
                self.sink.hint(
                    span,
                    format!(
                        "`{name}` runs only in [setup], which is measured apart: its thresholds \
                         would never be judged"
                    ),
                    format!(
                        "drop the threshold (setup figures are in the summary), or give `{name}` \
                         a weight or a place in a [[flow]] so that it runs in the steps too"
                    ),
                );
            } else {
                self.sink.hint(
                    span,
                    format!("`{name}` never runs in the steps (weight 0, in no flow): its thresholds would have no data"),
                    format!("give `{name}` a weight, or put it in a [[flow]]"),
                );
            }
        }
    }

    /// Capacity's `stop-when` and `knee`: plain conditions (no warning level, window or abort),
    /// saying when to stop or where the knee is. `table` names the key in messages.
    pub(super) fn metric_conditions(
        &mut self,
        conditions: &MetricConditions,
        table: &str,
    ) -> Vec<(Metric, Condition)> {
        let mut out = Vec::new();
        for (metric, value) in conditions.entries() {
            let key = metric.name();
            if metric.is_monitor() && !self.monitor_metric_fits(metric, value, Scope::Run) {
                continue;
            }
            match &value.value {
                ThresholdValue::Simple(text) => {
                    if let Some(condition) =
                        self.condition(&Spanned::new(value.span.clone(), text.clone()), metric)
                    {
                        out.push((metric, condition));
                    }
                }
                ThresholdValue::Full(_) => self.sink.hint(
                    value.span.clone(),
                    format!("`{table}.{key}` takes a condition"),
                    example(metric),
                ),
            }
        }
        out
    }

    pub(super) fn drift(&mut self, file: &DriftFile) -> Drift {
        let mut drift = Drift::default();
        for (value, slot) in [
            (&file.p95_growth, &mut drift.p95_growth),
            (&file.error_rate_growth, &mut drift.error_rate_growth),
        ] {
            if let Some(text) = value {
                let parsed = text
                    .trim()
                    .strip_suffix('%')
                    .and_then(|n| n.trim().parse::<f64>().ok())
                    .filter(|v| v.is_finite() && *v >= 0.0);
                match parsed {
                    Some(percent) => *slot = Some(percent / 100.0),
                    None => self.sink.hint(
                        text.span.clone(),
                        format!("invalid drift \"{}\": expected a percentage", text.value),
                        "p95-growth = \"20%\"",
                    ),
                }
            }
        }
        if let Some(text) = &file.min_change {
            match parse_duration(text.trim()) {
                Ok(d) => drift.min_change_ms = Some(Unit::millis_of(d)),
                Err(why) => self.sink.hint(
                    text.span.clone(),
                    format!("invalid min-change \"{}\": {why}", text.value),
                    "min-change = \"5ms\"",
                ),
            }
        }
        if let Some(text) = &file.target_rss_growth {
            match parse_mb_per_hour(&text.value) {
                Some(mb) => drift.target_rss_growth_mb_per_hour = Some(mb),
                None => self.sink.hint(
                    text.span.clone(),
                    format!(
                        "invalid target-rss-growth \"{}\": expected a size per hour",
                        text.value
                    ),
                    "target-rss-growth = \"< 10MB/h\"",
                ),
            }
        }
        drift
    }
}

/// `"< 10MB/h"`, `"10 MB/h"`, `"512kB/h"`: megabytes (10^6 bytes) per hour.
fn parse_mb_per_hour(text: &str) -> Option<f64> {
    let text = text.trim();
    let text = text
        .strip_prefix("<=")
        .or_else(|| text.strip_prefix('<'))
        .unwrap_or(text);
    let size = text.trim().strip_suffix("/h")?.trim();
    let split = size.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = size.split_at(split);
    let number: f64 = number
        .trim()
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite() && *v >= 0.0)?;
    let bytes = match unit.trim() {
        "B" => 1.0,
        "kB" | "KB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    Some(number * bytes / 1e6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_growth_reads_as_megabytes_per_hour() {
        assert_eq!(parse_mb_per_hour("< 10MB/h"), Some(10.0));
        assert_eq!(parse_mb_per_hour("512 kB/h"), Some(0.512));
        assert_eq!(parse_mb_per_hour("1GiB/h").map(|v| v.round()), Some(1074.0));
        assert_eq!(parse_mb_per_hour("10MB"), None);
        assert_eq!(parse_mb_per_hour("ten MB/h"), None);
    }

    #[test]
    fn conditions_in_plain_units() {
        assert_eq!(
            parse_condition("< 500ms", Metric::P95),
            Ok(Condition {
                op: Op::Lt,
                value: 500.0
            })
        );
        assert_eq!(
            parse_condition(">2s", Metric::P95),
            Ok(Condition {
                op: Op::Gt,
                value: 2000.0
            })
        );
        assert_eq!(
            parse_condition("<= 1%", Metric::ErrorRate),
            Ok(Condition {
                op: Op::Le,
                value: 0.01
            })
        );
        assert_eq!(
            parse_condition(">= 99.5%", Metric::Checks).map(|c| (c.value * 1000.0).round()),
            Ok(995.0)
        );
        assert_eq!(
            parse_condition("> 100", Metric::Rps),
            Ok(Condition {
                op: Op::Gt,
                value: 100.0
            })
        );
        assert!(parse_condition("500ms", Metric::P95).is_err());
        assert!(
            parse_condition("< 500", Metric::P95)
                .unwrap_err()
                .contains("needs a unit")
        );
        assert!(parse_condition("< 1", Metric::ErrorRate).is_err());
    }
}
