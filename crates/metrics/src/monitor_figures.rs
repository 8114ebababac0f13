//! A watched process's figures over a span, from the monitor's samples, in constant memory:
//! peaks, means, and the least-squares slope of resident memory kept as running sums, so a
//! 24-hour soak's memory trend costs a few numbers, not a list of samples. The reporter keeps
//! one tally per process for the run and per step; the engine's judge one per step for
//! `stop-when`; both read the figures computed here.

use serde::{Deserialize, Serialize};

use crate::MonitorSample;
use crate::format::round;

/// One watched process over a span (a step, or the run): what summary.json says of it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MonitorFigures {
    /// What was watched: "the demo target", "PID 4242", a metrics URL.
    pub name: String,
    pub samples: u64,
    /// Samples the monitor could not read (a refused scrape, a vanished process); all of them
    /// when the monitor was unavailable from the start.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub failed_samples: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_cpu_percent: Option<f64>,
    /// The mean of the CPU readings (failed samples left out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean_cpu_percent: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_rss_mb: Option<f64>,
    /// The mean of the resident memory readings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean_rss_mb: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_rss_mb: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_rss_mb: Option<f64>,
    /// Least-squares slope of resident memory over the run, in MB per hour: a leak shows here.
    /// Absent unless at least `MIN_SLOPE_SAMPLES` readings span `MIN_SLOPE_SPAN_S`: a few
    /// seconds extrapolated to an hour is noise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rss_slope_mb_per_hour: Option<f64>,
}

/// Readings of resident memory needed for a slope per hour.
pub const MIN_SLOPE_SAMPLES: u64 = 10;
/// The span, in seconds, those readings must cover.
pub const MIN_SLOPE_SPAN_S: f64 = 300.0;

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl MonitorFigures {
    /// No sample could be read at all: the monitor was unavailable, which is not a target at 0.
    pub fn unavailable(&self) -> bool {
        self.samples > 0 && self.failed_samples == self.samples
    }
}

/// The running sums of one watched process's samples.
#[derive(Clone, Debug, Default)]
pub struct MonitorTally {
    latest: Option<MonitorSample>,
    figures: MonitorFigures,
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

impl MonitorTally {
    /// A tally for the process called `name`.
    pub fn named(name: &str) -> MonitorTally {
        MonitorTally {
            figures: MonitorFigures {
                name: name.to_owned(),
                ..MonitorFigures::default()
            },
            ..MonitorTally::default()
        }
    }

    pub fn name(&self) -> &str {
        &self.figures.name
    }

    /// Takes a sample; the same sample offered again counts once.
    pub fn push(&mut self, sample: &MonitorSample) {
        if self
            .latest
            .is_some_and(|latest| latest.offset == sample.offset)
        {
            return;
        }
        self.latest = Some(*sample);
        let summary = &mut self.figures;
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
    pub fn figures(&self) -> Option<MonitorFigures> {
        if self.figures.samples == 0 {
            return None;
        }
        let mut summary = self.figures.clone();
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
        let mut track = MonitorTally::named("api");
        // 100 MB, growing 2 MB every 10 minutes: 12 MB per hour.
        for n in 0..13 {
            let taken = sample(n * 10, 10.0 + n as f64, 100 + 2 * n);
            track.push(&taken);
            // Offered again with the next interval: counted once.
            track.push(&taken);
        }
        let summary = track.figures().expect("sampled");
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
            let mut track = MonitorTally::named("api");
            samples.iter().for_each(|s| track.push(s));
            track.figures().unwrap().rss_slope_mb_per_hour
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
        let (mut api, mut redis) = (MonitorTally::named("api"), MonitorTally::named("redis"));
        for n in 0..4 {
            let mut taken = sample(n, 5.0, 100);
            if n == 2 {
                (taken.failed, taken.cpu_percent, taken.rss_bytes) = (true, None, None);
            }
            api.push(&taken);
            redis.push(&MonitorSample {
                source: 1,
                failed: true,
                cpu_percent: None,
                rss_bytes: None,
                ..taken
            });
        }
        let (api, redis) = (api.figures().unwrap(), redis.figures().unwrap());
        assert_eq!((api.samples, api.failed_samples), (4, 1));
        assert!(!api.unavailable());
        assert_eq!((redis.name.as_str(), redis.failed_samples), ("redis", 4));
        assert!(redis.unavailable());
        assert_eq!(redis.peak_cpu_percent, None);
    }

    #[test]
    fn figures_are_rounded_so_a_replay_reads_the_same() {
        let summarise = |cpu: f64| {
            let mut track = MonitorTally::named("api");
            track.push(&MonitorSample {
                cpu_percent: Some(cpu),
                rss_bytes: Some(13_176_832),
                ..sample(0, 0.0, 0)
            });
            track.figures().unwrap()
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
        let track = MonitorTally::named("api");
        assert!(track.figures().is_none());
    }
}
