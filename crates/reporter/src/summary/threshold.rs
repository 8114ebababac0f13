//! A threshold as judged, as summary.json stores it: the rule in words, the scope, the value
//! observed and whether it held. Judged by `crate::judge::thresholds`; plain data here.

use serde::{Deserialize, Serialize};
use stampede_metrics::format;
use stampede_plan::Unit;

/// One threshold judged against one scope.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ThresholdResult {
    /// The metric's one name, as in the scenario: `p95`, `error-rate`, `p95-growth`.
    pub metric: String,
    /// How its values read.
    pub unit: ValueUnit,
    pub scope: JudgedScope,
    /// What must hold, with its unit: `< 500 ms`, `< 1%`, `> 100/s`.
    pub condition: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warn_condition: Option<String>,
    /// The value judged, in the metric's unit (ms, a fraction, or per second); `null` when the
    /// scope had no requests at all.
    pub observed: Option<f64>,
    pub passed: bool,
    /// The stricter `warn` condition did not hold.
    pub warned: bool,
}

/// The unit of a judged value, as summary.json names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ValueUnit {
    Ms,
    Fraction,
    PerSecond,
    MbPerHour,
    Count,
}

impl From<Unit> for ValueUnit {
    fn from(unit: Unit) -> ValueUnit {
        match unit {
            Unit::Millis => ValueUnit::Ms,
            Unit::Fraction => ValueUnit::Fraction,
            Unit::PerSecond => ValueUnit::PerSecond,
            Unit::MbPerHour => ValueUnit::MbPerHour,
            Unit::Count => ValueUnit::Count,
        }
    }
}

impl From<ValueUnit> for Unit {
    fn from(unit: ValueUnit) -> Unit {
        match unit {
            ValueUnit::Ms => Unit::Millis,
            ValueUnit::Fraction => Unit::Fraction,
            ValueUnit::PerSecond => Unit::PerSecond,
            ValueUnit::MbPerHour => Unit::MbPerHour,
            ValueUnit::Count => Unit::Count,
        }
    }
}

/// What a threshold judged: the run, one step, or one request over the run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "scope")]
pub enum JudgedScope {
    Run,
    Step { index: usize },
    Request { name: String },
    Stream { name: String },
}

impl ThresholdResult {
    /// "p95 < 500 ms (step 2)" for people.
    pub fn describe(&self) -> String {
        format!("{} {} ({})", self.metric, self.condition, self.scope_text())
    }

    pub fn scope_text(&self) -> String {
        match &self.scope {
            JudgedScope::Run => "run".to_owned(),
            JudgedScope::Step { index } => format!("step {}", index + 1),
            JudgedScope::Request { name } => name.clone(),
            JudgedScope::Stream { name } => format!("stream {name}"),
        }
    }

    /// The observed value with its unit, or "no data".
    pub fn observed_text(&self) -> String {
        match self.observed {
            Some(value) => format::value(self.unit.into(), value),
            None => "no data".to_owned(),
        }
    }
}
