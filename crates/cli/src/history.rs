//! `stampede history`: the runs recorded for a scenario, to see a trend (a nightly soak's p95
//! creeping up) without opening a file. Runs are grouped by their configuration fingerprint
//! (scenario, overrides, target, threads, version, host), so a trend compares like with like.

use std::path::PathBuf;

use anyhow::Context as _;

use crate::exit;
use crate::output;
use crate::scenarios::results_of;

/// Show the runs recorded for a scenario, oldest first, one table per configuration, with the
/// trend of p95 and RPS.
#[derive(Debug, clap::Args)]
pub struct HistoryCmd {
    /// The scenario: a name from the scenarios folder (`plans/x`), a path to its file, or its
    /// results folder's name when the file is gone.
    scenario: String,
    /// Root of the results.
    #[arg(long, default_value = "results")]
    out: PathBuf,
    /// Where scenario names are looked up.
    #[arg(long, default_value = "scenarios", env = "STAMPEDE_SCENARIOS")]
    scenarios: PathBuf,
    /// How many of the latest runs to show.
    #[arg(long, alias = "last", default_value_t = 20)]
    limit: usize,
    /// Mix every configuration in one table (by default a trend stays within one).
    #[arg(long)]
    all: bool,
    /// text: tables; json: the entries as a JSON array; csv: a row per run.
    #[arg(long, value_enum, default_value_t)]
    output_format: HistoryFormat,
}

/// `stampede history --output-format`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum HistoryFormat {
    #[default]
    Text,
    Json,
    Csv,
}

impl HistoryCmd {
    pub fn run(self) -> anyhow::Result<u8> {
        let dir = results_of(&self.out, &self.scenario, &self.scenarios)?.dir;
        if !dir.is_dir() {
            let known: Vec<String> = std::fs::read_dir(&self.out)
                .map(|entries| {
                    entries
                        .flatten()
                        .filter(|e| e.path().is_dir())
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .collect()
                })
                .unwrap_or_default();
            let hint = if known.is_empty() {
                format!(
                    "no results under {} yet; runs write there (see --out)",
                    self.out.display()
                )
            } else {
                format!("scenarios with results: {}", known.join(", "))
            };
            eprintln!(
                "error: no results for `{}` in {}",
                self.scenario,
                self.out.display()
            );
            eprintln!("hint: {hint}");
            return Ok(exit::USAGE);
        }
        let entries = stampede_reporter::history(&dir)
            .with_context(|| format!("cannot read the history in {}", dir.display()))?;
        let limit = self.limit.max(1);
        let shown = &entries[entries.len().saturating_sub(limit)..];
        let text = match self.output_format {
            HistoryFormat::Text => stampede_reporter::history_table(&entries, limit, self.all),
            HistoryFormat::Json => serde_json::to_string_pretty(shown)? + "\n",
            HistoryFormat::Csv => stampede_reporter::history_csv(shown),
        };
        output::print(&text)?;
        Ok(exit::PASSED)
    }
}
