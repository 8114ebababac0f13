//! The three generators: how each is invoked for a closed or open run, and how its own report
//! is read. stampede's scenarios are written by `scenario`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::runner::Launch;
use super::scenario::{self, Load, OPEN_MAX_USERS};
use super::summary::StampedeReport;
use super::{oha, summary, wrk};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tool {
    Stampede,
    Wrk,
    Oha,
}

impl Tool {
    pub const ALL: [Tool; 3] = [Tool::Stampede, Tool::Wrk, Tool::Oha];

    pub fn name(self) -> &'static str {
        match self {
            Tool::Stampede => "stampede",
            Tool::Wrk => "wrk",
            Tool::Oha => "oha",
        }
    }

    pub fn from_name(name: &str) -> Option<Tool> {
        Tool::ALL.into_iter().find(|t| t.name() == name)
    }
}

/// Where each tool is and what its version needs.
pub struct Toolbox {
    pub nginx: PathBuf,
    pub stampede: PathBuf,
    pub wrk: PathBuf,
    pub oha: PathBuf,
    /// `--output-format json` in current oha, `-j` before it.
    pub oha_json_flag: Vec<String>,
    /// Scenario files go here.
    pub scenarios: PathBuf,
    /// stampede's `--out`.
    pub results: PathBuf,
}

/// The tool's own account of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct OwnReport {
    pub requests_per_sec: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub errors: u64,
    /// stampede's summary, with what only stampede reports (both latencies, phases, streams).
    pub stampede: Option<StampedeReport>,
}

impl Toolbox {
    pub fn launch(
        &self,
        tool: Tool,
        load: Load,
        duration: Duration,
        label: &str,
        url: &str,
    ) -> Result<Launch, String> {
        let secs = format!("{}s", duration.as_secs_f64());
        let (program, args) = match (tool, load) {
            (Tool::Stampede, _) => {
                let file = self.scenarios.join(format!("{label}.toml"));
                std::fs::write(&file, scenario::toml(load, duration, url))
                    .map_err(|e| format!("cannot write {}: {e}", file.display()))?;
                let mut args = vec!["run".to_owned(), file.display().to_string()];
                args.extend(["--threads", "1", "--out"].map(String::from));
                args.extend([self.results.display().to_string(), "-q".to_owned()]);
                (&self.stampede, args)
            }
            (Tool::Wrk, Load::Closed { connections }) => {
                let args = vec![
                    "-t1".to_owned(),
                    format!("-c{connections}"),
                    format!("-d{secs}"),
                    "--latency".to_owned(),
                    url.to_owned(),
                ];
                (&self.wrk, args)
            }
            (Tool::Oha, Load::Closed { connections }) => {
                (&self.oha, self.oha_args(connections, None, &secs, url))
            }
            (Tool::Oha, Load::Open { rate }) => (
                &self.oha,
                self.oha_args(OPEN_MAX_USERS, Some(rate), &secs, url),
            ),
            (tool, load) => {
                return Err(format!(
                    "the bench does not run {} with {load:?}",
                    tool.name()
                ));
            }
        };
        Ok(Launch {
            label: label.to_owned(),
            program: program.clone(),
            args,
            duration,
        })
    }

    fn oha_args(&self, connections: u32, rate: Option<u32>, secs: &str, url: &str) -> Vec<String> {
        let mut args = vec![
            "-z".to_owned(),
            secs.to_owned(),
            "-c".to_owned(),
            connections.to_string(),
        ];
        if let Some(rate) = rate {
            // Latency from the scheduled send, as stampede measures it in the open model.
            args.extend([
                "-q".to_owned(),
                rate.to_string(),
                "--latency-correction".to_owned(),
            ]);
        }
        args.push("--no-tui".to_owned());
        args.extend(self.oha_json_flag.iter().cloned());
        args.push(url.to_owned());
        args
    }

    /// Reads the tool's report of a finished run; `stdout` is what it printed.
    pub fn own_report(
        &self,
        tool: Tool,
        label: &str,
        stdout: &str,
        since: std::time::SystemTime,
    ) -> Result<OwnReport, String> {
        let plain = |requests_per_sec, p50_ms, p99_ms, errors| OwnReport {
            requests_per_sec,
            p50_ms,
            p99_ms,
            errors,
            stampede: None,
        };
        Ok(match tool {
            Tool::Wrk => {
                let r = wrk::parse(stdout)?;
                plain(r.requests_per_sec, r.p50_ms, r.p99_ms, r.errors)
            }
            Tool::Oha => {
                let r = oha::parse(stdout)?;
                plain(r.requests_per_sec, r.p50_ms, r.p99_ms, r.errors)
            }
            Tool::Stampede => {
                // Under the run's own folder (named after its scenario file), so two runs at
                // once (the soaks) never read each other's summary.
                let folder = self.results.join(label);
                let r = summary::read(&summary::find_new(&folder, since)?)?;
                OwnReport {
                    // A failed check is as suspect as a failed request here: nginx answers 200.
                    stampede: Some(r.clone()),
                    ..plain(
                        r.requests_per_sec,
                        r.p50_ms,
                        r.p99_ms,
                        r.failed + r.checks_failed,
                    )
                }
            }
        })
    }
}

/// oha's JSON flag, read from its help text.
pub fn oha_json_flag(help: &str) -> Vec<String> {
    if help.contains("--output-format") {
        vec!["--output-format".to_owned(), "json".to_owned()]
    } else {
        vec!["-j".to_owned()]
    }
}

/// The first of `candidates` that exists, else the bare name for `PATH` to resolve.
pub fn locate(name: &str, candidates: &[&Path]) -> PathBuf {
    candidates
        .iter()
        .find(|p| p.is_file())
        .map_or_else(|| PathBuf::from(name), |p| p.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "http://127.0.0.1:40123/";

    fn toolbox() -> Toolbox {
        Toolbox {
            nginx: "nginx".into(),
            stampede: "stampede".into(),
            wrk: "wrk".into(),
            oha: "oha".into(),
            oha_json_flag: oha_json_flag("--output-format"),
            scenarios: "scenarios".into(),
            results: "results".into(),
        }
    }

    #[test]
    fn wrk_and_oha_command_lines() {
        let ten = Duration::from_secs(10);
        let wrk = toolbox().launch(Tool::Wrk, Load::Closed { connections: 50 }, ten, "w", URL);
        assert_eq!(
            wrk.unwrap().args,
            ["-t1", "-c50", "-d10s", "--latency", URL]
        );
        let oha = toolbox()
            .launch(Tool::Oha, Load::Open { rate: 5000 }, ten, "o", URL)
            .unwrap();
        let expected = "-z 10s -c 200 -q 5000 --latency-correction --no-tui --output-format json";
        assert_eq!(oha.args.join(" "), format!("{expected} {URL}"));
        let open_wrk = toolbox().launch(Tool::Wrk, Load::Open { rate: 5000 }, ten, "w", URL);
        assert!(open_wrk.is_err());
    }

    #[test]
    fn oha_flag_follows_its_version() {
        assert_eq!(
            oha_json_flag("  --output-format <OUTPUT_FORMAT>"),
            ["--output-format", "json"]
        );
        assert_eq!(oha_json_flag("  -j, --json  Print results as JSON"), ["-j"]);
    }
}
