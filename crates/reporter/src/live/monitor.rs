//! The target as the monitor saw it: a summary per watched process in constant memory (peaks,
//! and the least-squares slope of resident memory, kept as running sums), so a 24-hour soak's
//! memory trend costs five numbers, not a list of samples.

use stampede_metrics::MonitorSample;

use crate::summary::monitor::MonitorSummary;

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
        if let Some(cpu) = sample.cpu_percent {
            summary.peak_cpu_percent = Some(summary.peak_cpu_percent.map_or(cpu, |p| p.max(cpu)));
        }
        if let Some(rss) = sample.rss_bytes.map(mb) {
            summary.peak_rss_mb = Some(summary.peak_rss_mb.map_or(rss, |p| p.max(rss)));
            summary.first_rss_mb.get_or_insert(rss);
            summary.last_rss_mb = Some(rss);
            let hours = sample.offset.as_secs_f64() / 3600.0;
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
        let denominator = self.n * self.sum_xx - self.sum_x * self.sum_x;
        if self.n >= 2.0 && denominator > 0.0 {
            summary.rss_slope_mb_per_hour =
                Some((self.n * self.sum_xy - self.sum_x * self.sum_y) / denominator);
        }
        Some(summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn sample(minutes: u64, cpu: f64, rss_mb: u64) -> MonitorSample {
        MonitorSample {
            source: 0,
            offset: Duration::from_secs(minutes * 60),
            cpu_percent: Some(cpu),
            rss_bytes: Some(rss_mb * 1_000_000),
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
        assert_eq!(summary.first_rss_mb, Some(100.0));
        assert_eq!(
            (summary.peak_rss_mb, summary.last_rss_mb),
            (Some(124.0), Some(124.0))
        );
        let slope = summary.rss_slope_mb_per_hour.expect("slope");
        assert!((slope - 12.0).abs() < 1e-9, "{slope}");
    }

    #[test]
    fn no_samples_no_summary() {
        let mut track = MonitorTrack::default();
        track.sources(&["api".to_owned()]);
        assert!(track.summaries().is_empty());
    }
}
