//! Rendering for people, from the summary schema alone: the console summary, summary.md,
//! report.html, the history table and the comparison table. Written at the end of a run, and
//! again later by `rerender` from a stored summary.json.

pub mod compare;
pub(crate) mod escape;
pub mod history;
pub mod html;
pub mod markdown;
pub mod text;

use std::path::Path;

use crate::Error;
use crate::store::atomic::write_atomic;
use crate::summary::Summary;

pub const MARKDOWN_FILE: &str = "summary.md";
pub const HTML_FILE: &str = "report.html";

pub(crate) fn write_rendered(dir: &Path, summary: &Summary) -> Result<(), Error> {
    write_atomic(
        &dir.join(MARKDOWN_FILE),
        markdown::render(summary).as_bytes(),
    )?;
    write_atomic(&dir.join(HTML_FILE), html::render(summary).as_bytes())
}

/// Rebuilds report.html and summary.md of a stored run from its summary.json, so a report made
/// by an older stampede can be redrawn by a newer one.
pub fn rerender(run_dir: &Path) -> Result<Summary, Error> {
    let summary = Summary::read(run_dir)?;
    write_rendered(run_dir, &summary)?;
    Ok(summary)
}
