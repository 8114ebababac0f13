//! The history of a scenario: `results/<scenario>/history.jsonl`, one line per run with its
//! verdict and key figures, so a trend needs no run directory at all.
//!
//! Appends take an exclusive lock on a sidecar file (`.history.lock`) and then replace the
//! history atomically (trimmed to the last runs), so concurrent runs of one scenario (two CI
//! jobs) neither lose a line nor leave a torn file, and a reader never needs the lock. Lines a
//! reader cannot parse (from a newer stampede) are kept by writers and skipped by readers.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::store::atomic::write_atomic;
use crate::store::results::{check_name, create_dir_no_link, open_no_follow, read_no_follow};
use crate::summary::analysis::Knee;
use crate::summary::{Fingerprint, Repeat, Summary, Verdict};
use stampede_metrics::Figures;

pub const HISTORY_FILE: &str = "history.jsonl";
const LOCK_FILE: &str = ".history.lock";
/// Runs kept unless told otherwise.
pub const DEFAULT_KEEP: usize = 100;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub run_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    pub started_at: String,
    /// The run's configuration; `history` draws a trend only within one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<Fingerprint>,
    /// One run of a repeat (`--repeat N`): the runs of one repeat share its group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat: Option<Repeat>,
    pub verdict: Verdict,
    pub steps: Vec<HistoryStep>,
    pub total: HistoryFigures,
    /// A capacity run's knee and safe ceiling, so "has our ceiling moved?" needs no run folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub knee: Option<HistoryKnee>,
}

/// The knee as history keeps it: what summary.json's analysis says, without the curve.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistoryKnee {
    /// `heuristic`, or `your levels: p95 > 300 ms`.
    pub rule: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ceiling_users: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plateau_rps: Option<f64>,
}

impl HistoryKnee {
    pub fn of(knee: &Knee) -> HistoryKnee {
        HistoryKnee {
            rule: knee.rule(),
            step: knee.step,
            users: knee.users,
            ceiling_users: knee.ceiling_users,
            reason: knee.reason.clone(),
            plateau_rps: knee.plateau_rps,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistoryStep {
    pub index: usize,
    pub label: String,
    #[serde(flatten)]
    pub figures: HistoryFigures,
}

/// The key figures of a step or a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HistoryFigures {
    pub users: u32,
    /// The arrival rate asked for (open model), per second; for a run, its steps' highest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_per_s: Option<f64>,
    pub requests: u64,
    pub rps: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub error_rate: f64,
}

impl HistoryFigures {
    fn of(users: u32, rate_per_s: Option<f64>, f: &Figures) -> HistoryFigures {
        HistoryFigures {
            users,
            rate_per_s,
            requests: f.requests,
            rps: f.rps,
            p50_ms: f.latency_ms.p50,
            p95_ms: f.latency_ms.p95,
            p99_ms: f.latency_ms.p99,
            error_rate: f.error_rate,
        }
    }
}

impl HistoryEntry {
    pub fn of(summary: &Summary) -> HistoryEntry {
        HistoryEntry {
            run_id: summary.run_id.clone(),
            tag: summary.tag.clone(),
            started_at: summary.started_at.clone(),
            fingerprint: summary.fingerprint.clone(),
            repeat: summary.repeat.clone(),
            verdict: summary.verdict,
            steps: summary
                .steps
                .iter()
                .map(|s| HistoryStep {
                    index: s.index,
                    label: s.label.clone(),
                    figures: HistoryFigures::of(s.users, s.load.planned_rate, &s.figures),
                })
                .collect(),
            total: HistoryFigures::of(
                summary.total.users,
                summary
                    .steps
                    .iter()
                    .filter_map(|s| s.load.planned_rate)
                    .reduce(f64::max),
                &summary.total.figures,
            ),
            knee: summary.analysis.knee.as_ref().map(HistoryKnee::of),
        }
    }
}

/// Appends `entry` to `scenario_dir/history.jsonl` under an exclusive lock, keeping the last
/// `keep` runs: older runs are pruned, their history lines and their run folders together, but
/// the latest run of each tag stays (it is what `compare --baseline tag:NAME` names), even past
/// `keep`. Returns the run ids pruned.
pub fn append(
    scenario_dir: &Path,
    entry: &HistoryEntry,
    keep: usize,
) -> Result<Vec<String>, Error> {
    create_dir_no_link(scenario_dir)?;
    let lock_path = scenario_dir.join(LOCK_FILE);
    let lock = open_no_follow(&lock_path, true)?;
    lock.lock().map_err(|source| Error::Lock {
        path: lock_path,
        source,
    })?;
    // The lock is released when `lock` is dropped, on every path out of here.
    let path = scenario_dir.join(HISTORY_FILE);
    let existing = read_history_text(&path)?;
    let mut lines: Vec<&str> = existing.lines().filter(|l| !l.trim().is_empty()).collect();
    let line = serde_json::to_string(entry).expect("a history entry always serialises");
    lines.push(&line);
    let (kept, pruned) = prune(&lines, keep.max(1));
    let mut text = kept.join("\n");
    text.push('\n');
    write_atomic(&path, text.as_bytes())?;
    // Folders go after their lines: a crash in between leaves a folder without a line (which
    // nothing reads), never a line without its folder.
    for run_id in &pruned {
        remove_run(scenario_dir, run_id)?;
    }
    drop(lock);
    Ok(pruned)
}

/// What pruning needs of a line; a line from a newer stampede still has these.
#[derive(Deserialize)]
struct Head {
    run_id: String,
    #[serde(default)]
    tag: Option<String>,
}

/// The lines kept, oldest first, and the run ids of the lines pruned: the oldest, until `keep`
/// remain, skipping the latest line of each tag. A line that does not parse is dropped by age
/// like any other, but no folder is removed for it.
fn prune<'a>(lines: &[&'a str], keep: usize) -> (Vec<&'a str>, Vec<String>) {
    let heads: Vec<Option<Head>> = lines.iter().map(|l| serde_json::from_str(l).ok()).collect();
    let mut protected = vec![false; lines.len()];
    let mut tags: Vec<&str> = Vec::new();
    for (i, head) in heads.iter().enumerate().rev() {
        if let Some(tag) = head.as_ref().and_then(|h| h.tag.as_deref())
            && !tags.contains(&tag)
        {
            tags.push(tag);
            protected[i] = true;
        }
    }
    let mut excess = lines.len().saturating_sub(keep);
    let (mut kept, mut pruned) = (Vec::new(), Vec::new());
    for (i, line) in lines.iter().enumerate() {
        if excess > 0 && !protected[i] {
            excess -= 1;
            pruned.extend(heads[i].as_ref().map(|h| h.run_id.clone()));
        } else {
            kept.push(*line);
        }
    }
    (kept, pruned)
}

/// Removes a pruned run's folder: only a real folder under the scenario's, named as run ids
/// are, never through a symbolic link; one already gone is fine.
fn remove_run(scenario_dir: &Path, run_id: &str) -> Result<(), Error> {
    if check_name(run_id, "a run id").is_err() {
        return Ok(());
    }
    let dir = scenario_dir.join(run_id);
    match std::fs::symlink_metadata(&dir) {
        Ok(meta) if meta.is_dir() => {
            std::fs::remove_dir_all(&dir).map_err(|source| Error::Write { path: dir, source })
        }
        _ => Ok(()),
    }
}

/// The history's text, empty when there is none; a symbolic link in its place is refused, so
/// another file's content is never copied into the history.
fn read_history_text(path: &Path) -> Result<String, Error> {
    match read_no_follow(path) {
        Ok(text) => Ok(text),
        Err(Error::Read { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            Ok(String::new())
        }
        Err(err) => Err(err),
    }
}

/// The runs recorded for a scenario, oldest first; none when there is no history yet.
pub fn history(scenario_dir: &Path) -> Result<Vec<HistoryEntry>, Error> {
    let text = read_history_text(&scenario_dir.join(HISTORY_FILE))?;
    Ok(text
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect())
}

/// The directory of the run recorded before `run_id` whose results are still on disk: the
/// baseline of "compare with last".
pub fn previous_run(scenario_dir: &Path, run_id: &str) -> Result<Option<PathBuf>, Error> {
    let entries = history(scenario_dir)?;
    let before = entries
        .iter()
        .position(|e| e.run_id == run_id)
        .unwrap_or(entries.len());
    Ok(entries[..before]
        .iter()
        .rev()
        .map(|e| scenario_dir.join(&e.run_id))
        .find(|dir| dir.join(crate::summary::SUMMARY_FILE).is_file()))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn entry(n: usize, p95: f64, rps: f64) -> HistoryEntry {
        HistoryEntry {
            run_id: format!("2026112{}T101500Z", n % 10),
            tag: (n == 2).then(|| "fix".to_owned()),
            started_at: "2026-11-23T10:15:00Z".to_owned(),
            fingerprint: None,
            repeat: None,
            verdict: Verdict::Passed,
            steps: vec![],
            total: HistoryFigures {
                users: 10,
                rate_per_s: None,
                requests: 1000 * n as u64,
                rps,
                p50_ms: p95 / 2.0,
                p95_ms: p95,
                p99_ms: p95 * 2.0,
                error_rate: 0.001,
            },
            knee: None,
        }
    }

    #[test]
    fn appends_trim_to_the_last_runs() {
        let dir = tempfile::tempdir().unwrap();
        for n in 0..7 {
            append(dir.path(), &entry(n, 10.0, 100.0), 5).unwrap();
        }
        let runs = history(dir.path()).unwrap();
        let ids: Vec<&str> = runs.iter().map(|e| e.run_id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "20261122T101500Z",
                "20261123T101500Z",
                "20261124T101500Z",
                "20261125T101500Z",
                "20261126T101500Z"
            ]
        );
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
    }

    #[test]
    fn concurrent_appends_lose_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let dir = dir.path().to_path_buf();
                std::thread::spawn(move || {
                    for i in 0..10 {
                        let mut e = entry(0, 10.0, 100.0);
                        e.run_id = format!("t{t}-{i}");
                        append(&dir, &e, 1000).unwrap();
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        let runs = history(dir.path()).unwrap();
        assert_eq!(runs.len(), 80);
        for t in 0..8 {
            // Each thread's runs appear in the order it appended them.
            let mine: Vec<&str> = runs
                .iter()
                .map(|e| e.run_id.as_str())
                .filter(|id| id.starts_with(&format!("t{t}-")))
                .collect();
            let want: Vec<String> = (0..10).map(|i| format!("t{t}-{i}")).collect();
            assert_eq!(mine, want);
        }
    }

    #[test]
    fn unreadable_lines_are_skipped_by_readers_and_kept_by_writers() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(HISTORY_FILE), "{\"from\":\"the future\"}\n").unwrap();
        append(dir.path(), &entry(1, 10.0, 100.0), 10).unwrap();
        assert_eq!(history(dir.path()).unwrap().len(), 1);
        let text = std::fs::read_to_string(dir.path().join(HISTORY_FILE)).unwrap();
        assert_eq!(text.lines().count(), 2);
    }

    #[test]
    fn no_history_is_empty_not_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(history(&dir.path().join("nothing")).unwrap().is_empty());
    }

    #[test]
    fn the_previous_run_is_the_last_one_still_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        for n in 1..=3 {
            append(dir.path(), &entry(n, 10.0, 100.0), 10).unwrap();
        }
        std::fs::create_dir(dir.path().join("20261121T101500Z")).unwrap();
        std::fs::write(
            dir.path().join("20261121T101500Z").join("summary.json"),
            "{}",
        )
        .unwrap();
        let previous = previous_run(dir.path(), "20261123T101500Z").unwrap();
        assert_eq!(previous, Some(dir.path().join("20261121T101500Z")));
        assert_eq!(previous_run(dir.path(), "20261121T101500Z").unwrap(), None);
    }

    #[test]
    fn pruning_removes_old_run_folders_with_their_lines_but_keeps_the_tagged_baseline() {
        let dir = tempfile::tempdir().unwrap();
        // Runs 0..6; run 2 is tagged `fix` (the baseline `compare --baseline tag:fix` names).
        let mut pruned = Vec::new();
        for n in 0..7 {
            let e = entry(n, 10.0, 100.0);
            std::fs::create_dir(dir.path().join(&e.run_id)).unwrap();
            pruned.extend(append(dir.path(), &e, 3).unwrap());
        }
        let ids: Vec<String> = history(dir.path())
            .unwrap()
            .into_iter()
            .map(|e| e.run_id)
            .collect();
        assert_eq!(
            ids,
            ["20261122T101500Z", "20261125T101500Z", "20261126T101500Z"]
        );
        assert_eq!(
            pruned,
            [
                "20261120T101500Z",
                "20261121T101500Z",
                "20261123T101500Z",
                "20261124T101500Z"
            ]
        );
        let mut folders: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .filter(|e| e.path().is_dir())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        folders.sort();
        assert_eq!(
            folders, ids,
            "every folder left has its line, and only those"
        );
    }

    #[test]
    fn a_newer_tag_frees_the_older_run_of_that_tag() {
        let lines = [
            r#"{"run_id":"a","tag":"base"}"#,
            r#"{"run_id":"b","tag":"base"}"#,
            r#"{"run_id":"c"}"#,
            "not json",
            r#"{"run_id":"d"}"#,
        ];
        let (kept, pruned) = prune(&lines, 2);
        assert_eq!(pruned, ["a", "c"]);
        assert_eq!(kept, [lines[1], lines[4]]);
    }
}
