//! What the reporter keeps of the plan (names, checks, rules; never templates or secrets) and
//! the analyses each kind of plan gets.

use stampede_plan::{Kind, Load, Plan, Threshold};

use crate::judge::analysis::{AnalysisOptions, DriftLimits, burst, drift, elbow, knee};
use crate::store::hlog;
use crate::summary::StepSummary;
use crate::summary::analysis::Analysis;
use crate::summary::series::SeriesPoint;
use crate::summary::words;

pub(crate) struct PlanFacts {
    pub(crate) names: Vec<String>,
    pub(crate) methods: Vec<String>,
    /// Per request, its checks in words, for failures.
    pub(crate) checks: Vec<Vec<String>>,
    /// Per request, its interval-log tag.
    pub(crate) tags: Vec<String>,
    pub(crate) description: String,
    pub(crate) thresholds: Vec<Threshold>,
    pub(crate) kind: Kind,
    pub(crate) ceiling_factor: f64,
    /// The step whose recovery a burst analysis times.
    pub(crate) burst_step: Option<usize>,
    /// The soak's drift limits: p95 growth, error-rate growth.
    pub(crate) drift: DriftLimits,
    /// Engine intervals per time-series row: the plan's series interval (a soak's bucket) in
    /// whole engine intervals, at least one.
    pub(crate) rows_per_interval: usize,
}

impl PlanFacts {
    pub(crate) fn of(plan: &Plan) -> PlanFacts {
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
            tags: hlog::tags(&names),
            methods: plan.requests.iter().map(|r| r.method.clone()).collect(),
            checks: plan
                .requests
                .iter()
                .map(|r| r.checks.iter().map(words::check).collect())
                .collect(),
            names,
            description: plan.description.clone(),
            thresholds: plan.thresholds.clone(),
            kind: plan.kind,
            ceiling_factor: plan.ceiling_factor,
            burst_step,
            drift: plan
                .drift
                .map_or((None, None), |d| (d.p95_growth, d.error_rate_growth)),
            rows_per_interval,
        }
    }

    /// The analyses that fit the plan's kind.
    pub(crate) fn analyse(
        &self,
        steps: &[StepSummary],
        points: &[SeriesPoint],
        options: &AnalysisOptions,
    ) -> Analysis {
        let mut analysis = Analysis::default();
        match self.kind {
            Kind::Capacity => analysis.knee = Some(knee(steps, self.ceiling_factor, options)),
            Kind::Throughput => analysis.elbow = Some(elbow(steps, &self.thresholds, options)),
            Kind::Soak => analysis.drift = Some(drift(points, self.drift, options)),
            Kind::Burst => {
                analysis.burst = self
                    .burst_step
                    .and_then(|step| burst(steps, step, points, options));
            }
            Kind::Smoke => {}
        }
        analysis
    }
}
