//! A reporter driven by synthetic runs: every file is written, parses, and agrees with the
//! others; interrupted runs, re-rendering, history and comparison work from stored files.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::{Ending, Owned, capacity_plan, events, run, run_events, sweep_load};
use stampede_reporter::{
    CompareOptions, HistoryEntry, RECORD_FILE, Reporter, StepHistograms, Summary, Verdict, compare,
    history, history_table, read_intervals, rerender,
};

fn files(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

fn csv_rows(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let header = reader.headers().unwrap().iter().map(String::from).collect();
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    (header, rows)
}

#[test]
fn a_capacity_run_writes_every_file_and_they_agree() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("checkout").join("r1");
    let summary = run(&capacity_plan(), &dir, "r1", sweep_load, Ending::Completed);

    let want: BTreeSet<String> = [
        "failures.csv",
        "histograms.hlog",
        "record.jsonl",
        "report.html",
        "steps.csv",
        "summary.json",
        "summary.md",
        "timeseries.csv",
    ]
    .map(String::from)
    .into();
    assert_eq!(files(&dir), want, "every file, and no temporary one");
    assert_eq!(
        files(&root.path().join("checkout")),
        ["history.jsonl", ".history.lock", "r1"]
            .map(String::from)
            .into()
    );

    // summary.json: the fields the CLI and CI read, and a faithful round trip.
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(json["schema_version"], 2);
    assert_eq!(json["verdict"], "failed");
    assert_eq!(json["started_at"], "2026-11-23T10:15:00Z");
    assert_eq!(json["finished_at"], "2026-11-23T10:15:22Z");
    assert_eq!(json["steps"][0]["users"], 10);
    assert_eq!(json["steps"][0]["duration_s"], 5.0);
    assert_eq!(json["steps"][0]["requests"], 750);
    assert_eq!(json["steps"][0]["rps"], 150.0);
    assert_eq!(json["steps"][2]["failed"], 60);
    assert_eq!(json["steps"][2]["outcomes"]["5xx"], 60);
    assert_eq!(
        json["steps"][1]["requests_by_name"]["POST /orders"]["requests"],
        500
    );
    assert_eq!(
        json["steps"][0]["reconnects"], 0,
        "the warm-up second's reconnect is left out"
    );
    assert_eq!(json["total"]["requests"], 750 + 1500 + 3000);
    assert_eq!(json["setup"]["requests"], 10);
    assert_eq!(json["steps"][0]["latency_from"], "sent");
    assert!(json["steps"][0].get("latency_sent_ms").is_none());
    for key in ["min", "mean", "p50", "p90", "p95", "p99", "p99_9", "max"] {
        assert!(json["total"]["latency_ms"][key].is_f64(), "{key}");
    }
    assert_eq!(Summary::read(&dir).unwrap(), summary);

    // Thresholds: the run's p95 holds, step 3's error rate does not, request 1's p99 holds.
    let verdicts: Vec<(String, bool)> = summary
        .thresholds
        .iter()
        .map(|t| (t.describe(), t.passed))
        .collect();
    assert_eq!(
        verdicts,
        [
            ("p95 < 500 ms (run)".to_owned(), true),
            ("error-rate < 1% (step 1)".to_owned(), true),
            ("error-rate < 1% (step 2)".to_owned(), true),
            ("error-rate < 1% (step 3)".to_owned(), false),
            ("p99 < 1000 ms (POST /orders)".to_owned(), true),
        ]
    );
    assert_eq!(summary.verdict, Verdict::Failed);

    // The knee: errors at 40 users, so 20 users x 0.8.
    let knee = summary.analysis.knee.as_ref().unwrap();
    assert_eq!((knee.users, knee.ceiling_users), (Some(20), Some(16)));
    assert!(
        summary
            .to_text()
            .contains("safe ceiling 16 users (20 x 0.8)")
    );

    // steps.csv: a row per request and an Aggregated row per step, counts as in the summary.
    let (header, rows) = csv_rows(&dir.join("steps.csv"));
    assert_eq!(header.len(), 33);
    assert_eq!(rows.len(), 9);
    for (step, s) in summary.steps.iter().enumerate() {
        let aggregated = &rows[step * 3 + 2];
        assert_eq!(aggregated[0], (step + 1).to_string());
        assert_eq!(aggregated[3], "Aggregated");
        assert_eq!(aggregated[4], s.figures.requests.to_string());
        assert_eq!(aggregated[5], s.figures.failed.to_string());
    }

    // timeseries.csv: per interval, warm-up included, so its counts add up to everything sent.
    let (header, rows) = csv_rows(&dir.join("timeseries.csv"));
    assert_eq!(
        header[..6],
        [
            "Timestamp",
            "Offset",
            "Step",
            "Warmup",
            "Active Users",
            "Name"
        ]
    );
    let aggregated: Vec<&Vec<String>> = rows.iter().filter(|r| r[5] == "Aggregated").collect();
    assert_eq!(aggregated.len(), 18);
    let sent: u64 = aggregated
        .iter()
        .map(|r| r[11].parse::<u64>().unwrap())
        .sum::<u64>()
        + aggregated
            .iter()
            .map(|r| r[15].parse::<u64>().unwrap())
            .sum::<u64>();
    assert_eq!(sent, 6 * (150 + 300 + 600));
    assert_eq!(
        aggregated[6][1], "8",
        "step 2 starts after step 1 and its cooldown"
    );
    assert_eq!(aggregated[6][2..4], ["2", "true"]);
    assert_eq!(aggregated[0][0], "1795428900");

    // failures.csv: occurrences add up to the failures of the steps.
    let (_, rows) = csv_rows(&dir.join("failures.csv"));
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0][..4], ["GET", "GET /items", "HTTP 500", "60"]);
    assert_eq!(rows[0][4], "2026-11-23T10:15:17Z");

    // histograms.hlog: merged per step, the counts are the summary's.
    let histograms = StepHistograms::read(&dir, &summary).unwrap();
    for (i, step) in summary.steps.iter().enumerate() {
        assert_eq!(histograms.aggregate(i).count(), step.figures.requests);
        let posts = histograms.steps[i].get("POST /orders").unwrap();
        assert_eq!(
            posts.count(),
            step.requests_by_name.get("POST /orders").unwrap().requests
        );
    }
    let mut everything = 0;
    read_intervals(&dir.join("histograms.hlog"), |i| {
        everything += i.histogram.len()
    })
    .unwrap();
    assert_eq!(everything, 6 * (150 + 300 + 600));

    // summary.md and report.html.
    let md = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(
        md.starts_with("## ❌ checkout (capacity): FAILED\n"),
        "{md}"
    );
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(!html.contains("http://") && !html.contains("https://"));
    let start = html.find("id=\"stampede-data\">").unwrap() + "id=\"stampede-data\">".len();
    let end = start + html[start..].find("</script>").unwrap();
    let data: serde_json::Value = serde_json::from_str(&html[start..end]).unwrap();
    assert_eq!(data["series"], json["series"]);
    assert_eq!(data["analysis"]["knee"], json["analysis"]["knee"]);
    assert_eq!(json["series"]["points"].as_array().unwrap().len(), 18);

    // history.jsonl.
    let runs = history(&root.path().join("checkout")).unwrap();
    assert_eq!(runs, [HistoryEntry::of(&summary)]);
    let table = history_table(&runs, 10, true);
    let row = table.lines().nth(1).unwrap();
    assert!(
        row.starts_with("r1 ") && row.contains(" test ") && row.contains(" failed "),
        "{table}"
    );
}

#[test]
fn a_file_that_cannot_be_written_costs_neither_the_summary_nor_the_other_files() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("checkout").join("r1");
    let plan = capacity_plan();
    let meta = stampede_reporter::RunMeta {
        run_id: "r1".to_owned(),
        scenario: plan.name.clone(),
        kind: plan.kind.as_str().to_owned(),
        ..Default::default()
    };
    let mut reporter = Reporter::create(&plan, meta, &dir).unwrap();
    // A directory where summary.json belongs: its atomic rename must fail.
    std::fs::create_dir(dir.join("summary.json")).unwrap();
    for event in &events(&plan, sweep_load, Ending::Completed) {
        event.with(|e| reporter.record(e));
    }
    let (summary, written) = reporter.conclude();
    let err = written.expect_err("summary.json cannot be written");
    assert!(err.to_string().contains("summary.json"), "{err}");
    assert_eq!(summary.steps.len(), 3, "the summary is whole");
    for file in [
        "steps.csv",
        "failures.csv",
        "record.jsonl",
        "timeseries.csv",
    ] {
        assert!(dir.join(file).is_file(), "{file} is still written");
    }
    let temporaries: Vec<String> = files(&dir)
        .into_iter()
        .filter(|name| name.contains("tmp"))
        .collect();
    assert!(
        temporaries.is_empty(),
        "no temporary file is left: {temporaries:?}"
    );
}

#[test]
fn an_interrupted_run_reports_the_steps_that_ran() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("checkout").join("r1");
    let summary = run(
        &capacity_plan(),
        &dir,
        "r1",
        sweep_load,
        Ending::InterruptedInLastStep,
    );
    assert_eq!(summary.verdict, Verdict::Interrupted);
    assert_eq!(summary.steps.len(), 3);
    let last = &summary.steps[2];
    assert!(last.cut_short);
    // One measured second after the warm-up second.
    assert_eq!((last.duration_s, last.figures.requests), (1.0, 600));
    assert!(
        summary
            .to_text()
            .ends_with("INTERRUPTED: partial results from 3 steps\n")
    );
    assert!(dir.join("steps.csv").is_file() && dir.join("report.html").is_file());
}

#[test]
fn rerender_rebuilds_the_reports_from_stored_files() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("checkout").join("r1");
    run(&capacity_plan(), &dir, "r1", sweep_load, Ending::Completed);
    let html = std::fs::read(dir.join("report.html")).unwrap();
    let md = std::fs::read(dir.join("summary.md")).unwrap();
    std::fs::remove_file(dir.join("report.html")).unwrap();
    std::fs::remove_file(dir.join("summary.md")).unwrap();
    rerender(&dir).unwrap();
    assert_eq!(std::fs::read(dir.join("report.html")).unwrap(), html);
    assert_eq!(std::fs::read(dir.join("summary.md")).unwrap(), md);
}

/// The sweep with step 2's latency 60 % higher.
fn slower_load(step: usize, second: usize) -> (Vec<u64>, u64, Vec<u64>) {
    let (counts, base, failures) = sweep_load(step, second);
    (
        counts,
        if step == 1 { base * 8 / 5 } else { base },
        failures,
    )
}

#[test]
fn compare_flags_real_changes_only() {
    let root = tempfile::tempdir().unwrap();
    let scenario = root.path().join("checkout");
    run(
        &capacity_plan(),
        &scenario.join("a"),
        "a",
        sweep_load,
        Ending::Completed,
    );
    run(
        &capacity_plan(),
        &scenario.join("b"),
        "b",
        sweep_load,
        Ending::Completed,
    );
    run(
        &capacity_plan(),
        &scenario.join("c"),
        "c",
        slower_load,
        Ending::Completed,
    );

    let same = compare(
        &scenario.join("b"),
        &scenario.join("a"),
        &CompareOptions::default(),
    )
    .unwrap();
    assert!(!same.regressed(0.0), "{}", same.to_text());
    assert!(
        same.steps
            .iter()
            .flat_map(|s| &s.total.changes)
            .all(|c| !c.significant)
    );

    let slower = compare(
        &scenario.join("c"),
        &scenario.join("a"),
        &CompareOptions::default(),
    )
    .unwrap();
    assert!(slower.regressed(10.0), "{}", slower.to_text());
    let regressions = slower.regressions(10.0);
    assert!(
        regressions.iter().all(|r| r.starts_with("step 2 ")),
        "only step 2 changed: {regressions:?}"
    );
    assert!(
        regressions
            .iter()
            .any(|r| r.starts_with("step 2 Aggregated p50 +")),
        "{regressions:?}"
    );
    assert!(!slower.regressed(200.0));
    let text = slower.to_text();
    assert!(text.starts_with("c compared with a\n"), "{text}");
    assert!(text.contains("* worse"), "{text}");

    // The shared page marks the same changes, and only those: none for identical runs.
    let page = slower.to_html("checkout <web>");
    let marked = page.matches("<tr class=\"worse\">").count();
    let worse = slower
        .steps
        .iter()
        .flat_map(|s| std::iter::once(&s.total).chain(&s.requests))
        .flat_map(|r| &r.changes)
        .filter(|c| c.significant && c.worse)
        .count();
    assert!(marked > 0 && marked == worse, "{marked} rows of {worse}");
    assert!(page.contains("checkout &lt;web&gt;") && !page.contains("<web>"));
    assert!(!page.contains("<script"), "no script runs in a shared page");
    let calm = same.to_html("checkout");
    assert!(!calm.contains("class=\"worse\"") && calm.contains("0 changes for the worse"));

    // The history lists the three runs; the last before c still on disk is b.
    let runs = history(&scenario).unwrap();
    assert_eq!(runs.len(), 3);
    assert_eq!(
        stampede_reporter::previous_run(&scenario, "c").unwrap(),
        Some(scenario.join("b"))
    );
}

#[test]
fn a_step_ending_after_the_next_one_started_is_reported_once_and_whole() {
    let plan = capacity_plan();
    let root = tempfile::tempdir().unwrap();
    let in_order = run(
        &plan,
        &root.path().join("a").join("r"),
        "r",
        sweep_load,
        Ending::Completed,
    );
    // One load thread is still finishing step 1 while another has started step 2.
    let mut shuffled = events(&plan, sweep_load, Ending::Completed);
    let ended = shuffled
        .iter()
        .position(|e| matches!(e, Owned::StepEnded(end) if end.index == 0))
        .unwrap();
    let step_ended = shuffled.remove(ended);
    let second = shuffled
        .iter()
        .position(|e| matches!(e, Owned::Interval(i) if i.step == 1 && !i.warmup))
        .unwrap();
    shuffled.insert(second + 1, step_ended);
    let summary = run_events(&plan, &root.path().join("b").join("r"), "r", &shuffled);
    assert_eq!(summary.steps, in_order.steps);
    assert_eq!(summary.total, in_order.total);
}

/// Every file of a run directory but the record, as bytes.
fn contents(dir: &Path) -> Vec<(String, Vec<u8>)> {
    files(dir)
        .into_iter()
        .filter(|name| name != RECORD_FILE)
        .map(|name| {
            let bytes = std::fs::read(dir.join(&name)).unwrap();
            (name, bytes)
        })
        .collect()
}

#[test]
fn a_replayed_record_rebuilds_every_file_byte_for_byte() {
    for ending in [Ending::Completed, Ending::InterruptedInLastStep] {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("checkout").join("r1");
        let summary = run(&capacity_plan(), &dir, "r1", sweep_load, ending);
        let written = contents(&dir);
        assert_eq!(written.len(), 7, "{:?}", files(&dir));
        for (name, _) in &written {
            std::fs::remove_file(dir.join(name)).unwrap();
        }
        let history_before = std::fs::read(root.path().join("checkout/history.jsonl")).unwrap();

        let replayed = Reporter::replay(&dir).unwrap();
        assert_eq!(replayed, summary);
        let rebuilt = contents(&dir);
        assert_eq!(rebuilt.len(), written.len());
        for ((name, want), (_, got)) in written.iter().zip(&rebuilt) {
            assert!(want == got, "{name} differs after the replay");
        }
        let history_after = std::fs::read(root.path().join("checkout/history.jsonl")).unwrap();
        assert_eq!(history_before, history_after, "a replay is not a new run");
    }
}

#[test]
fn a_killed_runs_record_gives_its_results_up_to_the_last_interval() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("checkout").join("r1");
    let plan = capacity_plan();
    // The process dies in step 2: nothing after its third interval reaches the record, and no
    // file is finished.
    let all = events(&plan, sweep_load, Ending::Completed);
    let cut = all
        .iter()
        .position(|e| matches!(e, Owned::Interval(i) if i.step == 1 && i.seq >= 8))
        .unwrap();
    let meta = stampede_reporter::RunMeta {
        run_id: "r1".to_owned(),
        scenario: plan.name.clone(),
        ..Default::default()
    };
    let mut reporter = Reporter::create(&plan, meta, &dir).unwrap();
    for event in &all[..=cut] {
        event.with(|e| reporter.record(e));
    }
    // As SIGKILL would: no finish, no drop handlers.
    std::mem::forget(reporter);
    assert!(!dir.join("summary.json").exists());

    let summary = Reporter::replay(&dir).unwrap();
    assert_eq!(summary.verdict, Verdict::Interrupted);
    assert_eq!(summary.steps.len(), 2);
    assert!(summary.steps[1].cut_short);
    assert!(summary.steps[1].figures.requests > 0);
    let last = match &all[cut] {
        Owned::Interval(i) => i.start + i.length,
        _ => unreachable!(),
    };
    assert_eq!(summary.elapsed_s, last.as_secs_f64());
    for file in ["summary.json", "steps.csv", "timeseries.csv", "report.html"] {
        assert!(dir.join(file).is_file(), "{file}");
    }
    let debris: Vec<String> = files(&dir)
        .into_iter()
        .filter(|f| f.ends_with(".tmp"))
        .collect();
    assert!(
        debris.is_empty(),
        "the killed run's temporaries are gone: {debris:?}"
    );
}
