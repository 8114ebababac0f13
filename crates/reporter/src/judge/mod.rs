//! Judging a run: thresholds, the analyses each kind gets (knee, elbow, drift, burst recovery),
//! and the comparison of two runs. Reads figures (`stampede_metrics::Figures` inside the summary
//! schema), never raw requests, so every judgement can be recomputed from stored results.

pub mod analysis;
pub mod bootstrap;
pub mod compare;
pub mod facts;
pub mod samples;
pub mod streams;
pub mod thresholds;
pub mod verdict;
