//! How the schema words things, for every rendering: interval-log tags for request names, what
//! failed (the `Error` column of failures.csv and the
//! report's failure table), and what the latency figures count from.

use stampede_metrics::format::{grouped, percent, short};
use stampede_metrics::{FailureKey, Figures, LatencyFrom, Outcome, PhasesMs};

use crate::summary::CheckResult;
use stampede_plan::{Check, StatusSet};

/// `HTTP 500`, `timeout`, `connection refused`, `check failed: body contains "ok"`: a check by
/// its name.
pub(crate) fn failure(key: FailureKey, checks: &[String]) -> String {
    match key {
        FailureKey::Status(code) => format!("HTTP {code}"),
        FailureKey::Transport(outcome) => transport(outcome).to_owned(),
        FailureKey::Check(index) => match checks.get(usize::from(index)) {
            Some(name) => format!("check failed: {name}"),
            None => format!("check {} failed", index + 1),
        },
    }
}

/// What the tables' latency counts from, in a sentence (without a full stop).
pub(crate) fn latency_basis(figures: &Figures) -> String {
    match (figures.latency_from, &figures.latency_sent_ms) {
        (LatencyFrom::Scheduled, Some(sent)) => format!(
            "latency in ms, from the scheduled send (coordinated omission corrected); from the \
             actual send p50 {} ms, p95 {} ms, p99 {} ms",
            short(sent.p50),
            short(sent.p95),
            short(sent.p99)
        ),
        _ => "latency in ms, from the actual send".to_owned(),
    }
}

/// Where requests' time went, at p95: `time spent, p95: connecting 0.21 ms (10 times), ...`;
/// `None` when no phase was recorded.
pub(crate) fn phases_line(phases: Option<&PhasesMs>) -> Option<String> {
    let phases = phases?;
    let parts: Vec<String> = [
        ("connecting", phases.connecting),
        ("TLS handshaking", phases.tls_handshaking),
        ("waiting", phases.waiting),
        ("receiving", phases.receiving),
    ]
    .into_iter()
    .filter_map(|(name, phase)| {
        phase.map(|p| format!("{name} {} ms ({}x)", short(p.p95), grouped(p.count)))
    })
    .collect();
    (!parts.is_empty()).then(|| format!("time spent, p95: {}", parts.join(", ")))
}

/// A check in one line: `health: status in 200 passed 62.5% (500 of 800); seen 429`.
pub(crate) fn check_line(check: &CheckResult) -> String {
    let mut line = format!(
        "{}: {} passed {} ({} of {})",
        check.request,
        check.name,
        percent(check.pass_rate),
        grouped(check.passed),
        grouped(check.passed + check.failed)
    );
    if !check.seen.is_empty() {
        line.push_str(&format!("; seen {}", check.seen.join(", ")));
    }
    if check.fails_request {
        line.push_str("; fails its request");
    }
    line
}

fn transport(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Timeout => "timeout",
        Outcome::Refused => "connection refused",
        Outcome::Reset => "connection reset",
        Outcome::Other => "protocol error",
        Outcome::Abandoned => "abandoned: no answer before the grace period ended",
        // A status outcome never reaches here (it is a `Status` key); say what it is anyway.
        other => other.key(),
    }
}

/// A check as the scenario states it.
pub(crate) fn check(check: &Check) -> String {
    match check {
        Check::Status(set) => format!("status in {}", statuses(set)),
        Check::MaxLatency(limit) => format!("latency <= {}", humantime::format_duration(*limit)),
        Check::BodyContains(text) => format!("body contains {text:?}"),
        Check::Json { pointer, equals } => format!("json {pointer} == {equals}"),
    }
}

/// `200-299, 304`: the codes of a set as ranges.
fn statuses(set: &StatusSet) -> String {
    let mut ranges: Vec<(u16, u16)> = Vec::new();
    for code in 100..600u16 {
        if set.contains(code) {
            match ranges.last_mut() {
                Some((_, hi)) if *hi + 1 == code => *hi = code,
                _ => ranges.push((code, code)),
            }
        }
    }
    let parts: Vec<String> = ranges
        .into_iter()
        .map(|(lo, hi)| {
            if lo == hi {
                lo.to_string()
            } else {
                format!("{lo}-{hi}")
            }
        })
        .collect();
    parts.join(", ")
}

/// Tags for the requests, in plan order: the name with the characters a tag cannot hold
/// replaced, made unique with a `#n` suffix if two names collide.
pub fn tags(names: &[String]) -> Vec<String> {
    let mut tags: Vec<String> = Vec::with_capacity(names.len());
    for name in names {
        let base: String = name
            .chars()
            .map(|c| {
                if matches!(c, ',' | ' ' | '\r' | '\n') {
                    '_'
                } else {
                    c
                }
            })
            .collect();
        let base = if base.is_empty() {
            "_".to_owned()
        } else {
            base
        };
        let mut tag = base.clone();
        let mut n = 2;
        while tags.contains(&tag) {
            tag = format!("{base}#{n}");
            n += 1;
        }
        tags.push(tag);
    }
    tags
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn tags_are_sanitised_and_unique() {
        let names = ["GET /a b", "GET /a,b", "x", ""].map(String::from);
        assert_eq!(tags(&names), ["GET_/a_b", "GET_/a_b#2", "x", "_"]);
    }

    #[test]
    fn failures_read_like_locust_errors() {
        let checks = vec![check(&Check::BodyContains("ok".to_owned()))];
        assert_eq!(failure(FailureKey::Status(500), &checks), "HTTP 500");
        assert_eq!(
            failure(FailureKey::Transport(Outcome::Refused), &checks),
            "connection refused"
        );
        assert_eq!(
            failure(FailureKey::Check(0), &checks),
            "check failed: body contains \"ok\""
        );
        assert_eq!(failure(FailureKey::Check(3), &checks), "check 4 failed");
    }

    #[test]
    fn checks_read_like_the_scenario() {
        let mut set = StatusSet::empty();
        for code in [200, 201, 202, 304] {
            set.insert(code);
        }
        assert_eq!(check(&Check::Status(set)), "status in 200-202, 304");
        assert_eq!(
            check(&Check::MaxLatency(Duration::from_millis(200))),
            "latency <= 200ms"
        );
        assert_eq!(
            check(&Check::Json {
                pointer: "/status".to_owned(),
                equals: "\"ok\"".to_owned()
            }),
            "json /status == \"ok\""
        );
    }
}
