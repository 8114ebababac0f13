//! The run over time for charts and trend analysis: aggregate figures per point, with the number
//! of points bounded so a 24-hour soak stays a small summary.json.
//!
//! Each point merges a whole number of engine intervals, chosen when the run starts from its
//! planned length, so its percentiles are exact (merged histograms), never averaged.

use std::time::Duration;

use stampede_metrics::{IntervalSnapshot, StatsSet, StreamFigures};

use crate::live::window::Window;
use crate::summary::series::{MAX_POINTS, MonitorPoint, Series, SeriesPoint, StreamPoint};
use stampede_metrics::Figures;
use stampede_metrics::format::round;

/// Engine intervals per point so that a run of `planned` has at most [`MAX_POINTS`] points,
/// and at least `min_group`.
pub(crate) fn group_for(planned: Duration, interval: Duration, min_group: usize) -> usize {
    let intervals = planned.as_secs_f64() / interval.as_secs_f64().max(1e-3);
    let needed = (intervals / MAX_POINTS as f64).ceil() as usize;
    needed.max(min_group).max(1)
}

/// Builds the series as intervals arrive.
pub(crate) struct SeriesBuilder {
    window: Window,
    series: Series,
    /// One merged request, reused every interval.
    scratch: StatsSet,
    /// Monitors with readings of their own per point (several), or 0.
    monitors: usize,
}

impl SeriesBuilder {
    pub(crate) fn new(group: usize, interval: Duration, monitors: usize) -> SeriesBuilder {
        SeriesBuilder {
            window: Window::new(group),
            series: Series {
                point_s: round(interval.as_secs_f64() * group as f64, 3),
                points: Vec::new(),
                monitors: Vec::new(),
                streams: Vec::new(),
            },
            scratch: StatsSet::new(1),
            monitors,
        }
    }

    pub(crate) fn push(&mut self, snapshot: &IntervalSnapshot) {
        self.scratch.clear();
        for stats in &snapshot.stats.requests {
            self.scratch.requests[0].add(stats);
        }
        self.scratch.streams.clone_from(&snapshot.stats.streams);
        let (series, monitors) = (&mut self.series, self.monitors);
        self.window.push(snapshot, &self.scratch, |w, stats| {
            add(series, w, stats, monitors)
        });
    }

    /// Closes the last, possibly partial, point.
    pub(crate) fn flush(&mut self) {
        let (series, monitors) = (&mut self.series, self.monitors);
        self.window
            .flush(&mut |w, stats| add(series, w, stats, monitors));
    }

    pub(crate) fn series(&self) -> &Series {
        &self.series
    }
}

/// One point, and with several monitors each one's reading, so both lists stay parallel.
fn add(series: &mut Series, window: &Window, stats: &StatsSet, monitors: usize) {
    series.points.push(point(window, stats));
    if monitors > 0 {
        let reading = |n: usize| {
            let sample = window.samples.get(n).copied().flatten();
            MonitorPoint {
                cpu_percent: sample.and_then(|m| m.cpu_percent).map(|c| round(c, 1)),
                rss_mb: sample
                    .and_then(|m| m.rss_bytes)
                    .map(|b| round(b as f64 / 1e6, 3)),
            }
        };
        series.monitors.push((0..monitors).map(reading).collect());
    }
    if !stats.streams.is_empty() {
        series.streams.push(stream_points(window, stats));
    }
}

/// Each stream over the window, as its figures give it.
fn stream_points(window: &Window, stats: &StatsSet) -> Vec<StreamPoint> {
    let seconds = window.length().as_secs_f64();
    let streams = stats.streams.iter().enumerate();
    streams
        .map(|(index, stats)| {
            let figures = StreamFigures::of(stats, seconds);
            StreamPoint {
                open: window.streams_open.get(index).copied().unwrap_or(0),
                events_per_s: figures.events_per_s,
                e2e_p95: figures.e2e_ms.map(|e| e.p95),
                rtt_p95: figures.rtt_ms.map(|r| r.p95),
                lost: figures.lost,
            }
        })
        .collect()
}

fn point(window: &Window, stats: &StatsSet) -> SeriesPoint {
    let seconds = window.length().as_secs_f64();
    let figures = Figures::of(&stats.requests[0], seconds);
    SeriesPoint {
        offset_s: round(window.start.as_secs_f64(), 3),
        length_s: round(seconds, 3),
        step: window.step,
        warmup: window.warmup,
        users: window.users,
        requests: figures.requests,
        failed: figures.failed,
        rps: figures.rps,
        failed_rps: figures.failed_rps,
        error_rate: figures.error_rate,
        p50: figures.latency_ms.p50,
        p95: figures.latency_ms.p95,
        p99: figures.latency_ms.p99,
        cpu_percent: window
            .monitor
            .and_then(|m| m.cpu_percent)
            .map(|c| round(c, 1)),
        rss_mb: window
            .monitor
            .and_then(|m| m.rss_bytes)
            .map(|b| round(b as f64 / 1e6, 3)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stampede_metrics::Outcome;

    /// Everything the builder holds that could grow with the run: its histograms (the window's
    /// sum and the merged scratch) and the points it keeps.
    fn footprint(builder: &SeriesBuilder) -> (usize, usize) {
        let scratch: usize = builder
            .scratch
            .requests
            .iter()
            .map(|r| r.footprint_bytes())
            .sum();
        let held = builder.window.footprint_bytes() + scratch;
        (held, builder.series.points.capacity())
    }

    /// One second of a soak: two requests, the same spread of latencies every interval.
    fn second(seq: u64) -> IntervalSnapshot {
        let mut stats = StatsSet::new(2);
        for (n, request) in stats.requests.iter_mut().enumerate() {
            for us in [150, 900, 4_000, 35_000 + 1_000 * n as u64] {
                request.outcomes.bump(Outcome::Status2xx);
                request.latency.record_us(us);
                request.corrected.record_us(us + 50);
            }
        }
        IntervalSnapshot {
            active_users: 20,
            ..crate::testdata::second(seq, stats)
        }
    }

    #[test]
    fn a_soak_series_holds_the_same_memory_at_its_last_point_as_at_its_first() {
        // A 24-hour soak's grouping (60 one-second intervals a point at least), pushed for
        // twenty points: the histograms are reused point after point, and the points are
        // figures, a few hundred bytes each, at most MAX_POINTS of them.
        let group = group_for(Duration::from_secs(86_400), Duration::from_secs(1), 60);
        let mut builder = SeriesBuilder::new(group, Duration::from_secs(1), 0);
        let snapshot = second(0);
        let mut after_first = None;
        for seq in 0..(20 * group as u64) {
            let snapshot = IntervalSnapshot {
                seq,
                start: Duration::from_secs(seq),
                ..snapshot.clone()
            };
            builder.push(&snapshot);
            if builder.series().points.len() == 1 && after_first.is_none() {
                after_first = Some(footprint(&builder).0);
            }
        }
        let (held, points) = footprint(&builder);
        assert_eq!(builder.series().points.len(), 20);
        assert!(held > 0, "the window kept no histogram to reuse");
        assert_eq!(
            Some(held),
            after_first,
            "the histograms grew after the first point"
        );
        assert!(points <= MAX_POINTS, "{points} points reserved");
    }

    #[test]
    fn short_runs_keep_every_interval_and_long_ones_are_bounded() {
        let second = Duration::from_secs(1);
        assert_eq!(group_for(Duration::from_secs(300), second, 1), 1);
        assert_eq!(group_for(Duration::from_secs(300), second, 10), 10);
        let day = group_for(Duration::from_secs(86_400), second, 1);
        assert_eq!(day, 58);
        assert!(86_400 / day <= MAX_POINTS);
    }
}
