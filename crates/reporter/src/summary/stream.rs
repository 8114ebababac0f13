//! The `streams` section of summary.json: each `[[stream]]`'s figures over the run and in
//! each step, as the metrics crate computed them (`StreamFigures`).

use serde::{Deserialize, Serialize};
use stampede_metrics::StreamFigures;

/// One stream of the plan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StreamSummary {
    pub name: String,
    /// The protocol, as steps.csv's `Type` column writes it: `SSE` or `WS`.
    pub kind: String,
    /// Over every step.
    #[serde(flatten)]
    pub total: StreamFigures,
    pub steps: Vec<StreamStep>,
}

/// One stream in one step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StreamStep {
    /// The step's position in the plan, from 0, as in `steps`.
    pub index: usize,
    #[serde(flatten)]
    pub figures: StreamFigures,
}
