//! Result files of a run: steps.csv, summary.json, time series, interval logs, failures,
//! Markdown and HTML reports, thresholds, analysis, history and comparison.
//!
//! Knows nothing of the network: no tokio, no hyper, no engine. It gets a `Plan` and the run's
//! `Event`s (plain data from `stampede-metrics`) and owns every file format, so an engine change
//! cannot quietly change a column. Everything it writes is written atomically, and everything a
//! report shows is rebuilt from summary.json and histograms.hlog alone (`rerender`, `compare`).
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

mod analysis;
mod atomic;
mod clock;
mod compare;
mod describe;
mod error;
mod facts;
mod failures;
mod history;
mod hlog;
mod html;
mod markdown;
mod monitor;
mod named;
mod render;
mod reporter;
mod series;
mod steps_csv;
mod streams;
mod summary;
mod text;
mod threshold;
mod timeseries;
mod window;

pub use analysis::{Analysis, AnalysisOptions, Burst, CurvePoint, Drift, Elbow, Knee};
pub use atomic::write_atomic;
pub use clock::new_run_id;
pub use compare::{Change, CompareOptions, Comparison, RequestComparison, StepComparison, compare};
pub use error::Error;
pub use history::{
    HISTORY_FILE, HistoryEntry, HistoryFigures, HistoryStep, append as append_history, history,
    history_table, previous_run,
};
pub use hlog::{HLOG_FILE, HlogInterval, StepHistograms, read_intervals};
pub use monitor::MonitorSummary;
pub use named::Named;
pub use render::{HTML_FILE, MARKDOWN_FILE, rerender};
pub use reporter::{FAILURES_FILE, Reporter, RunMeta, STEPS_FILE};
pub use series::{Series, SeriesPoint};
pub use stampede_metrics::{Figures, LatencyFrom, LatencyMs, LoadFigures};
pub use streams::TIMESERIES_FILE;
pub use summary::{
    FailureRow, SCHEMA_VERSION, SUMMARY_FILE, StepSummary, Summary, TotalSummary, Verdict,
};
pub use threshold::ThresholdResult;

#[cfg(test)]
mod testdata;
