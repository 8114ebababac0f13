//! `stampede merge`: glue from the command line to the reporter's merge of segment records.

use std::path::PathBuf;

use anyhow::Context as _;
use stampede_reporter::live::merge;

use crate::exit;
use crate::output;

/// Merge the segments of a run split with `stampede run --segment i/n` into one run.
///
/// Reads each segment's record.jsonl (give the segments' run folders, or folders holding
/// them), checks they are every segment of one run, adds their histograms and counts interval
/// by interval, and writes the usual results, judged once on the merged figures.
#[derive(Debug, clap::Args)]
#[command(after_help = exit::TABLE)]
pub struct MergeCmd {
    /// Segment run folders, or folders holding them.
    #[arg(required = true)]
    dirs: Vec<PathBuf>,
    /// The merged run's folder (default: the run group's name beside the first segment's run
    /// folder, i.e. in the scenario's results folder, whose history it joins).
    #[arg(long)]
    out: Option<PathBuf>,
}

impl MergeCmd {
    pub fn run(self) -> anyhow::Result<u8> {
        let records = merge::find_records(&self.dirs);
        let out = match (&self.out, records.first()) {
            (Some(out), _) => out.clone(),
            (None, Some(first)) => default_out(first)?,
            (None, None) => PathBuf::from("."),
        };
        let summary = match merge::merge(&records, &out) {
            Ok(summary) => summary,
            Err(err @ stampede_reporter::Error::Segments { .. }) => {
                eprintln!("error: {err}");
                eprintln!("hint: give every segment of one run, each once");
                return Ok(exit::USAGE);
            }
            Err(err) => return Err(err).context("cannot merge the segments"),
        };
        if let Some(tag) = &summary.scale_out {
            say_skew(tag);
        }
        let text = summary.to_text();
        output::print(&format!("{text}results: {}\n", out.display()))
            .context("cannot print the summary")?;
        Ok(exit::of_verdict(summary.verdict))
    }
}

/// `OUT/<scenario>/<group>`, beside the first segment's `OUT/<scenario>/<run-id>`.
fn default_out(record: &std::path::Path) -> anyhow::Result<PathBuf> {
    let header = stampede_reporter::store::record::RecordReader::open(record)?.header;
    let group = header
        .meta
        .scale_out
        .map(|tag| tag.group)
        .unwrap_or_default();
    let scenario_dir = record
        .parent()
        .and_then(|run| run.parent())
        .context("a record without a results folder")?;
    Ok(scenario_dir.join(group))
}

/// How far apart the segments began, on stderr with the other log lines: a skew of seconds
/// means the steps did not line up and the merged intervals mix different loads.
fn say_skew(tag: &stampede_reporter::summary::ScaleOut) {
    use stampede_metrics::{format, ms_of_us};
    let ms = |us: u64| format::ms(ms_of_us(us as f64));
    let late = tag.start_late_us.map_or(String::new(), |us| {
        format!(", latest start {} ms after --start-at", ms(us))
    });
    tracing::info!(
        "merged {} segments of group {}: start skew {} ms{late}",
        tag.segments,
        tag.group,
        tag.start_skew_us.map_or("unknown".to_owned(), ms),
    );
}
