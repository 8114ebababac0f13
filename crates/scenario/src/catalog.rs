//! The scenarios directory: finding a scenario by name, and listing them all.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::{Overrides, load};
use stampede_plan::Kind;

/// A scenario name that matches no file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no scenario `{name}` in {}{}", dir.display(), describe_available(available, suggestion.as_deref()))]
pub struct NotFound {
    pub name: String,
    pub dir: PathBuf,
    /// Every scenario name in the directory.
    pub available: Vec<String>,
    /// The closest available name, when one is close.
    pub suggestion: Option<String>,
}

fn describe_available(available: &[String], suggestion: Option<&str>) -> String {
    let mut text = if available.is_empty() {
        " (it has none)".to_owned()
    } else {
        format!(" (available: {})", available.join(", "))
    };
    if let Some(suggestion) = suggestion {
        text.push_str(&format!("; did you mean `{suggestion}`?"));
    }
    text
}

/// `"smoke"` -> `scenarios/smoke.toml`, `"plans/webhook"` -> `scenarios/plans/webhook.toml`;
/// a path to an existing file is itself.
pub fn resolve(name_or_path: &str, scenarios_dir: &Path) -> Result<PathBuf, NotFound> {
    let as_path = Path::new(name_or_path);
    if as_path.is_file() {
        return Ok(as_path.to_path_buf());
    }
    let with_ext = if name_or_path.ends_with(".toml") {
        name_or_path.to_owned()
    } else {
        format!("{name_or_path}.toml")
    };
    let candidate = scenarios_dir.join(with_ext);
    if candidate.is_file() {
        return Ok(candidate);
    }
    let available = names(scenarios_dir);
    let suggestion = crate::parse::suggest(name_or_path, available.iter().map(String::as_str))
        .map(str::to_owned);
    Err(NotFound {
        name: name_or_path.to_owned(),
        dir: scenarios_dir.to_path_buf(),
        available,
        suggestion,
    })
}

/// Every scenario file under `dir`, as (name, path), sorted by name.
fn files(dir: &Path) -> Vec<(String, PathBuf)> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&current) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "toml") {
                let relative = path.strip_prefix(dir).unwrap_or(&path).with_extension("");
                let name = relative
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/");
                found.push((name, path));
            }
        }
    }
    found.sort();
    found
}

fn names(dir: &Path) -> Vec<String> {
    files(dir).into_iter().map(|(name, _)| name).collect()
}

/// One line of `stampede list`.
#[derive(Debug, Clone)]
pub struct Listing {
    /// The name `resolve` takes: the path under the directory, without `.toml`.
    pub name: String,
    pub path: PathBuf,
    /// `None` when the file does not validate.
    pub kind: Option<Kind>,
    pub description: String,
    /// The planned total time, or the first problem when the file does not validate.
    pub duration: Result<Duration, String>,
}

/// Every scenario under `scenarios_dir`, validated without overrides.
pub fn list(scenarios_dir: &Path) -> Vec<Listing> {
    files(scenarios_dir)
        .into_iter()
        .map(|(name, path)| match load(&path, &Overrides::default()) {
            Ok(plan) => Listing {
                name,
                path,
                kind: Some(plan.kind),
                description: plan.description.clone(),
                duration: Ok(plan.total_duration()),
            },
            Err(diagnostics) => {
                let first = diagnostics.0.first().map_or_else(String::new, |d| {
                    if d.line > 0 {
                        format!("line {}: {}", d.line, d.message)
                    } else {
                        d.message.clone()
                    }
                });
                let more = diagnostics.len().saturating_sub(1);
                let problem = if more > 0 {
                    format!("{first} (and {more} more)")
                } else {
                    first
                };
                Listing {
                    name,
                    path,
                    kind: None,
                    description: String::new(),
                    duration: Err(problem),
                }
            }
        })
        .collect()
}

impl fmt::Display for Listing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.kind, &self.duration) {
            (Some(kind), Ok(duration)) => write!(
                f,
                "{:<24} {:<11} {:>10}  {}",
                self.name,
                kind.as_str(),
                humantime::format_duration(*duration).to_string(),
                self.description
            ),
            (_, Err(problem)) => write!(
                f,
                "{:<24} {:<11} {:>10}  {problem}",
                self.name, "invalid", "-"
            ),
            (None, Ok(_)) => write!(f, "{}", self.name),
        }
    }
}
