//! Scenario files: parse, validate, and lower to a `Plan`.
//!
//! Knows nothing of sockets, tokio or CSV output. The `Plan` it produces is the contract of
//! `stampede-plan`, plain data the engine and reporter read without knowing TOML.
//!
//! The way through: read `kind`, parse the whole file strictly into that kind's struct
//! ([`toml`] reports line and column), layer `--set` / `STAMPEDE_*` / `--target` over it with
//! figment (their problems name their source), then one validation pass that collects every
//! problem while lowering to a [`Plan`].
//!
//! Validation promises that a plan it passes can run: every number is within what the engine
//! can do ([`limits`], documented in docs/scenarios.md), durations cannot overflow, and what
//! would be sent (paths, query, headers, after rendering templates with placeholder values:
//! user 0, iteration 0, sequence 0, data row 0, captures "x") is checked with the same parsers
//! the engine uses. A file is read only when it is a regular file, up to a size limit, and a
//! byte that is not UTF-8 is reported at its line and column. An unknown key is reported with
//! every other problem, not instead of them. Messages never show a value from `${env:..}`:
//! like `stampede plan`, they print `<redacted>`. Problems that do not stop a run are warnings
//! ([`Severity::Warning`]), returned beside the plan by [`load_checked`].

mod catalog;
mod describe;
mod diag;
mod file;
mod file_monitor;
mod file_thresholds;
mod lenient;
pub mod limits;
mod lower;
mod overrides;
mod parse;
mod ramp;
mod read;
mod schema;
mod spanned;
mod types;

use std::path::Path;

use stampede_plan::Plan;

pub use catalog::{Listing, NotFound, list, resolve};
pub use describe::describe;
pub use diag::{Diagnostic, Diagnostics, Severity};
pub use lower::EnvLookup;
pub use overrides::Overrides;
pub use schema::json_schema;

use diag::Sink;
use lower::Lowerer;

/// A scenario that validated: its plan, and the warnings found on the way (problems that do not
/// stop a run, such as a warm-up that can swallow an iteration-bounded run). The CLI prints
/// the warnings before it runs.
#[derive(Clone, Debug)]
pub struct Checked {
    pub plan: Plan,
    /// Only [`Severity::Warning`]s; empty when there were none.
    pub warnings: Diagnostics,
}

/// Reads, parses, overrides, validates and lowers a scenario file. `${env:NAME}` reads the
/// process environment. Warnings are dropped: see [`load_checked`].
pub fn load(path: &Path, overrides: &Overrides) -> Result<Plan, Diagnostics> {
    load_with_env(path, overrides, &|name| std::env::var(name).ok())
}

/// [`load`] for a file's text: `origin` names it in messages and gives the default name,
/// `base_dir` is where `[data]` files are found.
pub fn load_str(
    source: &str,
    origin: &str,
    base_dir: &Path,
    overrides: &Overrides,
) -> Result<Plan, Diagnostics> {
    load_str_with_env(source, origin, base_dir, overrides, &|name| {
        std::env::var(name).ok()
    })
}

/// [`load`] with `${env:NAME}` looked up by `env`, so tests need not touch the environment.
pub fn load_with_env(
    path: &Path,
    overrides: &Overrides,
    env: EnvLookup<'_>,
) -> Result<Plan, Diagnostics> {
    load_checked(path, overrides, env).map(|checked| checked.plan)
}

/// [`load`] with its warnings, and `${env:NAME}` looked up by `env`.
pub fn load_checked(
    path: &Path,
    overrides: &Overrides,
    env: EnvLookup<'_>,
) -> Result<Checked, Diagnostics> {
    let origin = path.display().to_string();
    let bytes = read::read_capped(path, limits::MAX_SCENARIO_BYTES).map_err(|err| {
        Diagnostics(vec![Diagnostic {
            severity: Severity::Error,
            file: origin.clone(),
            line: 0,
            column: 0,
            message: err.message(&origin),
            excerpt: None,
            hint: err.hint(),
        }])
    })?;
    let source = read::utf8(&origin, bytes).map_err(|d| Diagnostics(vec![d]))?;
    let base_dir = path.parent().unwrap_or(Path::new("."));
    load_str_checked(&source, &origin, base_dir, overrides, env)
}

/// [`load_str`] with `${env:NAME}` looked up by `env`.
pub fn load_str_with_env(
    source: &str,
    origin: &str,
    base_dir: &Path,
    overrides: &Overrides,
    env: EnvLookup<'_>,
) -> Result<Plan, Diagnostics> {
    load_str_checked(source, origin, base_dir, overrides, env).map(|checked| checked.plan)
}

/// [`load_str`] with its warnings, and `${env:NAME}` looked up by `env`.
pub fn load_str_checked(
    source: &str,
    origin: &str,
    base_dir: &Path,
    overrides: &Overrides,
    env: EnvLookup<'_>,
) -> Result<Checked, Diagnostics> {
    let mut sink = Sink::new(origin, source);
    let (layers, malformed) = overrides.layers();
    for arg in malformed {
        sink.override_error(
            format!("invalid --set `{arg}`: expected key=value"),
            Some("--set users=20".into()),
        );
    }
    let Some(kind) = parse::kind(source, &mut sink) else {
        return Err(sink.into_diagnostics());
    };
    let parsed = parse::file(kind, source, &mut sink);
    let layers = overrides::applicable(kind, layers, &mut sink);
    // Unknown keys are errors, but the rest of the file is still validated, so that every
    // problem is reported at once; any other error so far stops here.
    let Some((file, unknown)) = parsed.filter(|(_, unknown)| sink.errors() <= unknown.len()) else {
        return Err(sink.into_diagnostics());
    };
    sink.set_overrides(layers.iter().map(|l| l.source.clone()).collect());
    let file = if layers.is_empty() {
        file
    } else {
        match overrides::apply(kind, origin, source, &layers, &unknown, &mut sink) {
            Some(file) => file,
            None => return Err(sink.into_diagnostics()),
        }
    };
    let default_name = Path::new(origin)
        .file_stem()
        .map_or_else(|| origin.to_owned(), |s| s.to_string_lossy().into_owned());
    let mut lowerer = Lowerer::new(sink, source, base_dir, env, overrides.allow_remote);
    let mut plan = lowerer.lower(file, &default_name);
    if plan.remote_allowed_by.is_some() {
        plan.remote_allowed_by = Some(remote_permission(overrides, &layers, origin));
    }
    lowerer
        .sink
        .finish()
        .map(|warnings| Checked { plan, warnings })
}

/// Who allowed hosts outside loopback, for the run's log line: the flag, else the last
/// override of `allow-remote` (they layer in order), else the file.
fn remote_permission(overrides: &Overrides, layers: &[overrides::Layer], origin: &str) -> String {
    if overrides.allow_remote {
        return "--allow-remote".to_owned();
    }
    match layers
        .iter()
        .rev()
        .find(|layer| layer.key == "allow-remote")
    {
        Some(layer) => layer.source.clone(),
        None => format!("allow-remote = true in {origin}"),
    }
}

/// `text` as a TOML basic string (spec 1.0, "Basic strings"): `"` and `\` escaped and every
/// control character as `\uXXXX`, so nothing in it can end the string or the line. For
/// scenario text written by a program (`stampede run URL`).
pub fn toml_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
