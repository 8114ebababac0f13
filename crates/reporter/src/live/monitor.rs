//! The target as the monitor saw it: a summary per watched process in constant memory (peaks,
//! and the least-squares slope of resident memory, kept as running sums), so a 24-hour soak's
//! memory trend costs five numbers, not a list of samples.

use stampede_metrics::MonitorSample;
use stampede_metrics::format::round;

use crate::summary::monitor::{MIN_SLOPE_SAMPLES, MIN_SLOPE_SPAN_S, MonitorSummary};

/// Every watched process's track, in source order.
#[derive(Default)]
pub(crate) struct MonitorTrack {
    sources: Vec<SourceTrack>,
}

impl MonitorTrack {
    /// The names of what is watched, from the run's start.
    pub(crate) fn sources(&mut self, names: &[String]) {
        self.sources = names
            .iter()
            .map(|name| SourceTrack {
                summary: MonitorSummary {
                    name: name.clone(),
                    ..MonitorSummary::default()
                },
                ..SourceTrack::default()
            })
            .collect();
    }

    pub(crate) fn push(&mut self, sample: &MonitorSample) {
        let index = usize::from(sample.source);
        if self.sources.len() <= index {
            self.sources.resize_with(index + 1, SourceTrack::default);
        }
        self.sources[index].push(sample);
    }

    /// One summary per watched process that gave a sample.
    pub(crate) fn summaries(&self) -> Vec<MonitorSummary> {
        self.sources
            .iter()
            .filter_map(SourceTrack::summary)
            .collect()
    }
}

#[derive(Default)]
struct SourceTrack {
    latest: Option<MonitorSample>,
    summary: MonitorSummary,
    /// Running sums over (hours, MB) for the RSS regression line.
    n: f64,
    sum_x: f64,
    sum_y: f64,
    sum_xy: f64,
    sum_xx: f64,
    /// CPU readings and their sum, for the mean.
    cpu_n: f64,
    cpu_sum: f64,
    /// When the first and the last resident memory were read, in hours.
    first_x: Option<f64>,
    last_x: f64,
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1_000_000.0
}

impl SourceTrack {
    /// Takes a sample; the same sample offered again counts once.
    fn push(&mut self, sample: &MonitorSample) {
        if self
            .latest
            .is_some_and(|latest| latest.offset == sample.offset)
        {
            return;
        }
        self.latest = Some(*sample);
        let summary = &mut self.summary;
        summary.samples += 1;
        summary.failed_samples += u64::from(sample.failed);
        if let Some(cpu) = sample.cpu_percent {
            summary.peak_cpu_percent = Some(summary.peak_cpu_percent.map_or(cpu, |p| p.max(cpu)));
            self.cpu_n += 1.0;
            self.cpu_sum += cpu;
        }
        if let Some(rss) = sample.rss_bytes.map(mb) {
            summary.peak_rss_mb = Some(summary.peak_rss_mb.map_or(rss, |p| p.max(rss)));
            summary.first_rss_mb.get_or_insert(rss);
            summary.last_rss_mb = Some(rss);
            let hours = sample.offset.as_secs_f64() / 3600.0;
            self.first_x.get_or_insert(hours);
            self.last_x = hours;
            self.n += 1.0;
            self.sum_x += hours;
            self.sum_y += rss;
            self.sum_xy += hours * rss;
            self.sum_xx += hours * hours;
        }
    }

    /// `None` when nothing was sampled.
    fn summary(&self) -> Option<MonitorSummary> {
        if self.summary.samples == 0 {
            return None;
        }
        let mut summary = self.summary.clone();
        // Rounded here, once, like every figure a user sees. Rounding also makes the replay
        // exact: a CPU figure read back from the record's JSON may differ in its last bit.
        summary.mean_cpu_percent = (self.cpu_n > 0.0).then(|| round(self.cpu_sum / self.cpu_n, 1));
        summary.mean_rss_mb = (self.n > 0.0).then(|| round(self.sum_y / self.n, 3));
        summary.peak_cpu_percent = summary.peak_cpu_percent.map(|c| round(c, 1));
        for mb in [
            &mut summary.peak_rss_mb,
            &mut summary.first_rss_mb,
            &mut summary.last_rss_mb,
        ] {
            *mb = mb.map(|v| round(v, 3));
        }
        let denominator = self.n * self.sum_xx - self.sum_x * self.sum_x;
        let span_s = (self.last_x - self.first_x.unwrap_or(self.last_x)) * 3600.0;
        let long_enough = self.n >= MIN_SLOPE_SAMPLES as f64 && span_s >= MIN_SLOPE_SPAN_S;
        if long_enough && denominator > 0.0 {
            let slope = (self.n * self.sum_xy - self.sum_x * self.sum_y) / denominator;
            summary.rss_slope_mb_per_hour = Some(round(slope, 3));
        }
        Some(summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn sample(minutes: u64, cpu: f64, rss_mb: u64) -> MonitorSample {
        at(Duration::from_secs(minutes * 60), cpu, rss_mb)
    }

    fn at(offset: Duration, cpu: f64, rss_mb: u64) -> MonitorSample {
        MonitorSample {
            source: 0,
            offset,
            cpu_percent: Some(cpu),
            rss_bytes: Some(rss_mb * 1_000_000),
            failed: false,
        }
    }

    #[test]
    fn a_steady_leak_shows_as_its_slope_per_hour() {
        let mut track = MonitorTrack::default();
        track.sources(&["api".to_owned()]);
        // 100 MB, growing 2 MB every 10 minutes: 12 MB per hour.
        for n in 0..13 {
            let taken = sample(n * 10, 10.0 + n as f64, 100 + 2 * n);
            track.push(&taken);
            // Offered again with the next interval: counted once.
            track.push(&taken);
        }
        let summaries = track.summaries();
        let summary = &summaries[0];
        assert_eq!((summary.name.as_str(), summary.samples), ("api", 13));
        assert_eq!(summary.peak_cpu_percent, Some(22.0));
        assert_eq!(
            (summary.mean_cpu_percent, summary.mean_rss_mb),
            (Some(16.0), Some(112.0))
        );
        assert_eq!(summary.first_rss_mb, Some(100.0));
        assert_eq!(
            (summary.peak_rss_mb, summary.last_rss_mb),
            (Some(124.0), Some(124.0))
        );
        let slope = summary.rss_slope_mb_per_hour.expect("slope");
        assert!((slope - 12.0).abs() < 1e-9, "{slope}");
    }

    #[test]
    fn no_slope_from_too_few_samples_or_too_short_a_span() {
        let slope = |samples: &[MonitorSample]| {
            let mut track = MonitorTrack::default();
            track.sources(&["api".to_owned()]);
            samples.iter().for_each(|s| track.push(s));
            track.summaries()[0].rss_slope_mb_per_hour
        };
        // Ten samples a second apart: a steep line, but ten seconds say nothing per hour.
        let seconds: Vec<_> = (0..10)
            .map(|n| at(Duration::from_secs(n), 1.0, 100 + n))
            .collect();
        assert_eq!(slope(&seconds), None);
        // Nine samples over 8 minutes: too few.
        let nine: Vec<_> = (0..9).map(|n| sample(n, 1.0, 100 + n)).collect();
        assert_eq!(slope(&nine), None);
        // Ten over 9 minutes: 1 MB a minute is 60 MB per hour.
        let ten: Vec<_> = (0..10).map(|n| sample(n, 1.0, 100 + n)).collect();
        let per_hour = slope(&ten).expect("long enough");
        assert!((per_hour - 60.0).abs() < 1e-9, "{per_hour}");
    }

    #[test]
    fn failed_samples_are_counted_and_read_no_value() {
        let mut track = MonitorTrack::default();
        track.sources(&["api".to_owned(), "redis".to_owned()]);
        for n in 0..4 {
            let mut taken = sample(n, 5.0, 100);
            if n == 2 {
                (taken.failed, taken.cpu_percent, taken.rss_bytes) = (true, None, None);
            }
            track.push(&taken);
            track.push(&MonitorSample {
                source: 1,
                failed: true,
                cpu_percent: None,
                rss_bytes: None,
                ..taken
            });
        }
        let summaries = track.summaries();
        assert_eq!((summaries[0].samples, summaries[0].failed_samples), (4, 1));
        assert!(!summaries[0].unavailable());
        assert_eq!(
            (summaries[1].name.as_str(), summaries[1].failed_samples),
            ("redis", 4)
        );
        assert!(summaries[1].unavailable());
        assert_eq!(summaries[1].peak_cpu_percent, None);
    }

    #[test]
    fn figures_are_rounded_so_a_replay_reads_the_same() {
        let summarise = |cpu: f64| {
            let mut track = MonitorTrack::default();
            track.sources(&["api".to_owned()]);
            track.push(&MonitorSample {
                cpu_percent: Some(cpu),
                rss_bytes: Some(13_176_832),
                ..sample(0, 0.0, 0)
            });
            track.summaries().remove(0)
        };
        // As a run measured it, and as the record's JSON gave it back a bit off.
        let live = summarise(3.979_208_001_518_784_5);
        let replayed = summarise(3.979_208_001_518_785);
        assert_eq!(live, replayed);
        assert_eq!(live.peak_cpu_percent, Some(4.0));
        assert_eq!(live.peak_rss_mb, Some(13.177));
    }

    #[test]
    fn no_samples_no_summary() {
        let mut track = MonitorTrack::default();
        track.sources(&["api".to_owned()]);
        assert!(track.summaries().is_empty());
    }
}
