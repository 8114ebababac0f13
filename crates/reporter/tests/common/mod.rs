//! Synthetic runs for the reporter's integration tests: a plan built in code and the events an
//! engine would send for it, with latencies and failures chosen so every figure is known.

#![allow(dead_code)]

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use stampede_metrics::{
    Alert, Event, FailureKey, IntervalSnapshot, Outcome, RunEnd, RunEnding, RunStart, StatsSet,
    StepEnd, StepInfo,
};
use stampede_plan::{
    Check, Condition, Kind, Load, Metric, Op, Plan, Request, Scope, StatusSet, Step, Template,
    Think, Threshold,
};
use stampede_reporter::{Reporter, RunMeta, Summary};

pub const STARTED: u64 = 1_795_428_900; // 2026-11-23T10:15:00Z

pub fn request(name: &str, method: &str) -> Request {
    Request {
        name: name.to_owned(),
        method: method.to_owned(),
        path: Template::literal("/items"),
        query: Vec::new(),
        headers: Vec::new(),
        body: None,
        weight: 1,
        think: Think::None,
        timeout: Duration::from_secs(5),
        expect: StatusSet::success(),
        checks: vec![Check::BodyContains("ok".to_owned())],
        captures: Vec::new(),
        sign: None,
    }
}

pub fn step(label: &str, users: u32, hold_s: u64, warmup_s: u64, cooldown_s: u64) -> Step {
    Step {
        label: label.to_owned(),
        load: Load::Closed { users },
        ramp: Duration::ZERO,
        ramp_from: 0,
        ramp_down: Duration::ZERO,
        warmup: Duration::from_secs(warmup_s),
        hold: Duration::from_secs(hold_s),
        cooldown: Duration::from_secs(cooldown_s),
        think: None,
        iterations_per_user: None,
    }
}

pub fn threshold(metric: Metric, op: Op, value: f64, scope: Scope) -> Threshold {
    Threshold {
        metric,
        condition: Condition { op, value },
        warn: None,
        scope,
        live: None,
    }
}

/// A capacity sweep of 10, 20 and 40 users, 6 s each with 1 s of warm-up and 2 s of cooldown.
pub fn capacity_plan() -> Plan {
    Plan {
        name: "checkout".to_owned(),
        kind: Kind::Capacity,
        description: "synthetic sweep".to_owned(),
        requests: vec![
            request("GET /items", "GET"),
            request("POST /orders", "POST"),
        ],
        steps: vec![
            step("10 users", 10, 6, 1, 2),
            step("20 users", 20, 6, 1, 2),
            step("40 users", 40, 6, 1, 0),
        ],
        thresholds: vec![
            threshold(Metric::P95, Op::Lt, 500.0, Scope::Run),
            threshold(Metric::ErrorRate, Op::Lt, 0.01, Scope::PerStep),
            threshold(Metric::P99, Op::Lt, 1000.0, Scope::Request(1)),
        ],
        ceiling_factor: 0.8,
        ..Plan::default()
    }
}

/// How one interval of one step is filled: `(requests per request id, base latency in µs,
/// failures per request id)`.
pub type Load_ = fn(step: usize, second: usize) -> (Vec<u64>, u64, Vec<u64>);

/// The default load: step `s` sends `100 * 2^s` GETs and half as many POSTs per second, at
/// 2 ms (+ 1 ms per step), with no failures until the 40-user step, which fails 3 %.
pub fn sweep_load(step: usize, _second: usize) -> (Vec<u64>, u64, Vec<u64>) {
    let gets = 100 << step;
    let failures = if step == 2 {
        vec![gets * 3 / 100, 0]
    } else {
        vec![0, 0]
    };
    (vec![gets, gets / 2], 2000 + 1000 * step as u64, failures)
}

/// Fills `stats` deterministically: latencies spread over `base .. base + 5 ms`; failed
/// requests are 500s (request 0) or failed checks (request 1).
pub fn fill(stats: &mut StatsSet, counts: &[u64], base_us: u64, failures: &[u64]) {
    for (id, (&n, &failed)) in counts.iter().zip(failures).enumerate() {
        let entry = &mut stats.requests[id];
        for k in 0..n {
            let failing = k < failed;
            let outcome = if failing && id == 0 {
                Outcome::Status5xx
            } else {
                Outcome::Status2xx
            };
            entry.outcomes.bump(outcome);
            entry.latency.record_us(base_us + (k * 7919) % 5000);
            entry.body_bytes += 128;
            if failing {
                entry.failed += 1;
                if id == 0 {
                    entry.failures.bump(FailureKey::Status(500));
                } else {
                    entry.checks_failed += 1;
                    entry.failures.bump(FailureKey::Check(0));
                }
            }
        }
    }
}

/// How a synthetic run ends.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    Completed,
    /// Stopped two seconds into the last step, which never gets a `StepEnded`.
    InterruptedInLastStep,
}

/// Runs `plan` through a reporter writing into `dir`, the way the engine would.
pub fn run(plan: &Plan, dir: &Path, run_id: &str, load: Load_, ending: Ending) -> Summary {
    run_events(plan, dir, run_id, &events(plan, load, ending))
}

/// Feeds `events` to a reporter writing into `dir`.
pub fn run_events(plan: &Plan, dir: &Path, run_id: &str, events: &[Owned]) -> Summary {
    let meta = RunMeta {
        run_id: run_id.to_owned(),
        scenario: plan.name.clone(),
        kind: plan.kind.as_str().to_owned(),
        base_url: "http://127.0.0.1:8080".to_owned(),
        tag: Some("test".to_owned()),
        ..RunMeta::default()
    };
    let mut reporter = Reporter::create(plan, meta, dir).unwrap();
    for event in events {
        event.with(|e| reporter.record(e));
    }
    reporter.finish().unwrap()
}

/// An owned event, lent out as the borrowed `Event` the reporter takes.
pub enum Owned {
    RunStarted(RunStart),
    StepStarted(StepInfo),
    Interval(IntervalSnapshot),
    StepEnded(StepEnd),
    Alert(Alert),
    RunEnded(RunEnd),
}

impl Owned {
    pub fn with(&self, f: impl FnOnce(&Event<'_>)) {
        match self {
            Owned::RunStarted(e) => f(&Event::RunStarted(e)),
            Owned::StepStarted(e) => f(&Event::StepStarted(e)),
            Owned::Interval(e) => f(&Event::Interval(e)),
            Owned::StepEnded(e) => f(&Event::StepEnded(e)),
            Owned::Alert(e) => f(&Event::Alert(e)),
            Owned::RunEnded(e) => f(&Event::RunEnded(e)),
        }
    }
}

pub fn events(plan: &Plan, load: Load_, ending: Ending) -> Vec<Owned> {
    let started_at = UNIX_EPOCH + Duration::from_secs(STARTED);
    let mut out = vec![Owned::RunStarted(RunStart {
        started_at,
        planned: plan.total_duration(),
        threads: 1,
        base_url: "http://127.0.0.1:8080".to_owned(),
        monitors: Vec::new(),
    })];
    let offsets = plan.step_offsets();
    let mut seq = 0;
    let mut elapsed = Duration::ZERO;
    for (index, step) in plan.steps.iter().enumerate() {
        let last = index + 1 == plan.steps.len();
        // Open-model steps report their rate and a latency from the scheduled send, here 1 ms
        // behind the actual one.
        let rate = match step.load {
            Load::Open { rate_per_s, .. } => Some(rate_per_s),
            _ => None,
        };
        out.push(Owned::StepStarted(StepInfo {
            index,
            label: step.label.clone(),
            users: step.load.max_users(),
            rate,
            offset: offsets[index],
            ramp: step.ramp,
            warmup: step.warmup,
            hold: step.hold,
            cooldown: step.cooldown,
        }));
        let seconds = step.hold.as_secs() as usize;
        let stop_at = if last && ending == Ending::InterruptedInLastStep {
            2
        } else {
            seconds
        };
        for second in 0..stop_at {
            let (counts, base, failures) = load(index, second);
            let mut stats = StatsSet::new(plan.requests.len());
            fill(&mut stats, &counts, base, &failures);
            if rate.is_some() {
                let mut corrected = StatsSet::new(plan.requests.len());
                fill(&mut corrected, &counts, base + 1000, &failures);
                for (stats, corrected) in stats.requests.iter_mut().zip(corrected.requests) {
                    stats.corrected = corrected.latency;
                }
            }
            stats.iterations = counts.iter().sum();
            if rate.is_some() {
                stats.scheduled = stats.iterations;
            }
            stats.reconnects = u64::from(second == 0);
            let warmup = (second as u64) < step.warmup.as_secs();
            out.push(Owned::Interval(IntervalSnapshot {
                step: index,
                seq,
                start: offsets[index] + Duration::from_secs(second as u64),
                length: Duration::from_secs(1),
                warmup,
                active_users: step.load.max_users(),
                stats,
                monitor: Vec::new(),
                streams_open: Vec::new(),
            }));
            seq += 1;
            elapsed = offsets[index] + Duration::from_secs(second as u64 + 1);
        }
        if stop_at < seconds {
            break;
        }
        out.push(Owned::StepEnded(StepEnd {
            index,
            measured: step.hold - step.warmup,
            peak_users: step.load.max_users(),
            cut_short: false,
            stream_peaks: Vec::new(),
        }));
        elapsed += step.cooldown;
    }
    let outcome = match ending {
        Ending::Completed => RunEnding::Completed,
        Ending::InterruptedInLastStep => RunEnding::Interrupted,
    };
    let mut setup = StatsSet::new(plan.requests.len());
    let n = plan.requests.len();
    let logins: Vec<u64> = (0..n).map(|id| if id == 0 { 10 } else { 0 }).collect();
    fill(&mut setup, &logins, 40_000, &vec![0; n]);
    out.push(Owned::RunEnded(RunEnd {
        finished_at: started_at + elapsed,
        elapsed,
        outcome,
        setup,
    }));
    out
}

pub fn started_at() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(STARTED)
}
