//! `stampede compare` and `stampede report`: read stored runs, never run anything.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use stampede_reporter::{CompareOptions, HistoryEntry};

use crate::exit;
use crate::output::{self, OutputFormat};
use crate::scenarios::results_of;

/// Compare a run with a baseline, per step and per request: p50/p95/p99, error rate and RPS,
/// flagged only where the difference is beyond run-to-run noise (read from the histograms).
#[derive(Debug, clap::Args)]
pub struct CompareCmd {
    /// The scenario: a name from the scenarios folder (`plans/x`), a path to its file, or its
    /// results folder's name when the file is gone.
    scenario: String,
    /// The run to judge (default: the latest).
    #[arg(long)]
    run: Option<String>,
    /// What to compare with: `last` (the run before), a run id, or `tag:NAME` (the latest
    /// earlier run with that tag).
    #[arg(long, default_value = "last")]
    baseline: String,
    /// Exit 99 when a figure got worse, significantly, by more than this many percent.
    #[arg(long, value_name = "PCT")]
    fail_on_regression: Option<f64>,
    /// Root of the results.
    #[arg(long, default_value = "results")]
    out: PathBuf,
    /// Where scenario names are looked up.
    #[arg(long, default_value = "scenarios", env = "STAMPEDE_SCENARIOS")]
    scenarios: PathBuf,
    #[arg(long, value_enum, default_value_t)]
    output_format: OutputFormat,
    /// Also write the comparison as one self-contained HTML page, to share.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
}

impl CompareCmd {
    pub fn run(self) -> anyhow::Result<u8> {
        let results = results_of(&self.out, &self.scenario, &self.scenarios)?;
        let dir = results.dir.clone();
        let entries = stampede_reporter::history(&dir)
            .with_context(|| format!("cannot read the history in {}", dir.display()))?;
        let current = match &self.run {
            Some(id) => {
                results.run_dir(id)?;
                id.clone()
            }
            None => match entries.last() {
                Some(entry) => entry.run_id.clone(),
                None => bail!("no runs recorded in {}", dir.display()),
            },
        };
        let baseline = pick_baseline(&dir, &entries, &current, &self.baseline)?;
        let comparison =
            stampede_reporter::compare(&dir.join(&current), &baseline, &CompareOptions::default())
                .context("cannot compare the two runs")?;
        let text = match self.output_format {
            OutputFormat::Text => comparison.to_text(),
            OutputFormat::Json => serde_json::to_string_pretty(&comparison)? + "\n",
        };
        output::print(&text)?;
        if let Some(path) = &self.html {
            let page = comparison.to_html(&self.scenario);
            stampede_reporter::write_atomic(path, page.as_bytes())
                .with_context(|| format!("cannot write {}", path.display()))?;
            tracing::info!("comparison: {}", path.display());
        }
        if let Some(pct) = self.fail_on_regression
            && comparison.regressed(pct)
        {
            for line in comparison.regressions(pct) {
                eprintln!("regression: {line}");
            }
            return Ok(exit::THRESHOLDS_FAILED);
        }
        Ok(exit::PASSED)
    }
}

fn pick_baseline(
    dir: &Path,
    entries: &[HistoryEntry],
    current: &str,
    baseline: &str,
) -> anyhow::Result<PathBuf> {
    if baseline == "last" {
        return stampede_reporter::previous_run(dir, current)?
            .with_context(|| format!("no run before {current} in {}", dir.display()));
    }
    if let Some(tag) = baseline.strip_prefix("tag:") {
        let before = entries
            .iter()
            .position(|e| e.run_id == current)
            .unwrap_or(entries.len());
        return entries[..before]
            .iter()
            .rev()
            .find(|e| e.tag.as_deref() == Some(tag))
            .map(|e| dir.join(&e.run_id))
            .with_context(|| format!("no run tagged `{tag}` before {current}"));
    }
    stampede_reporter::store::results::check_name(baseline, "a run id")
        .map_err(anyhow::Error::msg)?;
    let path = dir.join(baseline);
    if !path.is_dir() {
        bail!("no run `{baseline}` in {}", dir.display());
    }
    Ok(path)
}

/// Rebuild a stored run's files from its run record (record.jsonl): every file, byte for byte as
/// the run wrote them, or the results of a run that was killed, up to its last interval. A run
/// without a record (from an older stampede) gets report.html and summary.md again from its
/// summary.json. The history is left alone.
#[derive(Debug, clap::Args)]
pub struct ReportCmd {
    /// The run's directory, e.g. results/smoke/20261123T101500Z.
    run_dir: PathBuf,
}

impl ReportCmd {
    pub fn run(self) -> anyhow::Result<u8> {
        let summary = if self.run_dir.join(stampede_reporter::RECORD_FILE).is_file() {
            stampede_reporter::Reporter::replay(&self.run_dir)
                .with_context(|| format!("cannot replay {}", self.run_dir.display()))?
        } else {
            stampede_reporter::rerender(&self.run_dir)
                .with_context(|| format!("cannot re-render {}", self.run_dir.display()))?
        };
        output::print(&format!(
            "{}\nreport: {}\n",
            summary.verdict_line(),
            self.run_dir.join(stampede_reporter::HTML_FILE).display()
        ))?;
        Ok(exit::PASSED)
    }
}
