//! Result files of a run: steps.csv, summary.json, time series, interval logs, failures,
//! Markdown and HTML reports, thresholds, analysis, history and comparison.
//!
//! Knows nothing of the network: no tokio, no hyper, no engine, no parser. It gets a `Plan` and
//! the run's `Event`s (plain data from `stampede-metrics`) and owns every file format, so an
//! engine change cannot quietly change a column. Everything it writes is written atomically.
//!
//! Rooms, by job (each may use the ones before it, never one after):
//!
//! | room | job |
//! |---|---|
//! | `summary` | the schema: summary.json's types, plain data |
//! | `store` | where results live: atomic writes, run ids, history, the interval log |
//! | `judge` | thresholds, analyses, comparison |
//! | `render` | text, Markdown, HTML, tables, from a summary alone |
//! | `live` | the `Reporter`: events in, streamed files and the finished summary out |
//!
//! Files of a run, in `results/<scenario>/<run-id>/`:
//!
//! | file | what |
//! |---|---|
//! | `steps.csv` | per step and request, Locust `_stats.csv` columns |
//! | `timeseries.csv` | per interval and request, not cumulative |
//! | `failures.csv` | per request and error, with first and last seen |
//! | `histograms.hlog` | HdrHistogram interval log, one tagged histogram per interval and request |
//! | `summary.json` | verdict, thresholds, per-step and total figures, analysis, series |
//! | `summary.md` | verdict, thresholds and steps in Markdown, for a CI job summary |
//! | `report.html` | one self-contained page with charts |
//!
//! and `results/<scenario>/history.jsonl`, one line per run.

mod error;
pub mod judge;
pub mod live;
pub mod render;
pub mod store;
pub mod summary;

pub use error::Error;
pub use judge::analysis::AnalysisOptions;
pub use judge::compare::{
    Change, CompareOptions, Comparison, KneeChange, RequestComparison, StepComparison, compare,
};
pub use live::streams::TIMESERIES_FILE;
pub use live::{FAILURES_FILE, Reporter, STEPS_FILE};
pub use render::history::{history_csv, history_table};
pub use render::{HTML_FILE, MARKDOWN_FILE, rerender};
pub use stampede_metrics::MonitorFigures;
pub use stampede_metrics::{Figures, LatencyFrom, LatencyMs, LoadFigures};
pub use store::atomic::{remove_stale_temporaries, write_atomic};
pub use store::clock::new_run_id;
pub use store::history::{
    DEFAULT_KEEP, HISTORY_FILE, HistoryEntry, HistoryFigures, HistoryKnee, HistoryStep,
    append as append_history, history, previous_run,
};
pub use store::hlog::{HLOG_FILE, HlogInterval, StepHistograms, read_intervals};
pub use store::record::{RECORD_FILE, RecordHeader, RecordLine, read_record};
pub use summary::analysis::{Analysis, Burst, CurvePoint, Drift, Elbow, Knee};
pub use summary::named::Named;
pub use summary::plan::PlanFacts;
pub use summary::series::{Series, SeriesPoint};
pub use summary::threshold::{JudgedScope, ThresholdResult, ValueUnit};
pub use summary::{
    CheckResult, FailureRow, Fingerprint, Repeat, RunMeta, SCHEMA_VERSION, SUMMARY_FILE,
    StepSummary, Summary, TotalSummary, Verdict,
};

#[cfg(test)]
mod testdata;
