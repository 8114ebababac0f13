//! The target as the monitor saw it: one [`MonitorTally`] per watched process (the figures are
//! the metrics crate's), kept for the run and for each step.

use stampede_metrics::{MonitorFigures, MonitorSample, MonitorTally};

/// Every watched process's tally, in source order.
#[derive(Clone, Default)]
pub(crate) struct MonitorTrack {
    sources: Vec<MonitorTally>,
}

impl MonitorTrack {
    /// A track of the processes called `names`, in source order.
    pub(crate) fn of(names: &[String]) -> MonitorTrack {
        MonitorTrack {
            sources: names.iter().map(|name| MonitorTally::named(name)).collect(),
        }
    }

    /// A track of the same processes with nothing sampled yet: a step's.
    pub(crate) fn fresh(&self) -> MonitorTrack {
        MonitorTrack {
            sources: self
                .sources
                .iter()
                .map(|tally| MonitorTally::named(tally.name()))
                .collect(),
        }
    }

    pub(crate) fn push(&mut self, sample: &MonitorSample) {
        let index = usize::from(sample.source);
        if self.sources.len() <= index {
            self.sources.resize_with(index + 1, MonitorTally::default);
        }
        self.sources[index].push(sample);
    }

    /// The figures of every watched process that gave a sample.
    pub(crate) fn figures(&self) -> Vec<MonitorFigures> {
        self.sources
            .iter()
            .filter_map(MonitorTally::figures)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn samples_go_to_their_source_and_unsampled_sources_are_left_out() {
        let mut track = MonitorTrack::of(&["api".to_owned(), "redis".to_owned()]);
        let sample = |source: u16, secs: u64| MonitorSample {
            source,
            offset: Duration::from_secs(secs),
            cpu_percent: Some(10.0 * f64::from(source + 1)),
            rss_bytes: Some(1_000_000),
            failed: false,
        };
        track.push(&sample(1, 1));
        track.push(&sample(1, 2));
        let figures = track.figures();
        assert_eq!(figures.len(), 1);
        assert_eq!((figures[0].name.as_str(), figures[0].samples), ("redis", 2));
        assert_eq!(figures[0].mean_cpu_percent, Some(20.0));
    }
}
