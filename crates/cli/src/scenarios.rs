//! Finding and loading scenarios, and the commands that only read them: validate, list, plan,
//! schema.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use stampede_plan::Plan;
use stampede_scenario::Overrides;

use crate::exit;
use crate::output;

/// Which scenario, and what to override in it.
#[derive(Debug, clap::Args)]
pub struct ScenarioArgs {
    /// A scenario name from the scenarios directory, or a path to a TOML file.
    scenario: String,
    /// Replace the scenario's base-url.
    #[arg(long)]
    target: Option<String>,
    /// Override a key of the scenario file (repeatable): --set duration=5s --set users=20.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Allow a base-url outside loopback (127.0.0.0/8, ::1). Never aim at a server you do not own.
    #[arg(long)]
    allow_remote: bool,
    /// Where scenario names are looked up.
    #[arg(long, default_value = "scenarios", env = "STAMPEDE_SCENARIOS")]
    scenarios: PathBuf,
}

/// STAMPEDE_* variables that configure the tool itself rather than override a scenario key.
const NOT_OVERRIDES: &[&str] = &["STAMPEDE_SCENARIOS", "STAMPEDE_LOG"];

fn env_overrides() -> Vec<(String, String)> {
    std::env::vars()
        .filter(|(name, _)| name.starts_with("STAMPEDE_"))
        .filter(|(name, _)| !NOT_OVERRIDES.contains(&name.as_str()))
        .filter(|(name, _)| !name.starts_with("STAMPEDE_DEMO_"))
        .collect()
}

/// Loads the plan, or prints every problem and gives the exit code for an invalid scenario.
pub fn load_plan(args: &ScenarioArgs) -> anyhow::Result<Result<Plan, u8>> {
    let path = match stampede_scenario::resolve(&args.scenario, &args.scenarios) {
        Ok(path) => path,
        Err(not_found) => {
            eprintln!("error: {not_found}");
            return Ok(Err(exit::USAGE));
        }
    };
    let overrides = Overrides {
        set: args.set.clone(),
        env: env_overrides(),
        target: args.target.clone(),
        allow_remote: args.allow_remote,
    };
    match stampede_scenario::load(&path, &overrides) {
        Ok(plan) => Ok(Ok(plan)),
        Err(diagnostics) => {
            eprint!("{diagnostics}");
            Ok(Err(exit::USAGE))
        }
    }
}

/// Check scenarios without running them (all of the scenarios directory when none is named).
#[derive(Debug, clap::Args)]
pub struct ValidateCmd {
    /// Scenario names or paths.
    scenarios: Vec<String>,
    #[arg(long, default_value = "scenarios", env = "STAMPEDE_SCENARIOS")]
    dir: PathBuf,
}

impl ValidateCmd {
    pub fn run(self) -> anyhow::Result<u8> {
        let paths: Vec<PathBuf> = if self.scenarios.is_empty() {
            toml_files(&self.dir)?
        } else {
            let mut paths = Vec::new();
            for name in &self.scenarios {
                match stampede_scenario::resolve(name, &self.dir) {
                    Ok(path) => paths.push(path),
                    Err(not_found) => {
                        eprintln!("error: {not_found}");
                        return Ok(exit::USAGE);
                    }
                }
            }
            paths
        };
        let overrides = Overrides {
            env: env_overrides(),
            ..Overrides::default()
        };
        let mut failed = 0;
        for path in &paths {
            match stampede_scenario::load(path, &overrides) {
                Ok(plan) => output::print(&format!(
                    "ok      {} ({}, {})\n",
                    path.display(),
                    plan.kind.as_str(),
                    humantime::format_duration(plan.total_duration())
                ))?,
                Err(diagnostics) => {
                    failed += 1;
                    output::print(&format!("invalid {}\n", path.display()))?;
                    eprint!("{diagnostics}");
                }
            }
        }
        Ok(if failed == 0 {
            exit::PASSED
        } else {
            exit::USAGE
        })
    }
}

fn toml_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in
            std::fs::read_dir(&dir).with_context(|| format!("cannot read {}", dir.display()))?
        {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "toml") {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

/// List the scenarios: name, kind, planned duration, description.
#[derive(Debug, clap::Args)]
pub struct ListCmd {
    #[arg(long, default_value = "scenarios", env = "STAMPEDE_SCENARIOS")]
    dir: PathBuf,
}

impl ListCmd {
    pub fn run(self) -> anyhow::Result<u8> {
        let text: String = stampede_scenario::list(&self.dir)
            .iter()
            .map(|listing| format!("{listing}\n"))
            .collect();
        output::print(&text)?;
        Ok(exit::PASSED)
    }
}

/// Show the steps a scenario lowers to, with absolute offsets and the total time.
#[derive(Debug, clap::Args)]
pub struct PlanCmd {
    #[command(flatten)]
    scenario: ScenarioArgs,
}

impl PlanCmd {
    pub fn run(self) -> anyhow::Result<u8> {
        Ok(match load_plan(&self.scenario)? {
            Ok(plan) => {
                output::print(&stampede_scenario::describe(&plan))?;
                exit::PASSED
            }
            Err(code) => code,
        })
    }
}

/// Write the JSON Schema of scenario files, for editor completion (`#:schema` in TOML).
#[derive(Debug, clap::Args)]
pub struct SchemaCmd {
    /// Write to this file instead of stdout.
    #[arg(long)]
    out: Option<PathBuf>,
}

impl SchemaCmd {
    pub fn run(self) -> anyhow::Result<u8> {
        let text = serde_json::to_string_pretty(&stampede_scenario::json_schema())?;
        match self.out {
            Some(path) => {
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                std::fs::write(&path, text + "\n")
                    .with_context(|| format!("cannot write {}", path.display()))?
            }
            None => output::print(&(text + "\n"))?,
        }
        Ok(exit::PASSED)
    }
}
