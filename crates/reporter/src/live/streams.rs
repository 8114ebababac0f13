//! The files written while a run goes on, timeseries.csv and histograms.hlog: rows are
//! formatted and buffered as intervals arrive, under temporary names renamed into place when the
//! run is over, so memory stays flat however long the run and a killed run leaves no half file
//! under a final name.

use std::path::Path;
use std::time::SystemTime;

use stampede_metrics::encoding::CanonicalSerializer;
use stampede_metrics::{IntervalSnapshot, StatsSet};

use crate::Error;
use crate::live::timeseries;
use crate::live::window::Window;
use crate::store::atomic::PendingFile;
use crate::store::clock::unix_seconds;
use crate::store::hlog::{self, HLOG_FILE};

pub const TIMESERIES_FILE: &str = "timeseries.csv";

pub(crate) struct Streams {
    timeseries: PendingFile,
    hlog: PendingFile,
    serializer: CanonicalSerializer,
    /// Engine intervals merged per row (a soak's series interval).
    window: Window,
    started_unix: f64,
    names: Vec<String>,
    tags: Vec<String>,
    /// Monitors with columns of their own (several); 0 for the one `Target` pair.
    monitors: usize,
    /// `[[stream]]`s, each with its columns.
    stream_count: usize,
}

/// What every row written needs besides its window.
struct RowContext<'a> {
    started_unix: f64,
    names: &'a [String],
    tags: &'a [String],
    monitors: usize,
    stream_count: usize,
}

impl Streams {
    pub(crate) fn create(
        dir: &Path,
        rows_per_interval: usize,
        names: &[String],
        tags: &[String],
        monitors: &[String],
        stream_names: &[String],
    ) -> Result<Streams, Error> {
        let mut timeseries = PendingFile::create(&dir.join(TIMESERIES_FILE))?;
        timeseries::write_header(timeseries.writer(), monitors, stream_names)
            .map_err(|err| timeseries.error(csv_io(err)))?;
        Ok(Streams {
            timeseries,
            hlog: PendingFile::create(&dir.join(HLOG_FILE))?,
            serializer: CanonicalSerializer::new(),
            window: Window::new(rows_per_interval),
            started_unix: unix_seconds(SystemTime::now()),
            names: names.to_vec(),
            tags: tags.to_vec(),
            monitors: monitors.len(),
            stream_count: stream_names.len(),
        })
    }

    /// The run has started: timestamps count from `started_at`, and the interval log gets its
    /// header.
    pub(crate) fn start(
        &mut self,
        scenario: &str,
        run_id: &str,
        started_at: SystemTime,
    ) -> Result<(), Error> {
        self.started_unix = unix_seconds(started_at);
        hlog::write_header(
            self.hlog.writer(),
            &mut self.serializer,
            scenario,
            run_id,
            started_at,
        )
        .map_err(|err| self.hlog.error(err))
    }

    pub(crate) fn push(&mut self, snapshot: &IntervalSnapshot) -> Result<(), Error> {
        let mut result = Ok(());
        let Streams {
            window,
            timeseries,
            hlog,
            serializer,
            started_unix,
            names,
            tags,
            monitors,
            stream_count,
        } = self;
        let context = RowContext {
            started_unix: *started_unix,
            names,
            tags,
            monitors: *monitors,
            stream_count: *stream_count,
        };
        window.push(snapshot, &snapshot.stats, |w, stats| {
            if result.is_ok() {
                result = write((w, stats), timeseries, hlog, serializer, &context);
            }
        });
        result
    }

    /// Writes the last, possibly partial, row and renames both files into place.
    pub(crate) fn finish(mut self) -> Result<(), Error> {
        let mut result = Ok(());
        let Streams {
            window,
            timeseries,
            hlog,
            serializer,
            started_unix,
            names,
            tags,
            monitors,
            stream_count,
        } = &mut self;
        let context = RowContext {
            started_unix: *started_unix,
            names,
            tags,
            monitors: *monitors,
            stream_count: *stream_count,
        };
        window.flush(&mut |w, stats| {
            if result.is_ok() {
                result = write((w, stats), timeseries, hlog, serializer, &context);
            }
        });
        result?;
        self.timeseries.commit()?;
        self.hlog.commit()
    }
}

fn write(
    (window, stats): (&Window, &StatsSet),
    timeseries: &mut PendingFile,
    hlog: &mut PendingFile,
    serializer: &mut CanonicalSerializer,
    context: &RowContext<'_>,
) -> Result<(), Error> {
    let RowContext {
        started_unix,
        names,
        tags,
        monitors,
        stream_count,
    } = *context;
    let columns = (monitors, stream_count);
    timeseries::write_rows(
        timeseries.writer(),
        (window, stats),
        started_unix,
        names,
        columns,
    )
    .map_err(|err| timeseries.error(csv_io(err)))?;
    hlog::write_span(
        hlog.writer(),
        serializer,
        (window.start, window.length()),
        &stats.requests,
        tags,
    )
    .map_err(|err| hlog.error(err))
}

/// The I/O error inside a CSV error (the only kind writing can meet), for `Error::Write`.
pub(crate) fn csv_io(err: csv::Error) -> std::io::Error {
    match err.into_kind() {
        csv::ErrorKind::Io(err) => err,
        other => std::io::Error::other(format!("{other:?}")),
    }
}
