//! The live judge: the one place that decides, while the run goes on, to warn, to end a sweep or
//! to abort. It reads merged intervals (never the per-request path) and judges every live rule
//! alike: thresholds with a window, a capacity sweep's `stop-when`, and the monitor's limits.
//!
//! Values come from `Figures::value`, the same function the final thresholds read, so a rule
//! judges the same number live and at the end.

use std::collections::VecDeque;
use std::time::Duration;

use stampede_metrics::{
    Alert, AlertLevel, Figures, IntervalSnapshot, MonitorSample, MonitorTally, RequestStats,
    StatsSet, StepEnd, format,
};
use stampede_plan::{Condition, LiveRule, Metric, MonitorLimit, Plan, Scope};

/// One threshold judged over a sliding window, and the intervals inside it.
struct Windowed {
    metric: Metric,
    condition: Condition,
    scope: Scope,
    rule: LiveRule,
    recent: VecDeque<(Duration, RequestStats)>,
    span: Duration,
    step: Option<usize>,
    /// A warning was given for the current breach; the next one waits for a recovery.
    warned: bool,
}

/// A monitor limit and whether its warning was given.
struct Watched {
    name: &'static str,
    limit: MonitorLimit,
    read: fn(&MonitorSample) -> Option<f64>,
    show: fn(f64) -> String,
    warned: bool,
}

pub(crate) struct Judge {
    windowed: Vec<Windowed>,
    stop_when: Vec<(Metric, Condition)>,
    watched: Vec<Vec<Watched>>,
    sources: Vec<String>,
    /// The measured intervals of each step that has not ended yet, and its watched processes'
    /// samples, for `stop-when` (none without one).
    steps: Vec<(usize, StatsSet, Vec<MonitorTally>)>,
}

impl Judge {
    pub(crate) fn new(plan: &Plan, sources: Vec<String>) -> Judge {
        let windowed = plan
            .thresholds
            .iter()
            .filter_map(|t| {
                t.live.map(|rule| Windowed {
                    metric: t.metric,
                    condition: t.condition,
                    scope: t.scope,
                    rule,
                    recent: VecDeque::new(),
                    span: Duration::ZERO,
                    step: None,
                    warned: false,
                })
            })
            .collect();
        // One set of limits per monitor, in plan order: a sample's `source` indexes it.
        let watched = plan.monitors.iter().map(watched_of).collect();
        Judge {
            windowed,
            stop_when: plan.stop_when.clone(),
            watched,
            sources,
            steps: Vec::new(),
        }
    }

    /// Judges one merged interval; returns what it found, most severe last.
    pub(crate) fn interval(&mut self, snapshot: &IntervalSnapshot) -> Vec<Alert> {
        let at = snapshot.start + snapshot.length;
        let mut alerts = Vec::new();
        for sample in &snapshot.monitor {
            self.monitor(sample, at, &mut alerts);
        }
        if snapshot.warmup {
            return alerts;
        }
        // A step's total is a copy of every request name's histograms: kept only for a
        // `stop-when` to read.
        if !self.stop_when.is_empty() {
            self.add_to_step(snapshot);
        }
        for rule in &mut self.windowed {
            if let Some(alert) = rule.push(snapshot, at) {
                alerts.push(alert);
            }
        }
        alerts.sort_by_key(|a| severity(a.level));
        alerts
    }

    /// Adds a measured interval, and its watched processes' samples, to its step's total.
    fn add_to_step(&mut self, snapshot: &IntervalSnapshot) {
        let at_step = match self.steps.iter().position(|(s, ..)| *s == snapshot.step) {
            Some(at) => {
                self.steps[at].1.add(&snapshot.stats);
                at
            }
            None => {
                let tallies = self.sources.iter().map(|n| MonitorTally::named(n));
                let stats = snapshot.stats.clone();
                self.steps.push((snapshot.step, stats, tallies.collect()));
                self.steps.len() - 1
            }
        };
        let tallies = &mut self.steps[at_step].2;
        for sample in &snapshot.monitor {
            if let Some(tally) = tallies.get_mut(usize::from(sample.source)) {
                tally.push(sample);
            }
        }
    }

    /// Judges a finished step against `stop-when`; a crossing ends the sweep after this step.
    pub(crate) fn step(&mut self, end: &StepEnd, at: Duration) -> Option<Alert> {
        let position = self.steps.iter().position(|(step, ..)| *step == end.index);
        let (_, total, tallies) = position.map(|p| self.steps.swap_remove(p))?;
        let monitors: Vec<_> = tallies.iter().filter_map(MonitorTally::figures).collect();
        let figures =
            Figures::of(&total.aggregate(), end.measured.as_secs_f64()).with_monitors(&monitors);
        self.stop_when.iter().find_map(|(metric, condition)| {
            let value = figures.value(*metric)?;
            condition.holds(value).then(|| Alert {
                at,
                level: AlertLevel::StopSweep,
                message: format!(
                    "step {} crossed stop-when {}: {} was {}",
                    end.index + 1,
                    format::rule(*metric, condition),
                    metric.name(),
                    format::value(metric.unit(), value),
                ),
            })
        })
    }

    fn monitor(&mut self, sample: &MonitorSample, at: Duration, alerts: &mut Vec<Alert>) {
        let source = self
            .sources
            .get(usize::from(sample.source))
            .map_or("the target", String::as_str);
        let Some(limits) = self.watched.get_mut(usize::from(sample.source)) else {
            return;
        };
        for watched in limits {
            let Some(value) = (watched.read)(sample) else {
                continue;
            };
            let shown = (watched.show)(value);
            if let Some(stop) = watched.limit.stop.filter(|&stop| value >= stop) {
                alerts.push(Alert {
                    at,
                    level: AlertLevel::StopSweep,
                    message: format!(
                        "{source}: {} {shown} reached the stop level {}",
                        watched.name,
                        (watched.show)(stop)
                    ),
                });
            } else if let Some(warn) = watched.limit.warn.filter(|&warn| value >= warn)
                && !watched.warned
            {
                watched.warned = true;
                alerts.push(Alert {
                    at,
                    level: AlertLevel::Warning,
                    message: format!(
                        "{source}: {} {shown} passed the warning level {}",
                        watched.name,
                        (watched.show)(warn)
                    ),
                });
            }
        }
    }
}

impl Windowed {
    /// Adds an interval to the window and judges it once the window is full.
    fn push(&mut self, snapshot: &IntervalSnapshot, at: Duration) -> Option<Alert> {
        // A per-step rule judges each step on its own: its window starts afresh with the step.
        if self.scope == Scope::PerStep && self.step != Some(snapshot.step) {
            self.recent.clear();
            self.span = Duration::ZERO;
        }
        self.step = Some(snapshot.step);
        let stats = match self.scope {
            Scope::Request(id) => snapshot.stats.requests.get(id).cloned().unwrap_or_default(),
            Scope::Run | Scope::PerStep => snapshot.stats.aggregate(),
            // Lowering refuses windows on stream thresholds: they are judged at the end.
            Scope::Stream(_) => return None,
        };
        self.recent.push_back((snapshot.length, stats));
        self.span += snapshot.length;
        while let Some(&(oldest, _)) = self.recent.front() {
            if self.recent.len() > 1 && self.span - oldest >= self.rule.window {
                self.recent.pop_front();
                self.span -= oldest;
            } else {
                break;
            }
        }
        // Judge only a full window: a half-empty one is noise, not evidence.
        if self.span < self.rule.window {
            return None;
        }
        let mut merged = RequestStats::default();
        for (_, stats) in &self.recent {
            merged.add(stats);
        }
        let value = Figures::of(&merged, self.span.as_secs_f64()).value(self.metric)?;
        if self.condition.holds(value) {
            self.warned = false;
            return None;
        }
        let message = format!(
            "{} was {} over the last {}, the limit is {}",
            self.metric.name(),
            format::value(self.metric.unit(), value),
            format::seconds(self.span),
            format::condition(self.metric, &self.condition),
        );
        if self.rule.abort {
            return Some(Alert {
                at,
                level: AlertLevel::Abort,
                message,
            });
        }
        if self.warned {
            return None;
        }
        self.warned = true;
        Some(Alert {
            at,
            level: AlertLevel::Warning,
            message,
        })
    }
}

fn severity(level: AlertLevel) -> u8 {
    match level {
        AlertLevel::Warning => 0,
        AlertLevel::StopSweep => 1,
        AlertLevel::Abort => 2,
    }
}

/// The CPU and RSS limits of one monitor.
fn watched_of(monitor: &stampede_plan::Monitor) -> Vec<Watched> {
    vec![
        Watched {
            name: "cpu",
            limit: monitor.cpu_percent,
            read: |s| s.cpu_percent,
            show: |v| format!("{}%", format::trim(v, 0)),
            warned: false,
        },
        Watched {
            name: "rss",
            limit: monitor.rss_bytes,
            read: |s| s.rss_bytes.map(|b| b as f64),
            show: format::bytes,
            warned: false,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use stampede_metrics::Outcome;
    use stampede_plan::{Monitor, Op, Threshold};

    fn snapshot(step: usize, latency_ms: u64, n: u64) -> IntervalSnapshot {
        let mut stats = StatsSet::new(1);
        for _ in 0..n {
            stats.requests[0].outcomes.bump(Outcome::Status2xx);
            stats.requests[0].latency.record_us(latency_ms * 1000);
        }
        IntervalSnapshot {
            step,
            seq: 0,
            start: Duration::ZERO,
            length: Duration::from_secs(1),
            warmup: false,
            active_users: 1,
            stats,
            monitor: Vec::new(),
            streams_open: Vec::new(),
        }
    }

    fn p95_below(ms: f64, window_s: u64, abort: bool) -> Plan {
        Plan {
            thresholds: vec![Threshold {
                metric: Metric::P95,
                condition: Condition {
                    op: Op::Lt,
                    value: ms,
                },
                warn: None,
                scope: Scope::Run,
                live: Some(LiveRule {
                    window: Duration::from_secs(window_s),
                    abort,
                }),
            }],
            ..Plan::default()
        }
    }

    #[test]
    fn an_aborting_window_trips_only_when_full_and_breached() {
        let mut judge = Judge::new(&p95_below(100.0, 3, true), Vec::new());
        // Slow from the start, but the window is not full for two intervals.
        assert!(judge.interval(&snapshot(0, 500, 10)).is_empty());
        assert!(judge.interval(&snapshot(0, 500, 10)).is_empty());
        let alerts = judge.interval(&snapshot(0, 500, 10));
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].level, AlertLevel::Abort);
        assert_eq!(
            alerts[0].message,
            "p95 was 500.223 ms over the last 3s, the limit is < 100 ms"
        );
    }

    #[test]
    fn a_window_that_recovers_does_not_trip() {
        let mut judge = Judge::new(&p95_below(100.0, 2, true), Vec::new());
        assert!(judge.interval(&snapshot(0, 10, 100)).is_empty());
        assert!(judge.interval(&snapshot(0, 10, 100)).is_empty());
        // One slow second among fast ones: p95 of the 2 s window is still the fast figure.
        assert!(judge.interval(&snapshot(0, 10, 1000)).is_empty());
        assert_eq!(judge.interval(&snapshot(0, 500, 1000)).len(), 1);
    }

    #[test]
    fn a_warning_window_warns_once_per_breach() {
        let mut judge = Judge::new(&p95_below(100.0, 1, false), Vec::new());
        let first = judge.interval(&snapshot(0, 500, 10));
        assert_eq!(first[0].level, AlertLevel::Warning);
        assert!(judge.interval(&snapshot(0, 500, 10)).is_empty(), "once");
        assert!(judge.interval(&snapshot(0, 10, 10)).is_empty(), "recovered");
        assert_eq!(judge.interval(&snapshot(0, 500, 10)).len(), 1, "again");
    }

    #[test]
    fn stop_when_names_the_step_and_the_crossing() {
        let plan = Plan {
            stop_when: vec![(
                Metric::ErrorRate,
                Condition {
                    op: Op::Gt,
                    value: 0.05,
                },
            )],
            ..Plan::default()
        };
        let mut judge = Judge::new(&plan, Vec::new());
        let mut interval = snapshot(2, 10, 100);
        interval.stats.requests[0].failed = 10;
        judge.interval(&interval);
        let end = StepEnd {
            index: 2,
            measured: Duration::from_secs(10),
            peak_users: 1,
            cut_short: false,
            stream_peaks: Vec::new(),
        };
        let alert = judge.step(&end, Duration::from_secs(30)).expect("10% > 5%");
        assert_eq!(alert.level, AlertLevel::StopSweep);
        assert_eq!(
            alert.message,
            "step 3 crossed stop-when error-rate > 5%: error-rate was 10%"
        );
    }

    #[test]
    fn stop_when_on_target_cpu_reads_the_steps_busiest_process_both_ways() {
        let plan = Plan {
            stop_when: vec![(
                Metric::TargetCpu,
                Condition {
                    op: Op::Gt,
                    value: 0.70,
                },
            )],
            ..Plan::default()
        };
        let run_step = |api: f64, redis: f64| {
            let mut judge = Judge::new(&plan, vec!["api".to_owned(), "redis".to_owned()]);
            for second in 1..=3 {
                let mut interval = snapshot(0, 10, 10);
                interval.monitor = [(0, api), (1, redis)]
                    .into_iter()
                    .map(|(source, cpu)| MonitorSample {
                        source,
                        offset: Duration::from_secs(second),
                        cpu_percent: Some(cpu),
                        rss_bytes: None,
                        failed: false,
                    })
                    .collect();
                judge.interval(&interval);
            }
            let end = StepEnd {
                index: 0,
                measured: Duration::from_secs(3),
                peak_users: 1,
                cut_short: false,
                stream_peaks: Vec::new(),
            };
            judge.step(&end, Duration::from_secs(3))
        };
        assert!(run_step(40.0, 65.0).is_none(), "65% is under 70%");
        let alert = run_step(40.0, 75.0).expect("redis at 75% > 70%");
        assert_eq!(
            alert.message,
            "step 1 crossed stop-when target-cpu > 70%: target-cpu was 75%"
        );
    }

    #[test]
    fn monitor_limits_warn_once_and_stop() {
        let plan = Plan {
            monitors: vec![
                Monitor {
                    rss_bytes: MonitorLimit {
                        warn: Some(1e9),
                        stop: Some(2e9),
                    },
                    ..Monitor::default()
                },
                Monitor {
                    cpu_percent: MonitorLimit {
                        warn: None,
                        stop: Some(80.0),
                    },
                    ..Monitor::default()
                },
            ],
            ..Plan::default()
        };
        let mut judge = Judge::new(&plan, vec!["api".to_owned(), "redis".to_owned()]);
        let mut interval = snapshot(0, 1, 1);
        let sample = |rss: u64| MonitorSample {
            source: 0,
            offset: Duration::ZERO,
            cpu_percent: None,
            rss_bytes: Some(rss),
            failed: false,
        };
        interval.monitor = vec![sample(1_500_000_000)];
        let warned = judge.interval(&interval);
        assert_eq!(warned.len(), 1);
        assert_eq!(
            warned[0].message,
            "api: rss 1.5 GB passed the warning level 1 GB"
        );
        assert!(judge.interval(&interval).is_empty(), "warned once");
        interval.monitor = vec![sample(2_100_000_000)];
        let stopped = judge.interval(&interval);
        assert_eq!(stopped[0].level, AlertLevel::StopSweep);
        assert_eq!(
            stopped[0].message,
            "api: rss 2.1 GB reached the stop level 2 GB"
        );
        // Each monitor has its own limits: redis has none on memory, one on CPU.
        let redis = |cpu: f64| MonitorSample {
            source: 1,
            cpu_percent: Some(cpu),
            ..sample(3_000_000_000)
        };
        interval.monitor = vec![redis(50.0)];
        assert!(judge.interval(&interval).is_empty());
        interval.monitor = vec![redis(90.0)];
        let stopped = judge.interval(&interval);
        assert_eq!(stopped.len(), 1);
        assert_eq!(
            stopped[0].message,
            "redis: cpu 90% reached the stop level 80%"
        );
    }
}
