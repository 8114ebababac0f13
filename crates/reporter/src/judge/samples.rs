//! What `compare` needs of a stored run besides its summary: per step and per request, the
//! merged headline latency histogram (for the sampling confidence of a percentile) and the run
//! cut into up to [`MAX_BLOCKS`] consecutive blocks of measured intervals (for the run-to-run
//! noise model: see `bootstrap`).
//!
//! Read from the run record when there is one (every figure, the headline latency included);
//! a run from before records falls back to histograms.hlog, which holds the latency from the
//! actual send only and no counts per interval, so its changes are judged by sampling alone.
//! Memory is bounded by the number of blocks, not the run's length.

use std::path::Path;

use stampede_metrics::{Latency, RequestStats, headline};

use crate::Error;
use crate::store::hlog::StepHistograms;
use crate::store::record::{RECORD_FILE, RecordLine, read_record};
use crate::summary::Summary;

/// Blocks a step is cut into at most: enough for a bootstrap, few enough that neighbouring
/// intervals (which move together) land in one block.
pub const MAX_BLOCKS: usize = 30;

/// Consecutive measured intervals merged: their headline latency, as the (value, count) of
/// each non-empty histogram bucket (a few hundred pairs, not a whole histogram), and their
/// counts.
#[derive(Clone, Debug, Default)]
pub(crate) struct Block {
    pub(crate) buckets: Vec<(u64, u64)>,
    pub(crate) requests: u64,
    pub(crate) failed: u64,
    pub(crate) seconds: f64,
}

/// One span's samples: its merged headline histogram and its blocks.
#[derive(Clone, Debug, Default)]
pub(crate) struct Samples {
    pub(crate) latency: Latency,
    /// Empty when the run had no record.
    pub(crate) blocks: Vec<Block>,
    /// The block being filled: its histogram, sealed into buckets when the next one opens.
    open: Option<Latency>,
}

impl Samples {
    /// Adds an interval, opening a new block when `opens_block`.
    fn add(&mut self, stats: &RequestStats, seconds: f64, opens_block: bool) {
        if opens_block || self.blocks.is_empty() {
            self.seal();
            self.blocks.push(Block::default());
        }
        let block = self.blocks.last_mut().expect("just ensured");
        block.seconds += seconds;
        if stats.requests() == 0 {
            return;
        }
        let latency = headline(stats).0;
        self.latency.add(latency);
        self.open.get_or_insert_with(Latency::new).add(latency);
        block.requests += stats.requests();
        block.failed += stats.failed;
    }

    /// Turns the open block's histogram into its buckets.
    fn seal(&mut self) {
        if let (Some(latency), Some(block)) = (self.open.take(), self.blocks.last_mut()) {
            block.buckets = latency
                .histogram()
                .iter_recorded()
                .map(|v| (v.value_iterated_to(), v.count_at_value()))
                .collect();
        }
    }
}

/// One step's samples: all requests together, and each request (in plan order).
#[derive(Clone, Debug, Default)]
pub(crate) struct StepSamples {
    pub(crate) total: Samples,
    pub(crate) requests: Vec<Samples>,
}

/// A run's samples, parallel to its summary's steps.
pub(crate) struct RunSamples {
    pub(crate) steps: Vec<StepSamples>,
    /// False for a run read from histograms.hlog: no blocks, no headline from the schedule.
    pub(crate) from_record: bool,
}

impl RunSamples {
    pub(crate) fn read(run_dir: &Path, summary: &Summary) -> Result<RunSamples, Error> {
        let record = run_dir.join(RECORD_FILE);
        if !record.is_file() {
            return RunSamples::from_hlog(run_dir, summary);
        }
        let names = summary.total.requests_by_name.0.len();
        let mut steps: Vec<StepSamples> = summary
            .steps
            .iter()
            .map(|_| StepSamples {
                total: Samples::default(),
                requests: vec![Samples::default(); names],
            })
            .collect();
        // Intervals seen per step, and how many make a block (from the step's measured time and
        // the run's interval, known from the header).
        let mut seen = vec![0usize; steps.len()];
        let mut per_block = vec![1usize; steps.len()];
        read_record(&record, |header, line| {
            let RecordLine::Interval(interval) = line else {
                return Ok(());
            };
            let Some(at) = summary.steps.iter().position(|s| s.index == interval.step) else {
                return Ok(());
            };
            if interval.warmup {
                return Ok(());
            }
            if seen[at] == 0 {
                let each = header.plan.interval.as_secs_f64().max(1e-3);
                let expected = (summary.steps[at].duration_s / each).ceil() as usize;
                per_block[at] = expected.div_ceil(MAX_BLOCKS).max(1);
            }
            let opens = seen[at].is_multiple_of(per_block[at]);
            seen[at] += 1;
            let seconds = interval.length.as_secs_f64();
            let step = &mut steps[at];
            for (samples, stats) in step.requests.iter_mut().zip(&interval.stats.requests) {
                samples.add(stats, seconds, opens);
            }
            step.total.add(&interval.stats.aggregate(), seconds, opens);
            Ok(())
        })?;
        for step in &mut steps {
            step.total.seal();
            step.requests.iter_mut().for_each(Samples::seal);
        }
        Ok(RunSamples {
            steps,
            from_record: true,
        })
    }

    fn from_hlog(run_dir: &Path, summary: &Summary) -> Result<RunSamples, Error> {
        let histograms = StepHistograms::read(run_dir, summary)?;
        let steps = histograms
            .steps
            .iter()
            .enumerate()
            .map(|(index, named)| StepSamples {
                total: Samples {
                    latency: histograms.aggregate(index),
                    ..Samples::default()
                },
                requests: named
                    .iter()
                    .map(|(_, latency)| Samples {
                        latency: latency.clone(),
                        ..Samples::default()
                    })
                    .collect(),
            })
            .collect();
        Ok(RunSamples {
            steps,
            from_record: false,
        })
    }
}
