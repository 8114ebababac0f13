//! `stampede merge`: the segments of one run (`stampede run --segment i/n`) replayed as one.
//!
//! Each segment's `record.jsonl` is read one event at a time, side by side; events of the same
//! step and interval are combined (histograms added, so percentiles are exact; counters summed;
//! active users summed per interval, and a step's peak is the peak of those sums, never the sum
//! of per-segment peaks) and handed to an ordinary [`Reporter`], which judges thresholds, knee
//! and drift once, on the merged figures, and writes every usual file plus a record of the
//! merged run. Memory holds one pending event per segment, whatever the run's length.
//!
//! The segments' own alerts are left out: they judged a segment's share, not the run.
//! Monitor samples come from the lowest segment, which watched the same target.

use std::path::{Path, PathBuf};

use stampede_metrics::{Event, IntervalSnapshot, RunEnd, RunEnding, RunStart, StepEnd};

use super::Reporter;
use super::assemble::late_us;
use crate::Error;
use crate::store::record::{RECORD_FILE, RecordHeader, RecordLine, RecordReader};
use crate::summary::{ScaleOut, Summary};

/// Where an event sits in a run: step, then start < intervals < end, then interval number.
type Key = (usize, u8, u64);

/// One segment's record, read ahead by one event. A step's start may be announced before the
/// previous step's end; it is held back until nothing of an earlier step can follow.
struct Segment {
    reader: RecordReader,
    head: Option<RecordLine>,
    held_starts: std::collections::VecDeque<RecordLine>,
    end: Option<RunEnd>,
}

impl Segment {
    /// Reads up to the next event of a step, keeping the run's end aside.
    fn advance(&mut self) -> Result<(), Error> {
        self.head = None;
        while let Some(line) = self.reader.next_line()? {
            match line {
                RecordLine::StepStarted(_) => self.held_starts.push_back(line),
                RecordLine::Interval(_) | RecordLine::StepEnded(_) => {
                    self.head = Some(line);
                    break;
                }
                RecordLine::RunEnded(end) => self.end = Some(end),
                RecordLine::RunStarted(_) | RecordLine::Alert(_) => {}
            }
        }
        Ok(())
    }

    /// The key of the next event this segment gives.
    fn next_key(&self) -> Option<Key> {
        let start = self.held_starts.front().and_then(key);
        match (start, self.head.as_ref().and_then(key)) {
            (Some(s), Some(h)) => Some(s.min(h)),
            (s, h) => s.or(h),
        }
    }

    /// Takes the next event if its key is `at`.
    fn take(&mut self, at: Key) -> Result<Option<RecordLine>, Error> {
        if self.held_starts.front().and_then(key) == Some(at) {
            return Ok(self.held_starts.pop_front());
        }
        if self.head.as_ref().and_then(key) == Some(at) {
            let line = self.head.take();
            self.advance()?;
            return Ok(line);
        }
        Ok(None)
    }
}

fn key(line: &RecordLine) -> Option<Key> {
    match line {
        RecordLine::StepStarted(info) => Some((info.index, 0, 0)),
        RecordLine::Interval(i) => Some((i.step, 1, i.seq)),
        RecordLine::StepEnded(end) => Some((end.index, 2, 0)),
        _ => None,
    }
}

/// Finds the records under `dirs`: a folder holding `record.jsonl`, or one holding such
/// folders (searched three levels down, as `OUT/<scenario>/<run-id>/` is laid out).
pub fn find_records(dirs: &[PathBuf]) -> Vec<PathBuf> {
    fn walk(dir: &Path, depth: u8, found: &mut Vec<PathBuf>) {
        let record = dir.join(RECORD_FILE);
        if record.is_file() {
            found.push(record);
            return;
        }
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        let mut subdirs: Vec<PathBuf> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .map(|e| e.path())
            .collect();
        subdirs.sort();
        for sub in subdirs.iter().filter(|_| depth > 0) {
            walk(sub, depth - 1, found);
        }
    }
    let mut found = Vec::new();
    for dir in dirs {
        walk(dir, 3, &mut found);
    }
    found
}

/// Merges the segments' records into one run written to `out` (which must not exist yet),
/// with its history entry beside it. Refuses records that are not every segment of one run.
pub fn merge(records: &[PathBuf], out: &Path) -> Result<Summary, Error> {
    let mut segments = open_segments(records)?;
    let starts = run_starts(&mut segments)?;
    let header = merged_header(&segments, &starts);
    let mut reporter = Reporter::create_from(header, out)?;
    reporter.record(&Event::RunStarted(&merged_start(&starts)));
    for segment in &mut segments {
        segment.advance()?;
    }
    let mut peaks: Vec<u32> = Vec::new();
    while let Some(at) = segments.iter().filter_map(Segment::next_key).min() {
        let mut lines = Vec::new();
        for segment in &mut segments {
            lines.extend(segment.take(at)?);
        }
        let step = at.0;
        if peaks.len() <= step {
            peaks.resize(step + 1, 0);
        }
        match combine(lines, &mut peaks[step]) {
            Some(RecordLine::StepStarted(info)) => reporter.record(&Event::StepStarted(&info)),
            Some(RecordLine::Interval(i)) => reporter.record(&Event::Interval(&i)),
            Some(RecordLine::StepEnded(end)) => reporter.record(&Event::StepEnded(&end)),
            _ => {}
        }
    }
    let ends: Vec<RunEnd> = segments.into_iter().filter_map(|s| s.end).collect();
    // A segment that never recorded its end (killed) leaves the merged run without one too, as
    // its own replay would.
    if ends.len() == starts.len() {
        reporter.record(&Event::RunEnded(&merged_end(ends)));
    }
    reporter.finish()
}

/// The same event from each segment that has it, as one.
fn combine(lines: Vec<RecordLine>, peak: &mut u32) -> Option<RecordLine> {
    let mut lines = lines.into_iter();
    let first = lines.next()?;
    Some(match first {
        RecordLine::Interval(mut merged) => {
            for line in lines {
                if let RecordLine::Interval(i) = line {
                    add_interval(&mut merged, &i);
                }
            }
            *peak = (*peak).max(merged.active_users);
            RecordLine::Interval(merged)
        }
        RecordLine::StepEnded(mut merged) => {
            for line in lines {
                if let RecordLine::StepEnded(end) = line {
                    add_step_end(&mut merged, &end);
                }
            }
            merged.peak_users = *peak;
            RecordLine::StepEnded(merged)
        }
        // The plan's step, the same in every segment.
        other => other,
    })
}

fn add_interval(merged: &mut IntervalSnapshot, other: &IntervalSnapshot) {
    merged.stats.add(&other.stats);
    merged.active_users = merged.active_users.saturating_add(other.active_users);
    merged.warmup &= other.warmup;
    // Each segment's streams are its own: open streams add up like active users.
    if merged.streams_open.len() < other.streams_open.len() {
        merged.streams_open.resize(other.streams_open.len(), 0);
    }
    for (open, more) in merged.streams_open.iter_mut().zip(&other.streams_open) {
        *open = open.saturating_add(*more);
    }
}

fn add_step_end(merged: &mut StepEnd, other: &StepEnd) {
    merged.measured = merged.measured.max(other.measured);
    merged.cut_short |= other.cut_short;
}

/// How the merged run ended: the latest end, the worst outcome, every setup request.
fn merged_end(ends: Vec<RunEnd>) -> RunEnd {
    let rank = |o: &RunEnding| match o {
        RunEnding::Completed => 0,
        RunEnding::StoppedEarly { .. } => 1,
        RunEnding::Interrupted => 2,
        RunEnding::Aborted { .. } => 3,
    };
    let mut ends = ends.into_iter();
    let mut merged = ends
        .next()
        .expect("one end per segment, at least one segment");
    for end in ends {
        merged.finished_at = merged.finished_at.max(end.finished_at);
        merged.elapsed = merged.elapsed.max(end.elapsed);
        if rank(&end.outcome) > rank(&merged.outcome) {
            merged.outcome = end.outcome;
        }
        merged.setup.add(&end.setup);
    }
    merged
}

/// The merged run starts with its earliest segment, on every segment's threads.
fn merged_start(starts: &[RunStart]) -> RunStart {
    let mut merged = starts[0].clone();
    merged.started_at = starts
        .iter()
        .map(|s| s.started_at)
        .min()
        .unwrap_or(merged.started_at);
    merged.threads = starts.iter().map(|s| s.threads).sum();
    merged
}

/// Each segment's first event, which says when it began.
fn run_starts(segments: &mut [Segment]) -> Result<Vec<RunStart>, Error> {
    segments
        .iter_mut()
        .map(|s| match s.reader.next_line()? {
            Some(RecordLine::RunStarted(start)) => Ok(start),
            _ => Err(Error::Record {
                path: s.reader.path().to_path_buf(),
                line: 2,
                detail: "the record does not begin with the run's start".to_owned(),
            }),
        })
        .collect()
}

/// The merged run's header: the segments' plan and scenario, named after their group, with
/// how far apart the segments began.
fn merged_header(segments: &[Segment], starts: &[RunStart]) -> RecordHeader {
    let mut header = segments[0].reader.header.clone();
    let tag = header.meta.scale_out.clone().unwrap_or_default();
    let began = starts.iter().map(|s| s.started_at);
    let (first, last) = (began.clone().min(), began.max());
    let agreed = tag
        .start_at
        .as_deref()
        .and_then(|at| humantime::parse_rfc3339(at).ok());
    let skew = first.zip(last).map(|(a, b)| late_us(a, b));
    header.meta.run_id = tag.group.clone();
    header.meta.tag = None;
    header.meta.scale_out = Some(ScaleOut {
        segment: None,
        start_late_us: agreed.zip(last).map(|(a, b)| late_us(a, b)),
        start_skew_us: skew,
        ..tag
    });
    header
}

/// Opens every record and checks that together they are each segment of one run, once.
fn open_segments(records: &[PathBuf]) -> Result<Vec<Segment>, Error> {
    let refuse = |detail: String| Error::Segments { detail };
    if records.is_empty() {
        return Err(refuse(
            "no record.jsonl found in the folders given".to_owned(),
        ));
    }
    let mut segments = Vec::new();
    for path in records {
        let reader = RecordReader::open(path)?;
        let Some(tag) = &reader.header.meta.scale_out else {
            let why = format!(
                "{} is not a segment (run without --segment)",
                path.display()
            );
            return Err(refuse(why));
        };
        if tag.segment.is_none() {
            return Err(refuse(format!(
                "{} is already a merged run",
                path.display()
            )));
        }
        segments.push(Segment {
            reader,
            head: None,
            held_starts: Default::default(),
            end: None,
        });
    }
    if let Some(problem) = check_set(&segments) {
        return Err(refuse(problem));
    }
    segments.sort_by_key(|s| tag_of(s).segment);
    Ok(segments)
}

fn tag_of(segment: &Segment) -> &ScaleOut {
    segment
        .reader
        .header
        .meta
        .scale_out
        .as_ref()
        .expect("checked when opened")
}

/// What is wrong with the set, if anything: one scenario, one group, one split, all present.
fn check_set(segments: &[Segment]) -> Option<String> {
    let first = &segments[0];
    let (tag, meta) = (tag_of(first), &first.reader.header.meta);
    let name = |s: &Segment| s.reader.path().display().to_string();
    for other in &segments[1..] {
        let (theirs, their_meta) = (tag_of(other), &other.reader.header.meta);
        if their_meta.scenario_sha256 != meta.scenario_sha256 {
            return Some(format!(
                "different scenarios: {} ran `{}` (sha256 {}), {} ran `{}` (sha256 {})",
                name(first),
                meta.scenario,
                short(&meta.scenario_sha256),
                name(other),
                their_meta.scenario,
                short(&their_meta.scenario_sha256)
            ));
        }
        if theirs.group != tag.group {
            return Some(format!(
                "different run groups: {} is of `{}`, {} of `{}`",
                name(first),
                tag.group,
                name(other),
                theirs.group
            ));
        }
        if theirs.segments != tag.segments {
            return Some(format!(
                "different splits: {} is one of {}, {} one of {}",
                name(first),
                tag.segments,
                name(other),
                theirs.segments
            ));
        }
    }
    let mut seen: Vec<Option<&Segment>> = vec![None; tag.segments as usize];
    for segment in segments {
        let i = tag_of(segment).segment.unwrap_or(0) as usize;
        match seen.get_mut(i.wrapping_sub(1)) {
            None => {
                return Some(format!(
                    "{} claims segment {i} of {}",
                    name(segment),
                    tag.segments
                ));
            }
            Some(Some(earlier)) => {
                return Some(format!(
                    "segment {i}/{} given twice: {} and {}",
                    tag.segments,
                    name(earlier),
                    name(segment)
                ));
            }
            Some(slot) => *slot = Some(segment),
        }
    }
    let missing: Vec<String> = (1..=tag.segments as usize)
        .filter(|i| seen[i - 1].is_none())
        .map(|i| format!("{i}/{}", tag.segments))
        .collect();
    (!missing.is_empty()).then(|| {
        format!(
            "segment {} missing from group `{}`",
            missing.join(", "),
            tag.group
        )
    })
}

fn short(sha: &str) -> &str {
    &sha[..sha.len().min(12)]
}
