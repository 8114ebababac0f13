//! Comparing two stored runs, step by step and request by request: the change in p50, p95, p99,
//! error rate and RPS, each flagged only when it is beyond what noise explains.
//!
//! Two kinds of noise, and a change must beat both:
//! - **sampling**: percentiles through their confidence intervals, read from the merged headline
//!   histograms (with `n` samples the q-quantile lies between the quantiles `q -/+ z*sqrt(q(1-q)/n)`,
//!   the distribution-free order-statistic bound, widened to bucket edges; the intervals must not
//!   overlap); the error rate by a two-proportion z-test; RPS by a Poisson z-test;
//! - **run to run**: two runs of the same system differ by more than sampling says (a machine
//!   is busier for a while, a cache colder). Each run's own stretches of time show how much its
//!   figure could have moved: a block bootstrap over its intervals (`bootstrap`) gives each
//!   figure a 99 % interval, and the two runs' intervals must not overlap either. A step with
//!   fewer than [`MIN_BLOCKS`] blocks of intervals in either run cannot show its spread: its
//!   changes are reported, never flagged, and a note says so.
//!
//! A change being significant says it is real, not that it matters: `regressed(pct)` adds the
//! size.

use std::path::Path;

use serde::Serialize;
use stampede_metrics::format::{self, round, short};
use stampede_metrics::{Figures, Latency, ms_of_us};
use stampede_plan::Metric;

use crate::Error;
use crate::judge::bootstrap::{MIN_BLOCKS, Statistic, interval};
use crate::judge::samples::{RunSamples, Samples};
use crate::summary::analysis::Knee;
use crate::summary::{StepSummary, Summary};

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CompareOptions {
    /// The z value of the confidence level: 2.576 is 99 %, two-sided.
    pub z: f64,
}

impl Default for CompareOptions {
    fn default() -> Self {
        CompareOptions { z: 2.576 }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Comparison {
    pub current_run: String,
    pub baseline_run: String,
    pub steps: Vec<StepComparison>,
    /// Steps present in only one of the runs, or matched by position with different labels.
    pub notes: Vec<String>,
    /// Capacity runs: how the knee and the safe ceiling moved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub knee: Option<KneeChange>,
}

/// The knee and safe ceiling of both runs, and the change in a sentence: "safe ceiling 320 ->
/// 240 users: the knee moved from 400 to 300 users; p95 crossed 300 ms first".
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct KneeChange {
    pub baseline_users: Option<u32>,
    pub current_users: Option<u32>,
    pub baseline_ceiling_users: Option<u32>,
    pub current_ceiling_users: Option<u32>,
    pub baseline_rule: String,
    pub current_rule: String,
    /// What marked the current knee first.
    pub reason: Option<String>,
    pub sentence: String,
}

impl KneeChange {
    pub(crate) fn of(current: &Knee, baseline: &Knee) -> KneeChange {
        let users = |u: Option<u32>| u.map_or("none".to_owned(), |u| format!("{u} users"));
        let bare = |u: Option<u32>| u.map_or("none".to_owned(), |u| u.to_string());
        let ceiling = if current.ceiling_users == baseline.ceiling_users {
            format!("safe ceiling {} (unchanged)", users(current.ceiling_users))
        } else {
            format!(
                "safe ceiling {} -> {}",
                bare(baseline.ceiling_users),
                users(current.ceiling_users)
            )
        };
        let mut sentence = match (baseline.users, current.users) {
            (was, now) if was == now => {
                format!("{ceiling}: the knee stayed at {}", users(now))
            }
            (Some(was), Some(now)) => {
                format!("{ceiling}: the knee moved from {was} to {now} users")
            }
            (Some(was), None) => {
                format!("{ceiling}: no knee within the sweep now, it was at {was} users")
            }
            // `now` is a knee here: two runs without one are equal above.
            (None, now) => {
                format!(
                    "{ceiling}: the knee is at {}, none in the baseline",
                    users(now)
                )
            }
        };
        if let Some(reason) = &current.reason {
            sentence.push_str(&format!("; {reason} first"));
        }
        if current.rule() != baseline.rule() {
            sentence.push_str(&format!(
                " (found by {} now, by {} in the baseline)",
                current.rule(),
                baseline.rule()
            ));
        }
        KneeChange {
            baseline_users: baseline.users,
            current_users: current.users,
            baseline_ceiling_users: baseline.ceiling_users,
            current_ceiling_users: current.ceiling_users,
            baseline_rule: baseline.rule(),
            current_rule: current.rule(),
            reason: current.reason.clone(),
            sentence,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StepComparison {
    pub index: usize,
    pub label: String,
    /// All requests of the step together.
    pub total: RequestComparison,
    pub requests: Vec<RequestComparison>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RequestComparison {
    pub name: String,
    pub changes: Vec<Change>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Change {
    /// `p50`, `p95`, `p99` (ms), `error-rate` (a fraction) or `rps`.
    pub metric: Metric,
    pub baseline: f64,
    pub current: f64,
    /// Relative change in percent; `None` when the baseline is 0.
    pub change_pct: Option<f64>,
    /// Beyond sampling noise.
    pub significant: bool,
    /// In the bad direction: latency or errors up, throughput down.
    pub worse: bool,
}

impl Change {
    /// A real change for the worse by more than `pct` percent (any real rise from zero errors).
    pub fn regressed(&self, pct: f64) -> bool {
        self.significant && self.worse && self.change_pct.is_none_or(|c| c.abs() > pct)
    }
}

/// Compares the run in `current_run_dir` with the one in `baseline_run_dir`, from their
/// summary.json and run records. Steps are matched by position.
pub fn compare(
    current_run_dir: &Path,
    baseline_run_dir: &Path,
    options: &CompareOptions,
) -> Result<Comparison, Error> {
    let current = Summary::read(current_run_dir)?;
    let baseline = Summary::read(baseline_run_dir)?;
    let current_s = RunSamples::read(current_run_dir, &current)?;
    let baseline_s = RunSamples::read(baseline_run_dir, &baseline)?;
    let mut notes = Vec::new();
    if !current_s.from_record || !baseline_s.from_record {
        notes.push(
            "a run without a record (an older stampede): latency from the actual send, and \
             changes judged by sampling noise alone"
                .to_owned(),
        );
    }
    let mut steps = Vec::new();
    for (ci, step) in current.steps.iter().enumerate() {
        let Some(bi) = baseline.steps.iter().position(|b| b.index == step.index) else {
            notes.push(format!("{} is not in the baseline", step.title()));
            continue;
        };
        let base = &baseline.steps[bi];
        if base.label != step.label {
            notes.push(format!(
                "step {} is \"{}\" now and was \"{}\" in the baseline",
                step.index + 1,
                step.label,
                base.label
            ));
        }
        let (now, was) = (&current_s.steps[ci], &baseline_s.steps[bi]);
        let judged = |s: &Samples| s.blocks.len() >= MIN_BLOCKS;
        let from_records = current_s.from_record && baseline_s.from_record;
        if from_records && !(judged(&now.total) && judged(&was.total)) {
            notes.push(format!(
                "{}: fewer than {MIN_BLOCKS} measured intervals in a run, too few to tell a \
                 change from run-to-run noise; nothing is flagged (hold longer, or snapshot \
                 more often with `interval`)",
                step.title()
            ));
        }
        let side = |figures, step, samples| Side {
            figures,
            step,
            samples,
            from_record: from_records,
        };
        let total = RequestComparison {
            name: "Aggregated".to_owned(),
            changes: changes(
                side(&step.figures, step, &now.total),
                side(&base.figures, base, &was.total),
                options,
            ),
        };
        let mut requests = Vec::new();
        for (ri, (name, figures)) in step.requests_by_name.iter().enumerate() {
            let Some(bj) = base.requests_by_name.iter().position(|(n, _)| n == name) else {
                continue;
            };
            let base_figures = &base.requests_by_name.0[bj].1;
            if figures.requests == 0 && base_figures.requests == 0 {
                continue;
            }
            requests.push(RequestComparison {
                name: name.to_owned(),
                changes: changes(
                    side(figures, step, &now.requests[ri]),
                    side(base_figures, base, &was.requests[bj]),
                    options,
                ),
            });
        }
        steps.push(StepComparison {
            index: step.index,
            label: step.label.clone(),
            total,
            requests,
        });
    }
    for base in &baseline.steps {
        if !current.steps.iter().any(|s| s.index == base.index) {
            notes.push(format!("{} did not run this time", base.title()));
        }
    }
    let knee = match (&current.analysis.knee, &baseline.analysis.knee) {
        (Some(now), Some(was)) => Some(KneeChange::of(now, was)),
        _ => None,
    };
    Ok(Comparison {
        current_run: current.run_id,
        baseline_run: baseline.run_id,
        steps,
        notes,
        knee,
    })
}

/// One run's side of a comparison.
struct Side<'a> {
    figures: &'a Figures,
    step: &'a StepSummary,
    samples: &'a Samples,
    /// Both runs have records: the run-to-run test applies.
    from_record: bool,
}

fn changes(now: Side<'_>, was: Side<'_>, options: &CompareOptions) -> Vec<Change> {
    let z = options.z;
    // Each tail of the bootstrap interval that matches `z` (0.5 % each for 99 %).
    let tail = normal_tail(z);
    let beyond_spread = |statistic: Statistic| -> bool {
        if !now.from_record {
            return true;
        }
        match (
            interval(&now.samples.blocks, statistic, tail),
            interval(&was.samples.blocks, statistic, tail),
        ) {
            (Some((now_lo, now_hi)), Some((was_lo, was_hi))) => now_lo > was_hi || now_hi < was_lo,
            _ => false,
        }
    };
    let mut out = Vec::new();
    for (metric, q) in [
        (Metric::P50, 0.50),
        (Metric::P95, 0.95),
        (Metric::P99, 0.99),
    ] {
        let (current, cur_lo, cur_hi) = quantile_interval(&now.samples.latency, q, z);
        let (baseline, base_lo, base_hi) = quantile_interval(&was.samples.latency, q, z);
        let sampled = !now.samples.latency.is_empty()
            && !was.samples.latency.is_empty()
            && (cur_lo > base_hi || cur_hi < base_lo);
        let significant = sampled && beyond_spread(Statistic::Quantile(q));
        out.push(change(
            metric,
            baseline,
            current,
            significant,
            current > baseline,
        ));
    }
    let (n, w) = (now.figures, was.figures);
    let sampled = proportions_differ((n.failed, n.requests), (w.failed, w.requests), z);
    let significant = sampled && beyond_spread(Statistic::ErrorRate);
    out.push(change(
        Metric::ErrorRate,
        w.error_rate,
        n.error_rate,
        significant,
        n.error_rate > w.error_rate,
    ));
    let sampled = rates_differ(
        (n.requests, now.step.duration_s),
        (w.requests, was.step.duration_s),
        z,
    );
    let significant = sampled && beyond_spread(Statistic::Rps);
    out.push(change(
        Metric::Rps,
        w.rps,
        n.rps,
        significant,
        n.rps < w.rps,
    ));
    out
}

/// The one-sided tail probability of a standard normal beyond `z` (Abramowitz and Stegun
/// 26.2.17, exact to 1e-7): 0.005 for 2.576.
fn normal_tail(z: f64) -> f64 {
    let t = 1.0 / (1.0 + 0.231_641_9 * z.abs());
    let poly = t
        * (0.319_381_530
            + t * (-0.356_563_782
                + t * (1.781_477_937 + t * (-1.821_255_978 + t * 1.330_274_429))));
    (-z * z / 2.0).exp() / (2.0 * std::f64::consts::PI).sqrt() * poly
}

fn change(metric: Metric, baseline: f64, current: f64, significant: bool, worse: bool) -> Change {
    Change {
        metric,
        baseline,
        current,
        change_pct: (baseline > 0.0).then(|| round((current - baseline) / baseline * 100.0, 2)),
        significant,
        worse: significant && worse,
    }
}

/// The q-quantile in ms and its confidence interval `(value, low, high)`.
pub(crate) fn quantile_interval(latency: &Latency, q: f64, z: f64) -> (f64, f64, f64) {
    if latency.is_empty() {
        return (0.0, 0.0, 0.0);
    }
    let h = latency.histogram();
    let n = latency.count() as f64;
    let spread = z * (q * (1.0 - q) / n).sqrt();
    let low = h.lowest_equivalent(latency.quantile_us((q - spread).max(0.0)));
    let high = h.highest_equivalent(latency.quantile_us((q + spread).min(1.0)));
    let ms = |us: u64| ms_of_us(us as f64);
    (ms(latency.quantile_us(q)), ms(low), ms(high))
}

/// Two-proportion z-test on `(failed, requests)`.
fn proportions_differ((f1, n1): (u64, u64), (f2, n2): (u64, u64), z: f64) -> bool {
    if n1 == 0 || n2 == 0 {
        return false;
    }
    let (f1, n1, f2, n2) = (f1 as f64, n1 as f64, f2 as f64, n2 as f64);
    let pooled = (f1 + f2) / (n1 + n2);
    let se = (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
    se > 0.0 && ((f1 / n1 - f2 / n2) / se).abs() > z
}

/// Poisson z-test on `(count, seconds)`.
fn rates_differ((c1, s1): (u64, f64), (c2, s2): (u64, f64), z: f64) -> bool {
    if s1 <= 0.0 || s2 <= 0.0 || c1 + c2 == 0 {
        return false;
    }
    let (c1, c2) = (c1 as f64, c2 as f64);
    let se = (c1 / (s1 * s1) + c2 / (s2 * s2)).sqrt();
    ((c1 / s1 - c2 / s2) / se).abs() > z
}

impl Comparison {
    /// True when any step or request got worse, beyond noise, by more than `pct` percent:
    /// what `--fail-on-regression PCT` fails on.
    pub fn regressed(&self, pct: f64) -> bool {
        !self.regressions(pct).is_empty()
    }

    /// Every regression beyond `pct` percent, described: `step 2 GET /items p95 +35% (40 -> 54 ms)`.
    pub fn regressions(&self, pct: f64) -> Vec<String> {
        let mut out = Vec::new();
        for step in &self.steps {
            for request in std::iter::once(&step.total).chain(&step.requests) {
                for c in request.changes.iter().filter(|c| c.regressed(pct)) {
                    out.push(format!(
                        "step {} {} {}",
                        step.index + 1,
                        request.name,
                        describe(c)
                    ));
                }
            }
        }
        out
    }
}

/// A change's value in its metric's unit, for people.
pub(crate) fn value(metric: Metric, v: f64) -> String {
    format::value(metric.unit(), v)
}

pub(crate) fn signed_pct(pct: f64) -> String {
    format!("{}{}%", if pct > 0.0 { "+" } else { "" }, short(pct))
}

fn describe(c: &Change) -> String {
    format!(
        "{} {} ({} -> {})",
        c.metric.name(),
        c.change_pct.map_or("up from 0".to_owned(), signed_pct),
        value(c.metric, c.baseline),
        value(c.metric, c.current)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn latency(values_us: impl IntoIterator<Item = u64>) -> Latency {
        let mut l = Latency::new();
        for v in values_us {
            l.record_us(v);
        }
        l
    }

    #[test]
    fn same_distribution_is_not_significant_a_shifted_one_is() {
        let a = latency((0..10_000).map(|i| 10_000 + (i * 7919) % 5000));
        let b = latency((0..10_000).map(|i| 10_000 + (i * 104_729) % 5000));
        let c = latency((0..10_000).map(|i| 11_000 + (i * 7919) % 5000));
        let (_, alo, ahi) = quantile_interval(&a, 0.95, 2.576);
        let (_, blo, bhi) = quantile_interval(&b, 0.95, 2.576);
        let (_, clo, _) = quantile_interval(&c, 0.95, 2.576);
        assert!(alo <= bhi && blo <= ahi, "overlap expected");
        assert!(clo > ahi, "a 1 ms shift on 10k samples is beyond noise");
    }

    #[test]
    fn few_samples_make_wide_intervals() {
        let small = latency([10_000, 20_000, 30_000, 40_000, 50_000]);
        let (p50, lo, hi) = quantile_interval(&small, 0.5, 2.576);
        assert_eq!(p50, 30.015);
        assert!(lo <= 10.0 && hi >= 50.0, "{lo} {hi}");
    }

    #[test]
    fn proportion_and_rate_tests() {
        assert!(!proportions_differ((10, 10_000), (12, 10_000), 2.576));
        assert!(proportions_differ((10, 10_000), (100, 10_000), 2.576));
        assert!(!proportions_differ((0, 100), (0, 100), 2.576));
        assert!(!rates_differ((1000, 10.0), (1010, 10.0), 2.576));
        assert!(rates_differ((1000, 10.0), (1500, 10.0), 2.576));
    }

    #[test]
    fn the_bootstrap_tail_matches_the_confidence() {
        assert!((normal_tail(2.576) - 0.005).abs() < 1e-4);
        assert!((normal_tail(1.96) - 0.025).abs() < 1e-4);
    }

    #[test]
    fn regressions_need_significance_direction_and_size() {
        let c = change(Metric::P95, 100.0, 130.0, true, true);
        assert!(c.regressed(10.0) && !c.regressed(30.0));
        assert!(!change(Metric::P95, 100.0, 130.0, false, true).regressed(10.0));
        assert!(!change(Metric::Rps, 100.0, 130.0, true, false).regressed(10.0));
        assert!(change(Metric::ErrorRate, 0.0, 0.01, true, true).regressed(50.0));
    }

    #[test]
    fn the_knee_change_says_how_the_ceiling_moved_and_why() {
        use crate::judge::analysis::testing::step;
        use crate::judge::analysis::{AnalysisOptions, knee};
        use stampede_plan::{Condition, Op};
        let levels = [(
            Metric::P95,
            Condition {
                op: Op::Gt,
                value: 300.0,
            },
        )];
        let sweep = |p95s: [f64; 4]| -> Vec<StepSummary> {
            (0..4)
                .map(|i| {
                    step(
                        i,
                        100 * (i as u32 + 1),
                        100.0 * (i as f64 + 1.0),
                        p95s[i],
                        0.0,
                    )
                })
                .collect()
        };
        let options = AnalysisOptions::default();
        let was = knee(&sweep([40.0, 60.0, 90.0, 350.0]), 0.8, &levels, &options);
        let now = knee(&sweep([40.0, 60.0, 320.0, 900.0]), 0.8, &levels, &options);
        let change = KneeChange::of(&now, &was);
        assert_eq!(
            change.sentence,
            "safe ceiling 320 -> 240 users: the knee moved from 400 to 300 users; p95 crossed \
             300 ms first"
        );
        assert_eq!(
            (change.baseline_ceiling_users, change.current_ceiling_users),
            (Some(320), Some(240))
        );
        let same = KneeChange::of(&now, &now);
        assert_eq!(
            same.sentence,
            "safe ceiling 240 users (unchanged): the knee stayed at 300 users; p95 crossed 300 ms \
             first"
        );
        let heuristic = knee(&sweep([40.0, 60.0, 90.0, 350.0]), 0.8, &[], &options);
        let changed_rule = KneeChange::of(&now, &heuristic);
        assert!(
            changed_rule.sentence.ends_with(
                "(found by your levels: p95 > 300 ms now, by heuristic in the baseline)"
            ),
            "{}",
            changed_rule.sentence
        );
    }
}
