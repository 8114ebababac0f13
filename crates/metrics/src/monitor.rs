//! What a monitor saw of the target at one moment, and the seam through which the engine asks
//! for it.
//!
//! Plain data and one trait: whoever samples the target (the monitor crate reads /proc or
//! scrapes a metrics endpoint) implements [`Probe`]; the engine calls it at each interval
//! boundary and carries the samples in the interval's event. This crate neither samples nor
//! judges limits.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// One sample of one watched process. A value the monitor could not read is `None`, never 0.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct MonitorSample {
    /// Which watched process: an index into `RunStart::monitors`.
    pub source: u16,
    /// When the sample was taken, from the start of the run.
    pub offset: Duration,
    /// CPU used since the previous sample, in percent of one core (150.0: one and a half cores).
    pub cpu_percent: Option<f64>,
    /// Resident memory, in bytes.
    pub rss_bytes: Option<u64>,
    /// The monitor could not read its target this time (a refused scrape, a vanished process,
    /// a monitor left out at start): counted and shown, so a gap never reads as 0 %. Absent
    /// from the record when false, so records written before it replay unchanged.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub failed: bool,
}

/// Something that samples the target when asked.
pub trait Probe {
    /// The names of what is watched, in `source` order.
    fn sources(&self) -> Vec<String>;

    /// One sample of every watched process, at `offset` from the start of the run. Must not
    /// take long: the engine bounds the wait and records nothing for a probe that overruns.
    fn sample(
        &mut self,
        offset: Duration,
    ) -> Pin<Box<dyn Future<Output = Vec<MonitorSample>> + '_>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_of_an_older_record_reads_and_writes_back_unchanged() {
        // As records wrote samples before `failed` existed.
        let old =
            r#"{"source":0,"offset":{"secs":2,"nanos":0},"cpu_percent":12.5,"rss_bytes":52400000}"#;
        let sample: MonitorSample = serde_json::from_str(old).unwrap();
        assert!(!sample.failed);
        assert_eq!(serde_json::to_string(&sample).unwrap(), old);
        let failed = MonitorSample {
            failed: true,
            cpu_percent: None,
            rss_bytes: None,
            ..sample
        };
        let text = serde_json::to_string(&failed).unwrap();
        assert!(
            text.ends_with(r#""cpu_percent":null,"rss_bytes":null,"failed":true}"#),
            "{text}"
        );
    }
}
