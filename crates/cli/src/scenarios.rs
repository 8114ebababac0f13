//! Finding and loading scenarios, and the commands that only read them: validate, list, plan,
//! schema.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use stampede_plan::Plan;
use stampede_reporter::store::results::ScenarioResults;
use stampede_scenario::Overrides;

use crate::exit;
use crate::output::{self, Hinted};
use crate::quick::{self, QuickArgs};

/// Which scenario, and what to override in it.
#[derive(Debug, clap::Args)]
pub struct ScenarioArgs {
    /// A scenario name from the scenarios directory, a path to a TOML file, or a URL for a
    /// quick run (with -u, -d, --rate).
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
    #[command(flatten)]
    quick: QuickArgs,
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

/// The overrides the command line and the environment give.
fn overrides_of(args: &ScenarioArgs) -> Overrides {
    Overrides {
        set: args.set.clone(),
        env: env_overrides(),
        target: args.target.clone(),
        allow_remote: args.allow_remote,
    }
}

/// A scenario loaded for a run: its plan, and who it is.
pub struct Loaded {
    pub plan: Plan,
    /// The file, canonical: what its results folder is claimed for.
    pub source: PathBuf,
    /// Its results folder under OUT: see [`results_key`].
    pub key: String,
    /// SHA-256 of the file and the overrides applied, in hex.
    pub sha256: String,
    /// The overrides applied, as shown in results (secret values redacted).
    pub overrides: Vec<String>,
}

/// Loads the plan, or prints every problem and gives the exit code for an invalid scenario
/// (or 0 after `--print-scenario`).
pub fn load_plan(args: &ScenarioArgs) -> anyhow::Result<Result<Loaded, u8>> {
    if quick::is_url(&args.scenario) {
        return load_quick(args);
    }
    if let Some(flag) = args.quick.given().first() {
        eprintln!("error: {flag} goes with a URL in place of a scenario");
        eprintln!("hint: with a scenario, override its keys instead: --set users=50");
        return Ok(Err(exit::USAGE));
    }
    let path = match stampede_scenario::resolve(&args.scenario, &args.scenarios) {
        Ok(path) => path,
        Err(not_found) => {
            eprintln!("error: {not_found}");
            return Ok(Err(exit::USAGE));
        }
    };
    let overrides = overrides_of(args);
    let env = |name: &str| std::env::var(name).ok();
    let Some(plan) = said(stampede_scenario::load_checked(&path, &overrides, &env)) else {
        return Ok(Err(exit::USAGE));
    };
    let source = path.canonicalize().unwrap_or_else(|_| path.clone());
    let sha256 = fingerprint(&path, &overrides)?;
    Ok(Ok(Loaded {
        plan,
        key: results_key(&path, &args.scenarios),
        source,
        sha256,
        overrides: crate::fingerprint::shown(&overrides),
    }))
}

/// The plan of a scenario that loaded, its warnings said first (they never stop a run, but
/// are said before it starts, at their place); `None` once every problem is said.
fn said(
    loaded: Result<stampede_scenario::Checked, stampede_scenario::Diagnostics>,
) -> Option<Plan> {
    match loaded {
        Ok(checked) => {
            eprint!("{}", checked.warnings);
            Some(checked.plan)
        }
        Err(diagnostics) => {
            eprint!("{diagnostics}");
            None
        }
    }
}

/// A scenario made from a URL and the quick flags, loaded like a file; its results go to
/// `results/quick/`.
fn load_quick(args: &ScenarioArgs) -> anyhow::Result<Result<Loaded, u8>> {
    let toml = match args.quick.scenario(&args.scenario) {
        Ok(toml) => toml,
        Err(problem) => {
            eprintln!("error: {problem}");
            return Ok(Err(exit::USAGE));
        }
    };
    if args.quick.print_only() {
        output::print(&toml)?;
        return Ok(Err(exit::PASSED));
    }
    let overrides = overrides_of(args);
    let env = |name: &str| std::env::var(name).ok();
    let origin = "(the command line)";
    let loaded =
        stampede_scenario::load_str_checked(&toml, origin, Path::new("."), &overrides, &env);
    let Some(plan) = said(loaded) else {
        eprintln!("hint: the scenario made from the flags is shown by --print-scenario");
        return Ok(Err(exit::USAGE));
    };
    Ok(Ok(Loaded {
        plan,
        source: PathBuf::from("stampede run URL"),
        key: quick::QUICK_KEY.to_owned(),
        sha256: fingerprint_of(toml.as_bytes(), &overrides),
        overrides: crate::fingerprint::shown(&overrides),
    }))
}

/// The one mapping from a scenario file to its results folder: its path under the scenarios
/// folder without `.toml` (`plans/000-health-baseline`), or its file stem when it lives
/// elsewhere (the store refuses a second file with the same stem).
pub fn results_key(path: &Path, scenarios: &Path) -> String {
    let inside = match (path.canonicalize(), scenarios.canonicalize()) {
        (Ok(file), Ok(root)) => file
            .strip_prefix(&root)
            .ok()
            .map(|relative| relative.with_extension("")),
        _ => None,
    };
    match inside {
        Some(relative) => relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/"),
        None => path
            .file_stem()
            .map_or_else(String::new, |s| s.to_string_lossy().into_owned()),
    }
}

/// The results folder of `key` under `out`, or an error with a hint when the key is no safe
/// folder name.
pub fn results_for(out: &Path, key: &str) -> anyhow::Result<ScenarioResults> {
    ScenarioResults::at(out, key).map_err(|err| {
        Hinted::error(
            err.to_string(),
            "rename the scenario file: its name names its results folder",
        )
    })
}

/// The results of a scenario named on the command line: found as a scenario file first (so
/// `plans/x`, `scenarios/plans/x.toml` and `x` in plans/ all agree with `run`), else taken as
/// the key itself, so the results of a scenario that no longer exists stay reachable.
pub fn results_of(out: &Path, name: &str, scenarios: &Path) -> anyhow::Result<ScenarioResults> {
    match stampede_scenario::resolve(name, scenarios) {
        Ok(path) => results_for(out, &results_key(&path, scenarios)),
        Err(_) => results_for(out, name.strip_suffix(".toml").unwrap_or(name)),
    }
}

/// SHA-256 of the scenario file's bytes and every override applied, so two runs with the same
/// fingerprint ran the same scenario the same way.
fn fingerprint(path: &Path, overrides: &Overrides) -> anyhow::Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(fingerprint_of(&bytes, overrides))
}

/// [`fingerprint`] of a scenario's bytes.
fn fingerprint_of(bytes: &[u8], overrides: &Overrides) -> String {
    use sha2::Digest as _;
    let mut hash = sha2::Sha256::new();
    hash.update(bytes);
    let mut layers: Vec<String> = overrides.set.iter().map(|s| format!("--set {s}")).collect();
    layers.extend(overrides.env.iter().map(|(k, v)| format!("env {k}={v}")));
    layers.extend(overrides.target.iter().map(|t| format!("--target {t}")));
    for layer in layers {
        hash.update(b"\0");
        hash.update(layer.as_bytes());
    }
    hex::encode(hash.finalize())
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
        let env = |name: &str| std::env::var(name).ok();
        for path in &paths {
            match stampede_scenario::load_checked(path, &overrides, &env) {
                Ok(checked) => {
                    let plan = &checked.plan;
                    output::print(&format!(
                        "ok      {} ({}, {}){}\n",
                        path.display(),
                        plan.kind.as_str(),
                        humantime::format_duration(plan.total_duration()),
                        warning_count(checked.warnings.0.len() + plan.warnings.len()),
                    ))?;
                    eprint!("{}", checked.warnings);
                    for line in &plan.warnings {
                        eprintln!("warning: {}: {line}", path.display());
                    }
                }
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

/// ", 1 warning" after a valid scenario's line, or nothing when it had none.
fn warning_count(count: usize) -> String {
    match count {
        0 => String::new(),
        1 => " (1 warning)".to_owned(),
        n => format!(" ({n} warnings)"),
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
            Ok(loaded) => {
                output::print(&stampede_scenario::describe(&loaded.plan))?;
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
