//! `stampede history`: the runs recorded for a scenario, to see a trend (a nightly soak's p95
//! creeping up) without opening a file.

use std::path::PathBuf;

use anyhow::Context as _;

use crate::exit;
use crate::output::{self, OutputFormat};
use crate::scenarios::results_of;

/// Show the runs recorded for a scenario, oldest first, with the trend of p95 and RPS.
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
    #[arg(long, default_value_t = 20)]
    last: usize,
    /// text: a table; json: the entries as a JSON array.
    #[arg(long, value_enum, default_value_t)]
    output_format: OutputFormat,
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
        let text = match self.output_format {
            OutputFormat::Text => stampede_reporter::history_table(&entries, self.last.max(1)),
            OutputFormat::Json => {
                let shown = &entries[entries.len().saturating_sub(self.last.max(1))..];
                serde_json::to_string_pretty(shown)? + "\n"
            }
        };
        output::print(&text)?;
        Ok(exit::PASSED)
    }
}
