//! histograms.hlog: the latency histograms of every interval, in the standard HdrHistogram
//! interval log (V2 compressed, base64), readable by HdrHistogram's own tools in any language.
//!
//! One line per interval and request, tagged with the request's name (spaces and commas, which
//! tags cannot hold, become `_`). Values are microseconds. Timestamps are seconds from the start
//! of the run; the header carries that start as both `StartTime` and `BaseTime`, so readers need
//! no heuristic. Empty histograms are not written.
//!
//! Together with summary.json (which says where each step and its warm-up lie) this file is
//! enough to rebuild any step's exact latency distribution, which is what `compare` does.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::Deserializer;
use hdrhistogram::serialization::interval_log::{
    IntervalLogIterator, IntervalLogWriterBuilder, LogEntry, Tag,
};
use stampede_metrics::encoding::CanonicalSerializer;
use stampede_metrics::{Latency, RequestStats};

use crate::Error;
use crate::summary::Summary;
use crate::summary::named::Named;
use crate::summary::words::tags;

pub const HLOG_FILE: &str = "histograms.hlog";

pub(crate) fn write_header(
    out: &mut impl Write,
    serializer: &mut CanonicalSerializer,
    scenario: &str,
    run_id: &str,
    started_at: SystemTime,
) -> std::io::Result<()> {
    IntervalLogWriterBuilder::new()
        .add_comment(&format!("stampede {scenario} run {run_id}"))
        .add_comment("latency in microseconds; one tagged histogram per interval and request")
        .with_start_time(started_at)
        .with_base_time(started_at)
        .begin_log_with(out, serializer)
        .map(drop)
}

/// Writes one span's histograms (`start` and `length` from the start of the run), one line per
/// request that had any.
pub(crate) fn write_span(
    out: &mut impl Write,
    serializer: &mut CanonicalSerializer,
    (start, length): (Duration, Duration),
    requests: &[RequestStats],
    tags: &[String],
) -> std::io::Result<()> {
    // The builder writes no header unless asked, so a fresh one per window only wraps `out`.
    let mut log = IntervalLogWriterBuilder::new().begin_log_with(out, serializer)?;
    for (tag, stats) in tags.iter().zip(requests) {
        if stats.latency.is_empty() {
            continue;
        }
        log.write_histogram(stats.latency.histogram(), start, length, Tag::new(tag))
            .map_err(|err| std::io::Error::other(err.to_string()))?;
    }
    Ok(())
}

/// One interval histogram read back.
pub struct HlogInterval {
    pub tag: String,
    /// From the start of the run.
    pub offset: Duration,
    pub length: Duration,
    pub histogram: Histogram<u64>,
}

/// Calls `each` with every interval of an interval log, in file order. Streams: at most one
/// decoded histogram is alive at a time.
pub fn read_intervals(path: &Path, mut each: impl FnMut(HlogInterval)) -> Result<(), Error> {
    let bytes = std::fs::read(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let bad = |detail: String| Error::Histogram {
        path: path.to_path_buf(),
        detail,
    };
    let (mut start, mut base) = (None, None);
    let mut deserializer = Deserializer::new();
    let mut decoded = Vec::new();
    for entry in IntervalLogIterator::new(&bytes) {
        match entry {
            Err(hdrhistogram::serialization::interval_log::LogIteratorError::ParseError {
                offset,
            }) => {
                return Err(Error::IntervalLog {
                    path: path.to_path_buf(),
                    offset,
                });
            }
            Ok(LogEntry::StartTime(t)) => start = Some(t),
            Ok(LogEntry::BaseTime(t)) => base = Some(t),
            Ok(LogEntry::Interval(interval)) => {
                decoded.clear();
                base64::engine::general_purpose::STANDARD
                    .decode_vec(interval.encoded_histogram(), &mut decoded)
                    .map_err(|err| bad(err.to_string()))?;
                let histogram: Histogram<u64> = deserializer
                    .deserialize(&mut decoded.as_slice())
                    .map_err(|err| bad(err.to_string()))?;
                // Absolute time is BaseTime + timestamp (or the timestamp alone without a
                // BaseTime); the offset is measured from StartTime, else from the first interval.
                let absolute = base.unwrap_or_default() + interval.start_timestamp();
                let origin = *start.get_or_insert(absolute);
                each(HlogInterval {
                    tag: interval
                        .tag()
                        .map(|t| t.as_str().to_owned())
                        .unwrap_or_default(),
                    offset: absolute.saturating_sub(origin),
                    length: interval.duration(),
                    histogram,
                });
            }
        }
    }
    Ok(())
}

/// The measured (post-warm-up) latency of each step that ran, per request name, rebuilt from a
/// run's interval log and placed into steps by the offsets in its summary.
pub struct StepHistograms {
    /// Parallel to `summary.steps`.
    pub steps: Vec<Named<Latency>>,
}

impl StepHistograms {
    pub fn read(run_dir: &Path, summary: &Summary) -> Result<StepHistograms, Error> {
        let names: Vec<String> = summary
            .total
            .requests_by_name
            .iter()
            .map(|(n, _)| n.to_owned())
            .collect();
        let by_tag = tags(&names);
        let mut steps: Vec<Named<Latency>> = summary
            .steps
            .iter()
            .map(|_| Named(names.iter().map(|n| (n.clone(), Latency::new())).collect()))
            .collect();
        // Timestamps in the log are rounded to the millisecond.
        let slack = 0.0005;
        read_intervals(&run_dir.join(HLOG_FILE), |interval| {
            let at = interval.offset.as_secs_f64();
            let Some(request) = by_tag.iter().position(|t| *t == interval.tag) else {
                return;
            };
            let step = summary.steps.iter().position(|s| {
                at + slack >= s.offset_s + s.warmup_s.min(s.hold_s)
                    && at < s.offset_s + s.hold_s.max(s.duration_s) + slack
            });
            if let Some(step) = step {
                let latency = Latency::from_histogram(&interval.histogram);
                steps[step].0[request].1.add(&latency);
            }
        })?;
        Ok(StepHistograms { steps })
    }

    /// All requests of step `index` merged.
    pub fn aggregate(&self, index: usize) -> Latency {
        let mut total = Latency::new();
        for (_, latency) in self.steps[index].iter() {
            total.add(latency);
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stampede_metrics::{IntervalSnapshot, Outcome, StatsSet};
    use std::time::UNIX_EPOCH;

    #[test]
    fn written_logs_read_back_with_their_counts_and_offsets() {
        let started = UNIX_EPOCH + Duration::from_secs(1_795_428_900);
        let mut out = Vec::new();
        let mut serializer = CanonicalSerializer::new();
        write_header(&mut out, &mut serializer, "demo", "r1", started).unwrap();
        let names = vec!["GET /a".to_owned(), "b".to_owned()];
        let tags = tags(&names);
        for seq in 0..3u64 {
            let mut stats = StatsSet::new(2);
            for us in 0..=seq * 10 {
                stats.requests[0].outcomes.bump(Outcome::Status2xx);
                stats.requests[0].latency.record_us(1000 + us);
            }
            let snap = IntervalSnapshot {
                start: Duration::from_millis(1500 * seq),
                length: Duration::from_millis(1500),
                ..crate::testdata::second(seq, stats)
            };
            let span = (snap.start, snap.length);
            write_span(&mut out, &mut serializer, span, &snap.stats.requests, &tags).unwrap();
        }
        let text = String::from_utf8(out.clone()).unwrap();
        assert!(
            text.contains("#[StartTime: 1795428900.000 (seconds since epoch)]"),
            "{text}"
        );
        assert!(text.contains("\nTag=GET_/a,3.000,1.500,"), "{text}");

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(HLOG_FILE);
        std::fs::write(&path, &out).unwrap();
        let mut got = Vec::new();
        read_intervals(&path, |i| {
            got.push((
                i.tag,
                i.offset.as_millis(),
                i.length.as_millis(),
                i.histogram.len(),
            ))
        })
        .unwrap();
        assert_eq!(
            got,
            [
                ("GET_/a".to_owned(), 0, 1500, 1),
                ("GET_/a".to_owned(), 1500, 1500, 11),
                ("GET_/a".to_owned(), 3000, 1500, 21)
            ]
        );
    }

    #[test]
    fn a_broken_log_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(HLOG_FILE);
        std::fs::write(&path, "Tag=a,0.000,1.000,2.0,!!!notbase64\n").unwrap();
        let err = read_intervals(&path, |_| {}).unwrap_err().to_string();
        assert!(
            err.contains("histograms.hlog holds a histogram that cannot be decoded"),
            "{err}"
        );
    }
}
