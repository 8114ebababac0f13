//! What the reporter keeps of the plan: names, checks in words, rules and shapes; never
//! templates, headers or secrets. Stored at the head of the run record, so a run can be
//! reported again (or merged) without its scenario file.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use stampede_plan::{Condition, Drift, Kind, Load, Metric, Plan, StreamKind, Threshold};

use crate::summary::words;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanFacts {
    pub names: Vec<String>,
    pub methods: Vec<String>,
    /// Per request, its checks by name (the scenario's `name`, or what the check checks).
    pub checks: Vec<Vec<String>>,
    /// Per request, which of its checks also fail the request (`fail-request`).
    #[serde(default)]
    pub checks_fail_request: Vec<Vec<bool>>,

    /// Per request, its interval-log tag.
    pub tags: Vec<String>,
    pub description: String,
    pub thresholds: Vec<Threshold>,
    pub kind: Kind,
    pub ceiling_factor: f64,
    /// Capacity: the scenario's own knee levels; none (and in records from before them): the
    /// heuristic finds the knee.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub knee_levels: Vec<(Metric, Condition)>,
    /// The step whose recovery a burst analysis times.
    pub burst_step: Option<usize>,
    /// The soak's drift limits, when the scenario set any.
    pub drift: Option<Drift>,
    /// Engine intervals per time-series row: the plan's series interval (a soak's bucket) in
    /// whole engine intervals, at least one.
    pub rows_per_interval: usize,
    pub steps: usize,
    /// The run's planned length, every step and cooldown included.
    pub planned: Duration,
    /// How often the engine snapshots its statistics.
    pub interval: Duration,
    /// The `[[monitor]]` names when there are several (each has its timeseries.csv columns);
    /// empty for one or none, whose columns are `Target CPU %` and `Target RSS MB`. Absent
    /// from the record when empty, so single-monitor records read and replay as before.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub monitors: Vec<String>,
    /// The plan's `[[stream]]`s by name, in order; absent from records of plans without.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub streams: Vec<String>,
    /// Each stream's protocol as steps.csv's `Type` writes it (`SSE`, `WS`); absent from
    /// records written before WebSockets, whose streams are all `SSE`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stream_kinds: Vec<String>,
}

impl PlanFacts {
    /// Stream `index`'s protocol, as steps.csv's `Type` writes it.
    pub fn stream_kind(&self, index: usize) -> &str {
        self.stream_kinds
            .get(index)
            .map_or(StreamKind::Sse.label(), String::as_str)
    }

    pub fn of(plan: &Plan) -> PlanFacts {
        let names: Vec<String> = plan.requests.iter().map(|r| r.name.clone()).collect();
        // The burst is the step that fires a burst; failing that, the step with the most users
        // that has a step before it to compare with.
        let burst_step = plan
            .steps
            .iter()
            .position(|s| matches!(s.load, Load::Burst { .. }))
            .or_else(|| (1..plan.steps.len()).max_by_key(|&i| plan.steps[i].load.max_users()));
        let interval = plan.interval.as_secs_f64();
        let rows_per_interval = if interval > 0.0 {
            (plan.series_interval.as_secs_f64() / interval)
                .round()
                .max(1.0) as usize
        } else {
            1
        };
        PlanFacts {
            tags: words::tags(&names),
            methods: plan.requests.iter().map(|r| r.method.clone()).collect(),
            checks: plan
                .requests
                .iter()
                .enumerate()
                .map(|(id, r)| {
                    let options = plan.options_for(id);
                    r.checks
                        .iter()
                        .enumerate()
                        .map(|(n, check)| match options.checks.get(n) {
                            Some(named) => named.name.clone(),
                            None => words::check(check),
                        })
                        .collect()
                })
                .collect(),
            checks_fail_request: (0..plan.requests.len())
                .map(|id| {
                    let options = plan.options_for(id);
                    (0..plan.requests[id].checks.len())
                        .map(|n| options.checks.get(n).is_some_and(|c| c.fail_request))
                        .collect()
                })
                .collect(),
            names,
            monitors: match plan.monitors.len() {
                0 | 1 => Vec::new(),
                _ => plan
                    .monitors
                    .iter()
                    .enumerate()
                    .map(|(n, m)| {
                        m.name
                            .clone()
                            .unwrap_or_else(|| format!("monitor{}", n + 1))
                    })
                    .collect(),
            },
            description: plan.description.clone(),
            thresholds: plan.thresholds.clone(),
            kind: plan.kind,
            ceiling_factor: plan.ceiling_factor,
            knee_levels: plan.knee_levels.clone(),
            burst_step,
            drift: plan.drift,
            rows_per_interval,
            steps: plan.steps.len(),
            planned: plan.total_duration(),
            interval: plan.interval,
            streams: plan.streams.iter().map(|s| s.name.clone()).collect(),
            stream_kinds: plan
                .streams
                .iter()
                .map(|s| s.kind.label().to_owned())
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stampede_plan::Monitor;

    #[test]
    fn monitor_names_travel_only_when_there_are_several() {
        let named = |name: &str| Monitor {
            name: Some(name.to_owned()),
            ..Monitor::default()
        };
        let one = Plan {
            monitors: vec![named("api")],
            ..Plan::default()
        };
        let json = serde_json::to_string(&PlanFacts::of(&one)).unwrap();
        assert!(!json.contains("monitors"), "{json}");
        let two = Plan {
            monitors: vec![named("api"), named("redis")],
            ..Plan::default()
        };
        let facts = PlanFacts::of(&two);
        assert_eq!(facts.monitors, ["api", "redis"]);
        let json = serde_json::to_string(&facts).unwrap();
        assert!(json.contains(r#""monitors":["api","redis"]"#), "{json}");
        // A header written before the field existed reads as no named monitors.
        let back: PlanFacts =
            serde_json::from_str(&json.replace(r#","monitors":["api","redis"]"#, "")).unwrap();
        assert!(back.monitors.is_empty());
    }
}
