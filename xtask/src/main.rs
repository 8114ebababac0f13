//! `cargo xtask`: project chores that are code, not shell scripts.
//!
//! Uses std and serde_json only, nothing from `crates/`, so it builds even when they do not.

mod bench;
mod tidy;

use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("tidy") => tidy::run(),
        Some("schema") => schema(),
        Some("bench") => bench::run(&args[1..]),
        _ => Err("usage: cargo xtask tidy | schema | bench [--help]".to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Writes the scenario JSON Schema where the shipped scenarios' `#:schema` line points.
fn schema() -> Result<(), String> {
    let status = Command::new(env!("CARGO"))
        .args(["run", "--quiet", "-p", "stampede", "--", "schema", "--out"])
        .arg(tidy::workspace_root().join("target/stampede.schema.json"))
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err("stampede schema failed".to_owned())
    }
}
