//! `cargo xtask tidy`: the architecture's edges, checked rather than hoped for.
//!
//! Each crate's dependency closure must leave out what the crate must not know (ARCHITECTURE.md),
//! and every Rust file must open with a `//!` doc saying what it is.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// Whether a rule looks at a crate's direct dependencies or at everything they pull in.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reach {
    Direct,
    Closure,
}

/// (crate, reach, packages it must not depend on, why).
const FORBIDDEN: &[(&str, Reach, &[&str], &str)] = &[
    (
        "stampede-plan",
        Reach::Closure,
        &[
            "tokio",
            "hyper",
            "hdrhistogram",
            "toml",
            "figment2",
            "schemars",
            "csv",
            "stampede-metrics",
            "stampede-scenario",
        ],
        "the Plan is a contract of std and serde only",
    ),
    (
        "stampede-metrics",
        Reach::Closure,
        &[
            "tokio",
            "hyper",
            "csv",
            "toml",
            "figment2",
            "schemars",
            "stampede-scenario",
        ],
        "measurements are plain data",
    ),
    (
        "stampede-scenario",
        Reach::Closure,
        &["tokio", "hyper", "stampede-engine", "stampede-reporter"],
        "the parser produces plain data, no networking",
    ),
    (
        "stampede-engine",
        Reach::Closure,
        &[
            "csv",
            "toml",
            "figment2",
            "schemars",
            "stampede-scenario",
            "stampede-reporter",
            "stampede-monitor",
        ],
        "the engine knows nothing of files, TOML, the parser or the reporter",
    ),
    (
        "stampede-monitor",
        Reach::Closure,
        &[
            "stampede-engine",
            "stampede-scenario",
            "stampede-reporter",
            "csv",
            "toml",
        ],
        "the monitor samples the target and knows nothing of the engine",
    ),
    (
        "stampede-reporter",
        Reach::Closure,
        &[
            "tokio",
            "hyper",
            "toml",
            "figment2",
            "stampede-engine",
            "stampede-scenario",
            "stampede-monitor",
        ],
        "the reporter knows nothing of the network or the parser",
    ),
    (
        "stampede-target",
        Reach::Closure,
        &["stampede-scenario", "stampede-engine", "csv", "toml"],
        "the demo target knows nothing of scenarios",
    ),
];

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

/// The reporter's rooms, in order: a file may use its own room and the rooms before it, never
/// one after, so the rooms form a chain without circles (see `crates/reporter/src/lib.rs`).
const REPORTER_ROOMS: [&str; 5] = ["summary", "store", "judge", "render", "live"];

pub fn run() -> Result<(), String> {
    let mut problems = dependency_problems()?;
    problems.extend(doc_problems(&workspace_root()));
    problems.extend(room_problems(&workspace_root().join("crates/reporter/src")));
    problems.extend(size_problems(&workspace_root()));
    if problems.is_empty() {
        println!("tidy: ok");
        Ok(())
    } else {
        Err(format!(
            "tidy found {} problem(s):\n{}",
            problems.len(),
            problems.join("\n")
        ))
    }
}

type Deps = BTreeMap<String, BTreeSet<String>>;

/// For each workspace crate, the names of its direct and of all its normal (non-dev)
/// dependencies.
fn closures() -> Result<(Deps, Deps), String> {
    let output = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(workspace_root())
        .output()
        .map_err(|e| format!("cannot run cargo metadata: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let meta: Value = serde_json::from_slice(&output.stdout).map_err(|e| e.to_string())?;
    let names: BTreeMap<&str, &str> = meta["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| Some((p["id"].as_str()?, p["name"].as_str()?)))
        .collect();
    let mut edges: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for node in meta["resolve"]["nodes"].as_array().into_iter().flatten() {
        let Some(id) = node["id"].as_str() else {
            continue;
        };
        let normal = node["deps"].as_array().into_iter().flatten().filter(|dep| {
            dep["dep_kinds"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|k| k["kind"].is_null())
        });
        edges.insert(id, normal.filter_map(|dep| dep["pkg"].as_str()).collect());
    }
    let name_of = |id: &str| names.get(id).copied().unwrap_or(id).to_owned();
    let mut direct = BTreeMap::new();
    let mut closures = BTreeMap::new();
    for member in meta["workspace_members"].as_array().into_iter().flatten() {
        let Some(root) = member.as_str() else {
            continue;
        };
        let mut seen = BTreeSet::new();
        let mut stack = vec![root];
        while let Some(id) = stack.pop() {
            for &dep in edges.get(id).into_iter().flatten() {
                if seen.insert(dep) {
                    stack.push(dep);
                }
            }
        }
        let firsts = edges
            .get(root)
            .into_iter()
            .flatten()
            .map(|id| name_of(id))
            .collect();
        direct.insert(name_of(root), firsts);
        closures.insert(name_of(root), seen.iter().map(|id| name_of(id)).collect());
    }
    Ok((direct, closures))
}

fn dependency_problems() -> Result<Vec<String>, String> {
    let (direct, closures) = closures()?;
    let mut problems = Vec::new();
    for (krate, reach, forbidden, why) in FORBIDDEN {
        let map = if *reach == Reach::Direct {
            &direct
        } else {
            &closures
        };
        let Some(deps) = map.get(*krate) else {
            problems.push(format!("{krate}: not in the workspace"));
            continue;
        };
        for bad in *forbidden {
            if deps.contains(*bad) {
                problems.push(format!("{krate} depends on {bad}, but {why}"));
            }
        }
    }
    Ok(problems)
}

fn doc_problems(root: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    let mut stack = vec![root.join("crates"), root.join("xtask")];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                if !text.trim_start().starts_with("//!") {
                    let shown = path
                        .strip_prefix(root)
                        .unwrap_or(&path)
                        .display()
                        .to_string();
                    problems.push(format!("{shown}: does not start with a //! doc comment"));
                }
            }
        }
    }
    problems.sort();
    problems
}

/// The most lines a Rust file may have: the guide says "about 600", and a file past this has
/// outgrown one job and should be split by what its parts do.
const MAX_FILE_LINES: usize = 650;

/// Rust files under `crates/` and `xtask/` longer than [`MAX_FILE_LINES`].
fn size_problems(root: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    for dir in [root.join("crates"), root.join("xtask")] {
        for path in rust_files(&dir) {
            let lines = std::fs::read_to_string(&path)
                .map(|text| text.lines().count())
                .unwrap_or(0);
            if lines > MAX_FILE_LINES {
                let shown = path.strip_prefix(root).unwrap_or(&path).display();
                problems.push(format!(
                    "{shown}: {lines} lines, over {MAX_FILE_LINES}: split it by job"
                ));
            }
        }
    }
    problems.sort();
    problems
}

/// Uses of a later reporter room from an earlier one (`crate::live` inside `summary/`).
fn room_problems(src: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    for (rank, room) in REPORTER_ROOMS.iter().enumerate() {
        for path in rust_files(&src.join(room)) {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            for (number, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or("");
                for later in &REPORTER_ROOMS[rank + 1..] {
                    if code.contains(&format!("crate::{later}")) {
                        problems.push(format!(
                            "{}:{}: the {room} room uses the later room {later}",
                            path.display(),
                            number + 1
                        ));
                    }
                }
            }
        }
    }
    problems
}

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crate_edges_hold() {
        let problems = dependency_problems().expect("cargo metadata");
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn every_rust_file_opens_with_a_doc_comment() {
        let problems = doc_problems(&workspace_root());
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn reporter_rooms_form_a_chain() {
        let problems = room_problems(&workspace_root().join("crates/reporter/src"));
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn every_rust_file_stays_short() {
        let problems = size_problems(&workspace_root());
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn the_size_check_sees_a_long_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("crates/a/src")).expect("mkdir");
        let long = "//! a\n".to_owned() + &"fn f() {}\n".repeat(MAX_FILE_LINES);
        std::fs::write(dir.path().join("crates/a/src/long.rs"), long).expect("write");
        std::fs::write(dir.path().join("crates/a/src/short.rs"), "//! b\n").expect("write");
        let problems = size_problems(dir.path());
        assert_eq!(
            problems,
            [format!(
                "crates/a/src/long.rs: 651 lines, over {MAX_FILE_LINES}: split it by job"
            )]
        );
    }

    #[test]
    fn the_room_check_sees_a_backward_use() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("summary")).expect("mkdir");
        std::fs::write(
            dir.path().join("summary/x.rs"),
            "//! x\nuse crate::live::Reporter; // and crate::live in a comment is fine\n",
        )
        .expect("write");
        let problems = room_problems(dir.path());
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].ends_with("x.rs:2: the summary room uses the later room live"));
    }

    #[test]
    fn the_check_sees_a_forbidden_edge() {
        // The check must be able to fail: the engine really does depend on hyper, and the
        // binary pulls in the parser's toml, which the engine's closure must not.
        let (direct, closures) = closures().expect("cargo metadata");
        assert!(direct["stampede-engine"].contains("hyper"));
        assert!(closures["stampede-engine"].contains("stampede-plan"));
        assert!(!closures["stampede-engine"].contains("toml"));
        assert!(closures["stampede"].contains("toml"));
        assert!(closures["stampede"].contains("stampede-engine"));
    }
}
