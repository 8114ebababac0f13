//! `stampede init`: a starter `scenarios/` folder, one commented example of each kind.
//!
//! The examples are the shipped scenarios, embedded at build time, so they are the files the
//! test suite validates and cannot drift from the format. Existing files are never overwritten.

use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;

use crate::exit;
use crate::output::{self, Hinted};

/// Write a starter scenarios/ folder: one example of each kind, and the JSON Schema editors use.
#[derive(Debug, clap::Args)]
pub struct InitCmd {
    /// Where to create scenarios/.
    #[arg(default_value = ".")]
    dir: PathBuf,
}

/// (file name, what the kind is for, the shipped file)
const TEMPLATES: [(&str, &str, &str); 5] = [
    (
        "smoke.toml",
        "A quick sanity run: a few users for a short time. Before every deploy.",
        include_str!("../../../scenarios/smoke.toml"),
    ),
    (
        "capacity.toml",
        "A sweep over user counts, one step each, to find the knee and a safe ceiling.",
        include_str!("../../../scenarios/capacity.toml"),
    ),
    (
        "throughput.toml",
        "Latency against arrival rate (open model): a slow target cannot slow the senders.",
        include_str!("../../../scenarios/throughput.toml"),
    ),
    (
        "burst.toml",
        "A baseline, a sudden burst, then the baseline again to watch the recovery.",
        include_str!("../../../scenarios/burst.toml"),
    ),
    (
        "soak.toml",
        "A long steady run, reported as a time series, to catch leaks and drift.",
        include_str!("../../../scenarios/soak.toml"),
    ),
];

const SCHEMA_FILE: &str = "stampede.schema.json";

/// The shipped file with its `#:schema` line pointed at the schema written beside it, and a
/// header saying what the file is and where to go next.
fn starter(name: &str, about: &str, shipped: &str) -> String {
    let stem = name.trim_end_matches(".toml");
    let body: String = shipped
        .lines()
        .filter(|l| !l.starts_with("#:schema"))
        .map(|l| format!("{l}\n"))
        .collect();
    format!(
        "#:schema {SCHEMA_FILE}\n\
         # {about}\n\
         # Run it: `stampede run {stem}`; see its steps: `stampede plan {stem}`; try it short:\n\
         # `stampede run {stem} --set hold=5s` (or duration=5s). Every key is described in\n\
         # docs/scenarios.md of the stampede repository. base-url = \"builtin\" is a demo server\n\
         # inside stampede; point it at yours (loopback only unless allow-remote = true).\n\
         {body}"
    )
}

impl InitCmd {
    pub fn run(self) -> anyhow::Result<u8> {
        let folder = self.dir.join("scenarios");
        let mut files: Vec<(PathBuf, String)> = TEMPLATES
            .iter()
            .map(|(name, about, shipped)| (folder.join(name), starter(name, about, shipped)))
            .collect();
        let schema = serde_json::to_string_pretty(&stampede_scenario::json_schema())? + "\n";
        files.push((folder.join(SCHEMA_FILE), schema));

        // Refuse before writing anything, naming every file in the way.
        let existing: Vec<String> = files
            .iter()
            .filter(|(path, _)| path.exists())
            .map(|(path, _)| path.display().to_string())
            .collect();
        if !existing.is_empty() {
            return Err(Hinted::error(
                format!("refusing to overwrite {}", existing.join(", ")),
                "move them away, or give another folder: `stampede init DIR`",
            ));
        }
        std::fs::create_dir_all(&folder)
            .with_context(|| format!("cannot create {}", folder.display()))?;
        let mut created = String::new();
        for (path, text) in &files {
            // create_new: a file that appeared since the check is still not overwritten.
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            file.write_all(text.as_bytes())
                .with_context(|| format!("cannot write {}", path.display()))?;
            created.push_str(&format!("created {}\n", path.display()));
        }
        output::print(&created)?;
        let next = if self.dir == std::path::Path::new(".") {
            "stampede validate; stampede run smoke --set duration=5s".to_owned()
        } else {
            format!(
                "stampede validate --dir {f}; stampede run smoke --scenarios {f} --set duration=5s",
                f = folder.display()
            )
        };
        eprintln!("next: {next}");
        Ok(exit::PASSED)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starters_point_at_the_schema_beside_them_and_still_load() {
        for (name, about, shipped) in TEMPLATES {
            let text = starter(name, about, shipped);
            assert!(
                text.starts_with("#:schema stampede.schema.json\n# "),
                "{text}"
            );
            assert_eq!(text.matches("#:schema").count(), 1, "{name}");
            let plan = stampede_scenario::load_str(
                &text,
                name,
                std::path::Path::new("."),
                &stampede_scenario::Overrides::default(),
            );
            assert!(plan.is_ok(), "{name}: {}", plan.unwrap_err());
        }
    }
}
