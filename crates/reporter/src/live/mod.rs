//! The `Reporter`: listens to a run's events, streams per-interval rows, and writes every result
//! file when the run is over.
//!
//! Memory stays bounded whatever the run's length: per-interval rows go straight to temporary
//! files (renamed into place at the end), a step's histograms live only until the step ends, and
//! what is kept is the run total, small per-step figures, the failure tally and a series capped
//! at [`crate::series::MAX_POINTS`] points. `record` never panics and does no more than format
//! and buffer a few rows; an I/O error is remembered and returned by `finish`.

mod assemble;
pub mod failures;
pub mod merge;
pub mod monitor;
pub mod series;
pub mod steps_csv;
pub mod streams;
pub mod timeseries;
pub mod window;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use stampede_metrics::format::round;
use stampede_metrics::{
    Alert, Arrivals, Event, Figures, IntervalSnapshot, LoadFigures, RequestStats, RunEnd,
    RunEnding, StatsSet, StepInfo, StreamFigures,
};
use stampede_plan::Plan;

use crate::judge::analysis::AnalysisOptions;
use crate::live::monitor::MonitorTrack;
use crate::live::series::{SeriesBuilder, group_for};
use crate::live::streams::{Streams, csv_io};
use crate::store::atomic::{remove_stale_temporaries, write_atomic};
use crate::store::history::{self, DEFAULT_KEEP, HistoryEntry};
use crate::store::record::{
    RECORD_FILE, RECORD_FORMAT, RECORD_VERSION, RecordHeader, RecordWriter, read_record,
};
use crate::summary::named::Named;
use crate::summary::plan::PlanFacts;
use crate::summary::{MAX_ALERTS, RunMeta, SUMMARY_FILE, StepSummary, Summary};
use crate::{Error, render};
use failures::FailureLog;
use steps_csv::StepRow;

pub const STEPS_FILE: &str = "steps.csv";
pub const FAILURES_FILE: &str = "failures.csv";

/// A step that has started and not yet ended: its measured intervals so far. A step's figures
/// are the sum of its measured intervals, nothing else, so a run stopped inside a step (or
/// killed, and replayed from its record) reports that step the same way.
struct OpenStep {
    index: usize,
    stats: StatsSet,
    /// Measured time covered by the intervals so far.
    measured: Duration,
    /// The most users active at an interval's end, for a step that never ended.
    peak_users: u32,
    /// Open model: the ends of its scheduled arrivals, over every interval, warm-up included.
    arrivals: Arrivals,
    /// The watched processes over the step's measured intervals.
    monitor: MonitorTrack,
}

impl OpenStep {
    fn new(index: usize, requests: usize, monitor: MonitorTrack) -> OpenStep {
        OpenStep {
            index,
            stats: StatsSet::new(requests),
            measured: Duration::ZERO,
            peak_users: 0,
            arrivals: Arrivals::default(),
            monitor,
        }
    }
}

pub struct Reporter {
    dir: PathBuf,
    meta: RunMeta,
    plan: PlanFacts,
    history_keep: usize,
    analysis: AnalysisOptions,
    started_at: SystemTime,
    end: Option<(SystemTime, Duration, RunEnding, Figures)>,
    /// Captures that found nothing, in setup and in the steps: `(message, count)`.
    capture_misses: Vec<(String, u64)>,
    infos: Vec<Option<StepInfo>>,
    steps: Vec<StepSummary>,
    /// Per step that ended, each stream's figures in it.
    stream_steps: Vec<(usize, Vec<StreamFigures>)>,
    rows: Vec<StepRow>,
    /// Usually one; two while a step's last intervals overlap the next step's first ones (load
    /// threads do not finish a step at the same instant).
    open: Vec<OpenStep>,
    total: StatsSet,
    alerts: Vec<Alert>,
    alerts_dropped: u64,
    /// `None` once a write failed: the temporary files are then dropped, and removed.
    streams: Option<Streams>,
    series: SeriesBuilder,
    failures: FailureLog,
    monitor: MonitorTrack,
    /// The run record, appended event by event; `None` when replaying one.
    record: Option<RecordWriter>,
    /// The end of the latest event seen, from the start of the run: the end of a run that
    /// never reported its own (killed, and replayed from its record).
    last_seen: Duration,
    /// A live run adds itself to the scenario's history; a replay does not.
    append_history: bool,
    error: Option<Error>,
}

impl Reporter {
    /// Creates `dir` (`results/<scenario>/<run-id>`), opens the streamed files and the run
    /// record in it, and writes the record's header.
    pub fn create(plan: &Plan, meta: RunMeta, dir: &Path) -> Result<Reporter, Error> {
        let header = RecordHeader {
            format: RECORD_FORMAT.to_owned(),
            version: RECORD_VERSION,
            meta,
            plan: PlanFacts::of(plan),
        };
        Reporter::create_from(header, dir)
    }

    /// [`Reporter::create`] from a record's header, for a run whose plan is known only by what
    /// its records kept of it (a merge of segments).
    pub(crate) fn create_from(header: RecordHeader, dir: &Path) -> Result<Reporter, Error> {
        std::fs::create_dir_all(dir).map_err(|source| Error::CreateDir {
            path: dir.to_path_buf(),
            source,
        })?;
        let record = RecordWriter::create(dir, &header)?;
        let mut reporter = Reporter::open(header.plan, header.meta, dir)?;
        reporter.record = Some(record);
        reporter.append_history = true;
        Ok(reporter)
    }

    /// Rebuilds every file of a run from its record alone: the same bytes the run wrote, or,
    /// for a run that was killed, its results up to the last interval it recorded. The history
    /// is left alone.
    pub fn replay(run_dir: &Path) -> Result<Summary, Error> {
        remove_stale_temporaries(run_dir);
        let mut reporter = None;
        let path = run_dir.join(RECORD_FILE);
        read_record(&path, |header, line| {
            if reporter.is_none() {
                let opened = Reporter::open(header.plan.clone(), header.meta.clone(), run_dir)?;
                reporter = Some(opened);
            }
            if let Some(reporter) = &mut reporter {
                reporter.record(&line.as_event());
            }
            Ok(())
        })
        .and_then(|header| match reporter {
            Some(reporter) => Ok(reporter),
            None => Reporter::open(header.plan, header.meta, run_dir),
        })?
        .finish()
    }

    fn open(plan: PlanFacts, meta: RunMeta, dir: &Path) -> Result<Reporter, Error> {
        let streams = Streams::create(
            dir,
            plan.rows_per_interval,
            &plan.names,
            &plan.tags,
            &plan.monitors,
            &plan.streams,
        )?;
        let group = group_for(plan.planned, plan.interval, plan.rows_per_interval);
        Ok(Reporter {
            dir: dir.to_path_buf(),
            meta,
            history_keep: DEFAULT_KEEP,
            analysis: AnalysisOptions::default(),
            started_at: UNIX_EPOCH,
            end: None,
            capture_misses: Vec::new(),
            infos: vec![None; plan.steps],
            steps: Vec::new(),
            stream_steps: Vec::new(),
            rows: Vec::new(),
            open: Vec::new(),
            total: StatsSet::new(plan.names.len()),
            alerts: Vec::new(),
            alerts_dropped: 0,
            streams: Some(streams),
            series: SeriesBuilder::new(group, plan.interval, plan.monitors.len()),
            failures: FailureLog::default(),
            monitor: MonitorTrack::default(),
            record: None,
            last_seen: Duration::ZERO,
            append_history: false,
            error: None,
            plan,
        })
    }

    /// Keeps the last `runs` runs in the scenario's history (default 100).
    pub fn history_limit(mut self, runs: usize) -> Reporter {
        self.history_keep = runs.max(1);
        self
    }

    /// Replaces the limits of the knee, elbow, drift and burst analyses.
    pub fn analysis_options(mut self, options: AnalysisOptions) -> Reporter {
        self.analysis = options;
        self
    }

    /// Takes one event. Never panics; a write error is kept and returned by [`Reporter::finish`].
    pub fn record(&mut self, event: &Event<'_>) {
        let result = self.record.as_mut().map(|record| record.event(event));
        if let Some(Err(err)) = result {
            self.error.get_or_insert(err);
            self.record = None;
        }
        match event {
            Event::RunStarted(start) => {
                self.started_at = start.started_at;
                self.monitor = MonitorTrack::of(&start.monitors);
                let result = self
                    .streams
                    .as_mut()
                    .map(|s| s.start(&self.meta.scenario, &self.meta.run_id, start.started_at));
                self.keep_error(result);
            }
            Event::StepStarted(info) => {
                if self.infos.len() <= info.index {
                    self.infos.resize(info.index + 1, None);
                }
                self.infos[info.index] = Some((*info).clone());
                self.open_step(info.index);
            }
            Event::Interval(snapshot) => self.interval(snapshot),
            Event::Alert(alert) => {
                if self.alerts.len() < MAX_ALERTS {
                    self.alerts.push((*alert).clone());
                } else {
                    self.alerts_dropped += 1;
                }
            }
            Event::StepEnded(end) => {
                let open = match self.open.iter().position(|o| o.index == end.index) {
                    Some(at) => self.open.remove(at),
                    None => OpenStep::new(end.index, self.plan.names.len(), self.monitor.fresh()),
                };
                self.add_step(&open, end.measured, end.peak_users, end.cut_short);
                self.stream_peaks(end.index, &end.stream_peaks);
            }
            Event::RunEnded(end) => self.run_ended(end),
        }
    }

    /// A step's stream figures take the engine's peaks of open streams.
    fn stream_peaks(&mut self, index: usize, peaks: &[u32]) {
        if let Some((_, figures)) = self.stream_steps.iter_mut().find(|(i, _)| *i == index) {
            for (figures, &peak) in figures.iter_mut().zip(peaks) {
                figures.peak_open = peak;
            }
        }
    }

    fn open_step(&mut self, index: usize) -> &mut OpenStep {
        let at = match self.open.iter().position(|o| o.index == index) {
            Some(at) => at,
            None => {
                let monitor = self.monitor.fresh();
                self.open
                    .push(OpenStep::new(index, self.plan.names.len(), monitor));
                self.open.len() - 1
            }
        };
        &mut self.open[at]
    }

    fn interval(&mut self, snapshot: &IntervalSnapshot) {
        self.last_seen = self.last_seen.max(snapshot.start + snapshot.length);
        for sample in &snapshot.monitor {
            self.monitor.push(sample);
        }
        let result = self.streams.as_mut().map(|s| s.push(snapshot));
        self.keep_error(result);
        self.series.push(snapshot);
        self.failures.push(snapshot);
        if self.steps.iter().any(|s| s.index == snapshot.step) {
            // A straggler after its step ended: it is in the streams, not in the step.
            return;
        }
        let open = self.open_step(snapshot.step);
        open.peak_users = open.peak_users.max(snapshot.active_users);
        open.arrivals.count(&snapshot.stats);
        if !snapshot.warmup {
            for sample in &snapshot.monitor {
                open.monitor.push(sample);
            }
            open.stats.add(&snapshot.stats);
            open.measured += snapshot.length;
        }
    }

    fn run_ended(&mut self, end: &RunEnd) {
        self.close_open_steps();
        for stats in &end.setup.requests {
            self.count_misses(stats);
        }
        let setup = Figures::of(&end.setup.aggregate(), end.elapsed.as_secs_f64());
        self.end = Some((end.finished_at, end.elapsed, end.outcome.clone(), setup));
    }

    /// Steps the engine never ended (the run stopped inside them) are reported from their
    /// intervals, marked cut short.
    fn close_open_steps(&mut self) {
        for open in std::mem::take(&mut self.open) {
            self.add_step(&open, open.measured, open.peak_users, true);
        }
    }

    fn info(&self, index: usize) -> Option<&StepInfo> {
        self.infos.get(index).and_then(Option::as_ref)
    }

    fn add_step(&mut self, open: &OpenStep, measured: Duration, peak_users: u32, cut_short: bool) {
        let (index, stats) = (open.index, &open.stats);
        if self.steps.iter().any(|s| s.index == index) {
            return;
        }
        let info = self.info(index).cloned().unwrap_or_else(|| StepInfo {
            index,
            label: format!("step {}", index + 1),
            users: peak_users,
            rate: None,
            offset: Duration::ZERO,
            ramp: Duration::ZERO,
            warmup: Duration::ZERO,
            hold: measured,
            cooldown: Duration::ZERO,
        });
        let seconds = measured.as_secs_f64();
        for (id, request) in stats.requests.iter().enumerate() {
            if request.requests() > 0 {
                let method = self.plan.methods.get(id).map_or("", String::as_str);
                let name = self.plan.names.get(id).map_or("", String::as_str);
                let row = StepRow::of(index + 1, peak_users, method, name, request, seconds);
                self.rows.push(row);
            }
        }
        let aggregate = stats.aggregate();
        let row = StepRow::of(index + 1, peak_users, "", "Aggregated", &aggregate, seconds);
        self.rows.push(row);
        for (n, (name, stream)) in self.plan.streams.iter().zip(&stats.streams).enumerate() {
            if stream.active() {
                let kind = self.plan.stream_kind(n);
                let row = StepRow::of_stream(index + 1, peak_users, (kind, name), stream, seconds);
                self.rows.push(row);
            }
        }
        let figures = stats.streams.iter().map(|s| StreamFigures::of(s, seconds));
        self.stream_steps.push((index, figures.collect()));
        let monitors = open.monitor.figures();
        self.steps.push(StepSummary {
            index,
            label: info.label.clone(),
            users: info.users,
            offset_s: round(info.offset.as_secs_f64(), 3),
            warmup_s: round(info.warmup.as_secs_f64(), 3),
            hold_s: round(info.hold.as_secs_f64(), 3),
            cooldown_s: round(info.cooldown.as_secs_f64(), 3),
            duration_s: round(seconds, 3),
            load: LoadFigures::of(stats, seconds, peak_users, info.rate),
            figures: Figures::of(&aggregate, seconds).with_monitors(&monitors),
            monitors,
            cut_short,
            arrivals: open.arrivals.is_open().then_some(open.arrivals),
            requests_by_name: self.by_name(stats, seconds),
        });
        self.total.add(stats);
        for request in &stats.requests {
            self.count_misses(request);
        }
    }

    fn count_misses(&mut self, stats: &RequestStats) {
        for miss in stats.capture_misses.iter() {
            match self
                .capture_misses
                .iter_mut()
                .find(|(m, _)| *m == miss.message)
            {
                Some((_, count)) => *count += miss.count,
                None => self.capture_misses.push((miss.message.clone(), miss.count)),
            }
        }
    }

    fn by_name(&self, stats: &StatsSet, seconds: f64) -> Named<Figures> {
        Named(
            self.plan
                .names
                .iter()
                .zip(&stats.requests)
                .map(|(name, s)| (name.clone(), Figures::of(s, seconds)))
                .collect(),
        )
    }

    fn keep_error(&mut self, result: Option<Result<(), Error>>) {
        if let Some(Err(err)) = result {
            self.error.get_or_insert(err);
            self.streams = None;
        }
    }

    /// Writes every file (each atomically), appends the run to the scenario's history, and
    /// returns the summary.
    pub fn finish(self) -> Result<Summary, Error> {
        let (summary, written) = self.conclude();
        written.map(|()| summary)
    }

    /// The summary, computed in memory whatever happens to the files, and whether every file
    /// was written: a full disk must not also cost the person at the terminal the verdict.
    /// Every file is attempted; the first error is kept.
    pub fn conclude(mut self) -> (Summary, Result<(), Error>) {
        self.close_open_steps();
        let mut written = self.error.take().map_or(Ok(()), Err);
        if let Some(streams) = self.streams.take() {
            written = written.and(streams.finish());
        }
        if let Some(record) = self.record.take() {
            written = written.and(record.finish());
        }
        self.series.flush();
        let summary = self.summary();
        let files = self.write_files(&summary);
        (summary, written.and(files))
    }

    fn write_files(&self, summary: &Summary) -> Result<(), Error> {
        let mut csv = Vec::new();
        steps_csv::write(&mut csv, &self.rows).map_err(|err| self.csv_error(STEPS_FILE, err))?;
        write_atomic(&self.dir.join(STEPS_FILE), &csv)?;
        let mut csv = Vec::new();
        failures::write(&mut csv, &summary.failures)
            .map_err(|err| self.csv_error(FAILURES_FILE, err))?;
        write_atomic(&self.dir.join(FAILURES_FILE), &csv)?;
        write_atomic(&self.dir.join(SUMMARY_FILE), &summary.to_json())?;
        render::write_rendered(&self.dir, summary)?;
        if self.append_history
            && let Some(scenario_dir) = self.dir.parent()
        {
            history::append(scenario_dir, &HistoryEntry::of(summary), self.history_keep)?;
        }
        Ok(())
    }

    fn csv_error(&self, file: &str, err: csv::Error) -> Error {
        Error::Write {
            path: self.dir.join(file),
            source: csv_io(err),
        }
    }
}
