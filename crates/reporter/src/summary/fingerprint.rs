//! A run's configuration: what must be the same for two runs' figures to form a trend. The CLI
//! fills it in (it alone sees the flags, the host and the scenario file); the reporter stores it
//! in the run record, summary.json and history.jsonl, and `history` groups runs by it.

use serde::{Deserialize, Serialize};

/// Who ran what, how and where. Two runs with equal fingerprints are comparable.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// SHA-256 of the scenario file and the overrides applied, in hex.
    pub scenario_sha256: String,
    /// Overrides as given (`--set users=2`, `STAMPEDE_HOLD=10s`, `--target URL`), values of
    /// secret-looking keys redacted.
    pub overrides: Vec<String>,
    /// The base URL the run sent to.
    pub target: String,
    /// Load threads.
    pub threads: usize,
    /// The stampede that ran it.
    pub version: String,
    pub host: String,
    /// CPUs available to the run.
    pub cpus: usize,
}

impl Fingerprint {
    /// The configuration in one line: `target http://127.0.0.1:8080, 1 thread, set users=2,
    /// stampede 0.1.0 on ci-7 (2 CPUs), scenario 3f2a9c1b`.
    pub fn describe(&self) -> String {
        let overrides = if self.overrides.is_empty() {
            "no overrides".to_owned()
        } else {
            self.overrides.join(" ")
        };
        format!(
            "target {}, {} thread{}, {overrides}, stampede {} on {} ({} CPU{}), scenario {}",
            self.target,
            self.threads,
            if self.threads == 1 { "" } else { "s" },
            self.version,
            self.host,
            self.cpus,
            if self.cpus == 1 { "" } else { "s" },
            self.scenario_sha256
                .get(..8)
                .unwrap_or(&self.scenario_sha256),
        )
    }
}
