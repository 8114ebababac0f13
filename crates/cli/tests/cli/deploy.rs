//! The Kubernetes manifests in `deploy/kubernetes/` validate offline against the Kubernetes
//! schemas (`kubernetes-validate --strict`, from PyPI; `.ci/run` installs it), and the segment
//! Job is the Indexed Job docs/distributed.md describes.

use std::path::PathBuf;
use std::process::Command;

use crate::*;

const TOOL: &str = "kubernetes-validate";
/// Run as a module of the python3 that pip installed it into, so no PATH shim is needed.
const MODULE: &str = "kubernetes_validate";

fn manifests() -> Vec<PathBuf> {
    let dir = repo().join("deploy/kubernetes");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("deploy/kubernetes")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 3, "{files:?}");
    files
}

/// Runs the validator, or `None` where it is not installed (outside CI only).
fn validate(files: &[PathBuf]) -> Option<(bool, String)> {
    let output = Command::new("python3")
        .args(["-m", MODULE, "--strict"])
        .args(files)
        .output();
    let missing = match &output {
        Ok(output) => text(&output.stderr).contains(&format!("No module named {MODULE}")),
        Err(_) => true,
    };
    if missing {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{TOOL} is missing in CI: .ci/run installs it with pip"
        );
        eprintln!("{TOOL} not installed (pip install kubernetes-validate): not validated");
        return None;
    }
    let output = output.expect("python3 ran");
    Some((
        output.status.success(),
        format!("{}{}", text(&output.stdout), text(&output.stderr)),
    ))
}

#[test]
fn kubernetes_manifests_validate_against_the_schemas() {
    let Some((ok, out)) = validate(&manifests()) else {
        return;
    };
    assert!(ok, "{out}");
    // The validator does reject what Kubernetes would: a misspelt field in a copy fails.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("segments.yaml");
    let text = std::fs::read_to_string(repo().join("deploy/kubernetes/segments.yaml")).unwrap();
    std::fs::write(&bad, text.replace("completionMode:", "completionsMode:")).unwrap();
    let (ok, out) = validate(&[bad]).expect("installed a moment ago");
    assert!(!ok, "a misspelt field passed: {out}");
}

#[test]
fn the_segment_job_runs_every_index_at_once_as_a_segment() {
    let job = std::fs::read_to_string(repo().join("deploy/kubernetes/segments.yaml")).unwrap();
    let count = |key: &str| {
        let line = job
            .lines()
            .find(|l| l.trim_start().starts_with(key))
            .expect(key);
        line.split(':').nth(1).unwrap().trim().to_owned()
    };
    assert_eq!(count("completionMode:"), "Indexed");
    let n = count("completions:");
    assert_eq!(count("parallelism:"), n);
    assert!(
        job.contains(&format!("--segment \"$((JOB_COMPLETION_INDEX + 1))/{n}\"")),
        "{job}"
    );
    assert!(job.contains("--start-at"), "{job}");
}
