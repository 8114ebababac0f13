//! `live::merge`: two segments' records merge into exactly what one reporter fed the summed
//! events writes (steps.csv and timeseries.csv byte for byte), active users are summed per
//! interval (a step's peak is the peak of the sums, not the sum of the peaks), a step announced
//! before the previous one ended is put back in order, and refusals name the problem.

mod common;

use std::path::{Path, PathBuf};

use common::{Ending, Owned, capacity_plan, events, sweep_load};
use stampede_reporter::live::merge::{find_records, merge};
use stampede_reporter::summary::ScaleOut;
use stampede_reporter::{Reporter, RunMeta};

fn meta(segment: Option<u32>, sha: &str) -> RunMeta {
    RunMeta {
        // The merged run is named after its group.
        run_id: segment.map_or_else(|| "g1".to_owned(), |i| format!("s{i}")),
        scenario: "checkout".to_owned(),
        kind: "capacity".to_owned(),
        scenario_sha256: sha.to_owned(),
        scale_out: Some(ScaleOut {
            group: "g1".to_owned(),
            segments: 2,
            segment,
            ..ScaleOut::default()
        }),
        ..RunMeta::default()
    }
}

/// Segment `i`'s events: the sweep, with users busy 7 then 3 (segment 1) or 3 then 7.
fn segment_events(i: u32) -> Vec<Owned> {
    let mut all = events(&capacity_plan(), sweep_load, Ending::Completed);
    for event in &mut all {
        match event {
            Owned::Interval(interval) => {
                interval.active_users = if (interval.seq % 2 == 0) == (i == 1) {
                    7
                } else {
                    3
                };
            }
            Owned::StepEnded(end) => end.peak_users = 7,
            _ => {}
        }
    }
    all
}

fn write(dir: &Path, meta: RunMeta, events: &[Owned]) -> PathBuf {
    let mut reporter = Reporter::create(&capacity_plan(), meta, dir).unwrap();
    for event in events {
        event.with(|e| reporter.record(e));
    }
    reporter.finish().unwrap();
    dir.to_path_buf()
}

/// Moves step 1's start before step 0's end, as a record may hold them.
fn announce_early(events: &mut Vec<Owned>) {
    let start = events
        .iter()
        .position(|e| matches!(e, Owned::StepStarted(i) if i.index == 1))
        .unwrap();
    let end = events
        .iter()
        .position(|e| matches!(e, Owned::StepEnded(e) if e.index == 0))
        .unwrap();
    let moved = events.remove(start);
    events.insert(end, moved);
}

/// What one process running both segments' load would have sent.
fn summed(a: Vec<Owned>, b: &[Owned]) -> Vec<Owned> {
    let mut theirs = b.iter().filter(|e| !matches!(e, Owned::StepStarted(_)));
    a.into_iter()
        .map(|mut event| {
            if !matches!(event, Owned::StepStarted(_)) {
                add(&mut event, theirs.next().unwrap());
            }
            event
        })
        .collect()
}

fn add(mine: &mut Owned, theirs: &Owned) {
    match (mine, theirs) {
        (Owned::RunStarted(m), Owned::RunStarted(t)) => m.threads += t.threads,
        (Owned::Interval(m), Owned::Interval(t)) => {
            m.stats.add(&t.stats);
            m.active_users += t.active_users;
        }
        (Owned::StepEnded(m), Owned::StepEnded(_)) => m.peak_users = 10,
        (Owned::RunEnded(m), Owned::RunEnded(t)) => m.setup.add(&t.setup),
        _ => panic!("segments out of step"),
    }
}

#[test]
fn two_segments_merge_into_the_summed_run() {
    let root = tempfile::tempdir().unwrap();
    write(
        &root.path().join("a/checkout/s1"),
        meta(Some(1), "abc"),
        &segment_events(1),
    );
    let mut two_events = segment_events(2);
    announce_early(&mut two_events);
    write(
        &root.path().join("b/checkout/s2"),
        meta(Some(2), "abc"),
        &two_events,
    );

    let merged = root.path().join("merged/checkout/g1");
    let records = find_records(&[root.path().join("a"), root.path().join("b")]);
    assert_eq!(records.len(), 2);
    let summary = merge(&records, &merged).unwrap();
    for step in &summary.steps {
        assert_eq!(step.load.peak_users, 10, "the peak of the sums, not 7 + 7");
    }

    let whole = root.path().join("whole/checkout/w");
    write(
        &whole,
        meta(None, "abc"),
        &summed(segment_events(1), &segment_events(2)),
    );
    for file in ["steps.csv", "timeseries.csv", "histograms.hlog"] {
        let (m, w) = (merged.join(file), whole.join(file));
        assert!(
            std::fs::read(&m).unwrap() == std::fs::read(&w).unwrap(),
            "{file} differs"
        );
    }
}

#[test]
fn sets_that_are_not_one_run_are_refused_by_name() {
    let root = tempfile::tempdir().unwrap();
    let r1 = write(
        &root.path().join("1"),
        meta(Some(1), "abc"),
        &segment_events(1),
    );
    let r2 = write(
        &root.path().join("2"),
        meta(Some(2), "abc"),
        &segment_events(2),
    );
    let other = write(
        &root.path().join("3"),
        meta(Some(2), "def"),
        &segment_events(2),
    );
    let whole = write(
        &root.path().join("4"),
        RunMeta::default(),
        &segment_events(2),
    );
    let cases: [(&[&PathBuf], &str); 4] = [
        (&[&r1], "segment 2/2 missing"),
        (&[&r1, &r2, &r2], "segment 2/2 given twice"),
        (&[&r1, &other], "different scenarios"),
        (&[&r1, &whole], "is not a segment"),
    ];
    for (n, (dirs, want)) in cases.into_iter().enumerate() {
        let records: Vec<PathBuf> = dirs.iter().map(|d| d.join("record.jsonl")).collect();
        let out = root.path().join(format!("out{n}"));
        let err = merge(&records, &out).unwrap_err().to_string();
        assert!(err.contains(want), "{want}: {err}");
        assert!(!out.exists(), "a refused merge writes nothing");
    }
}
