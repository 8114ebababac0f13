//! What a response means: its checks (each counted on its own, failing the request only when
//! marked `fail-request`), its captures (a miss is counted with where it looked), and the
//! values kept to explain a failure.
//!
//! Knows nothing of connections or timing: it gets a response's status, headers and body, and
//! writes into one request's statistics.

use std::time::Duration;

use serde_json::Value;
use stampede_metrics::sample::{self, CHECK_VALUE_CHARS};
use stampede_metrics::{CheckTally, RequestStats};
use stampede_plan::{CaptureFrom, Check, Plan, RequestId};

use crate::prepare::Prepared;

/// A response as the checks and captures see it.
pub(crate) struct Response<'a> {
    pub(crate) status: u16,
    pub(crate) latency: Duration,
    pub(crate) headers: &'a http::HeaderMap,
    pub(crate) body: &'a [u8],
    /// The body parsed as JSON, when a check or a capture needs it and it parses.
    pub(crate) json: Option<&'a Value>,
}

/// The first failing check marked `fail-request`: its index and the value it saw.
pub(crate) struct FailedCheck {
    pub(crate) index: u16,
    pub(crate) value: String,
}

/// Runs every check of request `id` on the response, counting each in `entry`. Returns the
/// first failure that fails the request.
pub(crate) fn checks(
    plan: &Plan,
    prepared: &Prepared,
    id: RequestId,
    response: &Response<'_>,
    entry: &mut RequestStats,
) -> Option<FailedCheck> {
    let request = &plan.requests[id];
    if request.checks.is_empty() {
        return None;
    }
    if entry.checks.len() < request.checks.len() {
        entry
            .checks
            .resize_with(request.checks.len(), CheckTally::default);
    }
    let options = plan.options_for(id);
    let mut failing = None;
    for (index, check) in request.checks.iter().enumerate() {
        let expected = prepared
            .json_checks
            .iter()
            .find(|(i, _)| *i == index)
            .map(|(_, v)| v);
        let tally = &mut entry.checks[index];
        if passes(check, expected, response) {
            tally.passed += 1;
            entry.checks_passed += 1;
            continue;
        }
        entry.checks_failed += 1;
        let fails_request = options.checks.get(index).is_some_and(|c| c.fail_request);
        if fails_request && failing.is_none() {
            let value = seen(check, response);
            tally.fail(|| value.clone());
            failing = Some(FailedCheck {
                index: u16::try_from(index).unwrap_or(u16::MAX),
                value,
            });
        } else {
            tally.fail(|| seen(check, response));
        }
    }
    failing
}

fn passes(check: &Check, expected_json: Option<&Value>, response: &Response<'_>) -> bool {
    match check {
        Check::Status(set) => set.contains(response.status),
        Check::MaxLatency(limit) => response.latency <= *limit,
        Check::BodyContains(needle) => contains(response.body, needle.as_bytes()),
        Check::Json { pointer, .. } => {
            response.json.and_then(|j| j.pointer(pointer)) == expected_json
        }
    }
}

/// What a failing check saw, short and printable: `429`, `1250.5 ms`, the body's start, the
/// JSON value at the pointer.
fn seen(check: &Check, response: &Response<'_>) -> String {
    match check {
        Check::Status(_) => response.status.to_string(),
        Check::MaxLatency(_) => stampede_metrics::format::value(
            stampede_plan::Unit::Millis,
            response.latency.as_secs_f64() * 1000.0,
        ),
        Check::BodyContains(_) => sample::printable(response.body, CHECK_VALUE_CHARS),
        Check::Json { pointer, .. } => match response.json {
            None => "the body is not JSON".to_owned(),
            Some(json) => match json.pointer(pointer) {
                Some(value) => sample::escaped(&value.to_string(), CHECK_VALUE_CHARS),
                None => format!("nothing at {pointer}"),
            },
        },
    }
}

/// Takes request `id`'s captures from the response into the user's slots; a capture that
/// finds nothing keeps the slot's previous value and is counted in `entry` as a miss.
pub(crate) fn captures(
    plan: &Plan,
    id: RequestId,
    response: &Response<'_>,
    slots: &mut [String],
    entry: &mut RequestStats,
) {
    for capture in &plan.requests[id].captures {
        let value = match &capture.from {
            CaptureFrom::Header(name) => response
                .headers
                .get(name.as_str())
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            CaptureFrom::JsonPointer(pointer) => response
                .json
                .and_then(|j| j.pointer(pointer))
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                }),
        };
        // A response without the value keeps the previous one: a user that lost its token
        // shows as 401s in the results, and the miss says why.
        match (value, slots.get_mut(capture.slot)) {
            (Some(value), Some(slot)) => *slot = value,
            _ => {
                let slot = u16::try_from(capture.slot).unwrap_or(u16::MAX);
                entry
                    .capture_misses
                    .bump(slot, || miss_message(plan, capture.slot, &capture.from));
            }
        }
    }
}

/// "capture `token` found nothing at json:/access_token".
fn miss_message(plan: &Plan, slot: usize, from: &CaptureFrom) -> String {
    let name = plan.captures.get(slot).map_or("?", String::as_str);
    let place = match from {
        CaptureFrom::Header(header) => format!("header:{header}"),
        CaptureFrom::JsonPointer(pointer) => format!("json:{pointer}"),
    };
    format!("capture `{name}` found nothing at {place}")
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}
