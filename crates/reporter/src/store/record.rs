//! The run record, `record.jsonl`: every event of a run, appended as it happens, so that every
//! other file of the run can be rebuilt from it alone (`stampede report`), a run killed with
//! SIGKILL still has its results up to the last interval, and runs split across machines can
//! be merged.
//!
//! Format (version 1): JSON Lines. The first line is the [`RecordHeader`]: the format name and
//! version, who ran what ([`RunMeta`]: run id, scenario, its SHA-256, the plan in words) and what
//! the reporter keeps of the plan ([`PlanFacts`]). Every later line is one event,
//! `{"event": "<kind>", "data": {...}}`, with kinds `run-started`, `step-started`, `interval`,
//! `alert`, `step-ended` and `run-ended`, and payloads as `stampede_metrics` serialises them:
//! exact counters, histograms as base64 HdrHistogram V2 (deflate), durations as
//! `{"secs", "nanos"}`, instants as `{"secs_since_epoch", "nanos_since_epoch"}`. Lines are
//! flushed to the operating system at each interval; a reader ignores a torn last line (the
//! process was killed while writing it) and refuses any other line it cannot read.
//!
//! A record holds no secret: requests are named, never rendered, and the plan text is redacted
//! as `stampede plan` prints it.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use stampede_metrics::{Alert, Event, IntervalSnapshot, RunEnd, RunStart, StepEnd, StepInfo};

use crate::Error;
use crate::summary::RunMeta;
use crate::summary::plan::PlanFacts;

pub const RECORD_FILE: &str = "record.jsonl";
/// The format name in the header, so a reader knows what it holds.
pub const RECORD_FORMAT: &str = "stampede-run-record";
/// Bumped when a line changes meaning or shape; readers refuse versions they do not know.
pub const RECORD_VERSION: u32 = 1;

/// The first line of a record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecordHeader {
    pub format: String,
    pub version: u32,
    pub meta: RunMeta,
    pub plan: PlanFacts,
}

/// One event line, owned, as read back.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "event", content = "data", rename_all = "kebab-case")]
pub enum RecordLine {
    RunStarted(RunStart),
    StepStarted(StepInfo),
    Interval(IntervalSnapshot),
    Alert(Alert),
    StepEnded(StepEnd),
    RunEnded(RunEnd),
}

impl RecordLine {
    /// The event as the engine would have sent it.
    pub fn as_event(&self) -> Event<'_> {
        match self {
            RecordLine::RunStarted(e) => Event::RunStarted(e),
            RecordLine::StepStarted(e) => Event::StepStarted(e),
            RecordLine::Interval(e) => Event::Interval(e),
            RecordLine::Alert(e) => Event::Alert(e),
            RecordLine::StepEnded(e) => Event::StepEnded(e),
            RecordLine::RunEnded(e) => Event::RunEnded(e),
        }
    }
}

/// Appends a run's events to its record.
pub(crate) struct RecordWriter {
    path: PathBuf,
    out: BufWriter<File>,
}

impl RecordWriter {
    /// Creates `dir/record.jsonl` (never replacing one) and writes its header.
    pub(crate) fn create(dir: &Path, header: &RecordHeader) -> Result<RecordWriter, Error> {
        let path = dir.join(RECORD_FILE);
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|source| Error::Write {
                path: path.clone(),
                source,
            })?;
        let mut writer = RecordWriter {
            path,
            out: BufWriter::new(file),
        };
        writer.line(|out| serde_json::to_writer(out, header))?;
        writer.flush()?;
        Ok(writer)
    }

    /// Appends one event; intervals, alerts and step and run ends are flushed at once, so a
    /// killed run loses at most the interval in progress.
    pub(crate) fn event(&mut self, event: &Event<'_>) -> Result<(), Error> {
        let flush = !matches!(event, Event::RunStarted(_) | Event::StepStarted(_));
        self.line(|out| write_event(out, event))?;
        if flush { self.flush() } else { Ok(()) }
    }

    /// Flushes and syncs the record to disk.
    pub(crate) fn finish(mut self) -> Result<(), Error> {
        self.flush()?;
        let file = self.out.get_ref();
        file.sync_all().map_err(|source| Error::Write {
            path: self.path.clone(),
            source,
        })
    }

    fn line(
        &mut self,
        write: impl FnOnce(&mut BufWriter<File>) -> serde_json::Result<()>,
    ) -> Result<(), Error> {
        let result = write(&mut self.out)
            .map_err(std::io::Error::from)
            .and_then(|()| self.out.write_all(b"\n"));
        result.map_err(|source| Error::Write {
            path: self.path.clone(),
            source,
        })
    }

    fn flush(&mut self) -> Result<(), Error> {
        self.out.flush().map_err(|source| Error::Write {
            path: self.path.clone(),
            source,
        })
    }
}

/// `{"event":"<kind>","data":<payload>}`: the envelope [`RecordLine`] reads, written from the
/// borrowed event without copying its histograms.
fn write_event(out: &mut impl Write, event: &Event<'_>) -> serde_json::Result<()> {
    #[derive(Serialize)]
    struct Envelope<'a, T: Serialize> {
        event: &'static str,
        data: &'a T,
    }
    fn envelope<T: Serialize>(
        out: &mut impl Write,
        event: &'static str,
        data: &T,
    ) -> serde_json::Result<()> {
        serde_json::to_writer(out, &Envelope { event, data })
    }
    match event {
        Event::RunStarted(e) => envelope(out, "run-started", *e),
        Event::StepStarted(e) => envelope(out, "step-started", *e),
        Event::Interval(e) => envelope(out, "interval", *e),
        Event::Alert(e) => envelope(out, "alert", *e),
        Event::StepEnded(e) => envelope(out, "step-ended", *e),
        Event::RunEnded(e) => envelope(out, "run-ended", *e),
    }
}

/// Reads a record: its header, then each event in order, one at a time (memory does not grow
/// with the record's length). A torn last line is skipped; `each` returns an error to stop.
pub fn read_record(
    path: &Path,
    mut each: impl FnMut(&RecordHeader, RecordLine) -> Result<(), Error>,
) -> Result<RecordHeader, Error> {
    let mut reader = RecordReader::open(path)?;
    while let Some(line) = reader.next_line()? {
        each(&reader.header, line)?;
    }
    Ok(reader.header)
}

/// A record read one event at a time, on demand: what a merge of several records pulls from.
pub struct RecordReader {
    pub header: RecordHeader,
    path: PathBuf,
    lines: std::io::Lines<BufReader<File>>,
    /// The line read ahead: a line is judged once the next one is seen, since only the very
    /// last may be torn.
    pending: Option<(usize, String)>,
    number: usize,
}

impl RecordReader {
    /// Opens a record and reads its header, refusing another format or version.
    pub fn open(path: &Path) -> Result<RecordReader, Error> {
        let file = File::open(path).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut lines = BufReader::new(file).lines();
        let bad = |line: usize, detail: String| Error::Record {
            path: path.to_path_buf(),
            line,
            detail,
        };
        let first = lines
            .next()
            .transpose()
            .map_err(|source| Error::Read {
                path: path.to_path_buf(),
                source,
            })?
            .ok_or_else(|| bad(1, "the record is empty".to_owned()))?;
        let header: RecordHeader =
            serde_json::from_str(&first).map_err(|e| bad(1, e.to_string()))?;
        if header.format != RECORD_FORMAT || header.version != RECORD_VERSION {
            return Err(bad(
                1,
                format!(
                    "this is `{}` version {}; this stampede reads `{RECORD_FORMAT}` version \
                     {RECORD_VERSION}",
                    header.format, header.version
                ),
            ));
        }
        Ok(RecordReader {
            header,
            path: path.to_path_buf(),
            lines,
            pending: None,
            number: 1,
        })
    }

    /// Where the record is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The next event, or `None` at the end (a torn last line is skipped).
    pub fn next_line(&mut self) -> Result<Option<RecordLine>, Error> {
        loop {
            let Some(line) = self.lines.next() else {
                let last = self.pending.take();
                return Ok(last.and_then(|(_, text)| serde_json::from_str(&text).ok()));
            };
            let line = line.map_err(|source| Error::Read {
                path: self.path.clone(),
                source,
            })?;
            self.number += 1;
            if let Some((number, text)) = self.pending.replace((self.number, line)) {
                let event = serde_json::from_str(&text).map_err(|e| Error::Record {
                    path: self.path.clone(),
                    line: number,
                    detail: e.to_string(),
                })?;
                return Ok(Some(event));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    use stampede_metrics::{AlertLevel, Outcome, RunEnding, StatsSet};

    fn header() -> RecordHeader {
        RecordHeader {
            format: RECORD_FORMAT.to_owned(),
            version: RECORD_VERSION,
            meta: RunMeta {
                run_id: "r1".to_owned(),
                scenario: "smoke".to_owned(),
                ..RunMeta::default()
            },
            plan: PlanFacts::of(&stampede_plan::Plan::default()),
        }
    }

    fn interval(seq: u64) -> IntervalSnapshot {
        let mut stats = StatsSet::new(1);
        stats.requests[0].outcomes.bump(Outcome::Status2xx);
        stats.requests[0].latency.record_us(1234 + seq);
        IntervalSnapshot {
            active_users: 3,
            ..crate::testdata::second(seq, stats)
        }
    }

    #[test]
    fn every_kind_of_event_reads_back_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = RecordWriter::create(dir.path(), &header()).unwrap();
        let start = RunStart {
            started_at: UNIX_EPOCH + Duration::from_secs(1_795_428_900),
            planned: Duration::from_secs(2),
            threads: 1,
            base_url: "http://127.0.0.1:1".to_owned(),
            monitors: vec!["the demo target".to_owned()],
        };
        let info = StepInfo {
            index: 0,
            label: "1 users".to_owned(),
            users: 1,
            rate: Some(0.1 + 0.2),
            offset: Duration::ZERO,
            ramp: Duration::ZERO,
            warmup: Duration::ZERO,
            hold: Duration::from_secs(2),
            cooldown: Duration::ZERO,
        };
        let alert = Alert {
            at: Duration::from_millis(1500),
            level: AlertLevel::Warning,
            message: "p95 was 9 ms".to_owned(),
        };
        let end = StepEnd {
            index: 0,
            measured: Duration::from_secs(2),
            peak_users: 1,
            cut_short: false,
            stream_peaks: Vec::new(),
        };
        let run_end = RunEnd {
            finished_at: start.started_at + Duration::from_secs(2),
            elapsed: Duration::from_nanos(2_000_000_123),
            outcome: RunEnding::Aborted {
                reason: "why".to_owned(),
            },
            setup: StatsSet::new(1),
        };
        let (first, second) = (interval(0), interval(1));
        for event in [
            Event::RunStarted(&start),
            Event::StepStarted(&info),
            Event::Interval(&first),
            Event::Alert(&alert),
            Event::Interval(&second),
            Event::StepEnded(&end),
            Event::RunEnded(&run_end),
        ] {
            writer.event(&event).unwrap();
        }
        writer.finish().unwrap();

        let mut read = Vec::new();
        let got = read_record(&dir.path().join(RECORD_FILE), |_, line| {
            read.push(line);
            Ok(())
        })
        .unwrap();
        assert_eq!(got, header());
        assert_eq!(read.len(), 7);
        assert!(matches!(&read[0], RecordLine::RunStarted(s) if *s == start));
        assert!(matches!(&read[1], RecordLine::StepStarted(s) if *s == info));
        match &read[2] {
            RecordLine::Interval(i) => {
                assert_eq!(
                    i.stats.requests[0].latency.histogram(),
                    first.stats.requests[0].latency.histogram()
                );
                assert_eq!((i.seq, i.active_users), (0, 3));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(&read[3], RecordLine::Alert(a) if *a == alert));
        assert!(matches!(&read[5], RecordLine::StepEnded(e) if *e == end));
        match &read[6] {
            RecordLine::RunEnded(e) => {
                assert_eq!((e.elapsed, &e.outcome), (run_end.elapsed, &run_end.outcome));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_torn_last_line_is_skipped_and_a_torn_middle_line_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = RecordWriter::create(dir.path(), &header()).unwrap();
        writer.event(&Event::Interval(&interval(0))).unwrap();
        writer.finish().unwrap();
        let path = dir.path().join(RECORD_FILE);
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str("{\"event\":\"interval\",\"da");
        std::fs::write(&path, &text).unwrap();
        let mut seen = 0;
        read_record(&path, |_, _| {
            seen += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, 1, "the killed process's half line is not an event");

        text.push_str("\n{\"event\":\"alert\",\"data\":{\"at\":{\"secs\":1,\"nanos\":0},\"level\":\"warning\",\"message\":\"x\"}}\n");
        std::fs::write(&path, &text).unwrap();
        let err = read_record(&path, |_, _| Ok(())).unwrap_err().to_string();
        assert!(
            err.contains("record.jsonl") && err.contains("line 3"),
            "{err}"
        );
    }

    #[test]
    fn another_version_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let mut old = header();
        old.version = 99;
        RecordWriter::create(dir.path(), &old)
            .unwrap()
            .finish()
            .unwrap();
        let err = read_record(&dir.path().join(RECORD_FILE), |_, _| Ok(()))
            .unwrap_err()
            .to_string();
        assert!(err.contains("version 99"), "{err}");
    }
}
