//! `stampede history` reads like a trend of one configuration: runs with other overrides are
//! a table of their own, `--all` mixes them, and the rows left out are counted.

use std::path::Path;

use crate::*;

fn smoke(out: &Path, users: &str) {
    smoke_with(out, users, &[]);
}

fn smoke_with(out: &Path, users: &str, extra: &[&str]) {
    let users = format!("users={users}");
    let output = Cmd::run("smoke")
        .set(&["duration=1s", &users, "defaults.think=20ms"])
        .one_thread()
        .out(out)
        .quiet()
        .args(extra)
        .output();
    exited(&output, 0);
}

#[test]
fn history_groups_runs_by_configuration_and_counts_what_it_leaves_out() {
    let out = tempfile::tempdir().expect("tempdir");
    for users in ["2", "1", "2"] {
        smoke(out.path(), users);
    }
    let runs = run_dirs(out.path(), "smoke");
    let fingerprint = &summary_of(&runs[0])["fingerprint"];
    assert_eq!(fingerprint["target"], "builtin", "{fingerprint}");
    assert_eq!(fingerprint["threads"], 1);
    assert_eq!(fingerprint["version"], env!("CARGO_PKG_VERSION"));
    assert!(fingerprint["cpus"].as_u64().expect("cpus") >= 1);
    assert!(!fingerprint["host"].as_str().expect("host").is_empty());

    let history = stampede(&["history", "smoke", "--out", out_arg(out.path())]);
    let (said, _) = exited(&history, 0);
    let headers: Vec<&str> = said
        .lines()
        .filter(|l| l.starts_with("configuration "))
        .collect();
    assert_eq!(headers.len(), 2, "{said}");
    // The latest run's configuration comes last, with both of its runs in one table.
    assert!(headers[0].contains("--set users=1"), "{said}");
    assert!(headers[1].contains("--set users=2"), "{said}");
    let last_table = said
        .split("configuration 2 of 2")
        .nth(1)
        .expect("second table");
    assert_eq!(last_table.matches(" passed ").count(), 2, "{said}");

    let history = |words: &[&str]| {
        Cmd::new(&["history", "smoke"])
            .out(out.path())
            .args(words)
            .output()
    };
    let said = text(&history(&["--all", "--limit", "2"]).stdout);
    assert!(!said.contains("configuration "), "{said}");
    assert_eq!(said.matches(" passed ").count(), 2, "{said}");
    assert!(said.ends_with("2 of 3 shown; --limit N\n"), "{said}");

    let said = text(&history(&["--output-format", "csv"]).stdout);
    assert_eq!(said.lines().count(), 4, "{said}");
    assert!(
        said.lines().nth(2).expect("row").contains(",builtin,"),
        "{said}"
    );
}

#[test]
fn keep_prunes_old_runs_with_their_lines_but_never_the_tagged_baseline() {
    let out = tempfile::tempdir().expect("tempdir");
    let runs = ["base", "second", "third"];
    for id in runs {
        let mut extra = vec!["--run-id", id, "--keep", "2"];
        if id == "base" {
            extra.extend(["--tag", "release"]);
        }
        smoke_with(out.path(), "1", &extra);
    }
    let left: Vec<bool> = runs
        .iter()
        .map(|id| out.path().join("smoke").join(id).is_dir())
        .collect();
    assert_eq!(left, [true, false, true], "the untagged older run went");
    let entries = json_of(&history_json("smoke", out.path()));
    let ids: Vec<&str> = entries
        .as_array()
        .expect("array")
        .iter()
        .map(|e| e["run_id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids, ["base", "third"]);
    let compared = stampede(&[
        "compare",
        "smoke",
        "--baseline",
        "tag:release",
        "--out",
        out_arg(out.path()),
    ]);
    let (said, _) = exited(&compared, 0);
    assert!(said.starts_with("third compared with base"));
}
