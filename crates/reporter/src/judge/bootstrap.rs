//! Run-to-run noise by a block bootstrap: how far a run's figure could have landed had its
//! stretches of time gone otherwise.
//!
//! A run is cut into consecutive blocks of intervals (`samples`); a resample draws as many
//! blocks, with replacement, and recomputes the figure from the merged blocks: a percentile from
//! the merged latency buckets, the error rate from the pooled counts, RPS from requests over
//! seconds. The central 99 % of [`RESAMPLES`] resamples is the figure's interval. A stall that
//! hit one stretch of a run shows as a wide interval (some resamples carry it twice, some not at
//! all), which is exactly the variation a second run of the same system would show; a change
//! inside that width is noise. Deterministic: the resamples come from a fixed-seed generator,
//! so comparing twice gives the same answer.

use crate::judge::samples::Block;

/// Resamples per interval: enough for the 0.5 % tails to rest on two values each.
pub const RESAMPLES: usize = 400;
/// Blocks needed before a run's spread says anything.
pub const MIN_BLOCKS: usize = 3;

/// The figure a bootstrap recomputes.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Statistic {
    /// A latency percentile, in ms.
    Quantile(f64),
    ErrorRate,
    Rps,
}

/// The central `1 - 2 * tail` of the statistic over the resamples of `blocks`, or `None` with
/// fewer than [`MIN_BLOCKS`] blocks.
pub(crate) fn interval(blocks: &[Block], statistic: Statistic, tail: f64) -> Option<(f64, f64)> {
    if blocks.len() < MIN_BLOCKS {
        return None;
    }
    let table = Table::of(blocks);
    let mut rng = SplitMix(0x5EED_CAFE_F00D_u64);
    let mut values: Vec<f64> = (0..RESAMPLES)
        .map(|_| {
            let picks: Vec<usize> = (0..blocks.len())
                .map(|_| (rng.next() % blocks.len() as u64) as usize)
                .collect();
            table.statistic(blocks, &picks, statistic)
        })
        .collect();
    values.sort_by(f64::total_cmp);
    let at = |fraction: f64| {
        let index = (fraction * (values.len() - 1) as f64).round() as usize;
        values[index.min(values.len() - 1)]
    };
    Some((at(tail), at(1.0 - tail)))
}

/// Every block's bucket counts over the union of their bucket values, so a resample is a sum
/// of rows rather than a merge of histograms.
struct Table {
    values_us: Vec<u64>,
    rows: Vec<Vec<u64>>,
}

impl Table {
    fn of(blocks: &[Block]) -> Table {
        let mut values_us: Vec<u64> = blocks
            .iter()
            .flat_map(|b| b.buckets.iter().map(|&(v, _)| v))
            .collect();
        values_us.sort_unstable();
        values_us.dedup();
        let rows = blocks
            .iter()
            .map(|block| {
                let mut row = vec![0u64; values_us.len()];
                for &(value, count) in &block.buckets {
                    if let Ok(at) = values_us.binary_search(&value) {
                        row[at] += count;
                    }
                }
                row
            })
            .collect();
        Table { values_us, rows }
    }

    fn statistic(&self, blocks: &[Block], picks: &[usize], statistic: Statistic) -> f64 {
        match statistic {
            Statistic::Quantile(q) => {
                let mut merged = vec![0u64; self.values_us.len()];
                for &pick in picks {
                    for (sum, count) in merged.iter_mut().zip(&self.rows[pick]) {
                        *sum += count;
                    }
                }
                quantile_ms(&self.values_us, &merged, q)
            }
            Statistic::ErrorRate => {
                let requests: u64 = picks.iter().map(|&p| blocks[p].requests).sum();
                let failed: u64 = picks.iter().map(|&p| blocks[p].failed).sum();
                if requests == 0 {
                    0.0
                } else {
                    failed as f64 / requests as f64
                }
            }
            Statistic::Rps => {
                let requests: u64 = picks.iter().map(|&p| blocks[p].requests).sum();
                let seconds: f64 = picks.iter().map(|&p| blocks[p].seconds).sum();
                if seconds > 0.0 {
                    requests as f64 / seconds
                } else {
                    0.0
                }
            }
        }
    }
}

/// The q-quantile of bucketed counts, as HdrHistogram reads it (the first bucket whose running
/// count reaches `q` of the total), in ms.
fn quantile_ms(values_us: &[u64], counts: &[u64], q: f64) -> f64 {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return 0.0;
    }
    let wanted = ((q * total as f64).ceil() as u64).clamp(1, total);
    let mut running = 0;
    for (&value, &count) in values_us.iter().zip(counts) {
        running += count;
        if running >= wanted {
            return stampede_metrics::ms_of_us(value as f64);
        }
    }
    stampede_metrics::ms_of_us(values_us.last().copied().unwrap_or(0) as f64)
}

/// SplitMix64: a small, fast generator; a fixed seed makes the bootstrap repeatable.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stampede_metrics::Latency;

    fn block(latencies_us: impl IntoIterator<Item = u64>, failed: u64) -> Block {
        let mut latency = Latency::new();
        let mut requests = 0;
        for us in latencies_us {
            latency.record_us(us);
            requests += 1;
        }
        Block {
            buckets: latency
                .histogram()
                .iter_recorded()
                .map(|v| (v.value_iterated_to(), v.count_at_value()))
                .collect(),
            requests,
            failed,
            seconds: 1.0,
        }
    }

    #[test]
    fn a_stall_in_one_stretch_widens_the_tail_and_not_the_median() {
        let mut blocks: Vec<Block> = (0..8)
            .map(|_| block((0..100).map(|n| 20_000 + n * 10), 0))
            .collect();
        blocks[3] = block((0..100).map(|n| 20_000 + n * 200), 0);
        let (lo, hi) = interval(&blocks, Statistic::Quantile(0.99), 0.005).unwrap();
        assert!(hi - lo > 5.0, "the stall's block drawn or not: {lo}..{hi}");
        let (lo, hi) = interval(&blocks, Statistic::Quantile(0.5), 0.005).unwrap();
        assert!(hi - lo < 1.0, "{lo}..{hi}");
    }

    #[test]
    fn counts_pool_and_too_few_blocks_say_nothing() {
        let blocks: Vec<Block> = (0..4).map(|n| block([1000; 10], n)).collect();
        let (lo, hi) = interval(&blocks, Statistic::ErrorRate, 0.005).unwrap();
        assert!(lo >= 0.0 && hi <= 0.3 && lo < hi, "{lo}..{hi}");
        let (lo, hi) = interval(&blocks, Statistic::Rps, 0.005).unwrap();
        assert_eq!((lo, hi), (10.0, 10.0));
        assert_eq!(interval(&blocks[..2], Statistic::Rps, 0.005), None);
    }

    #[test]
    fn quantiles_of_buckets_match_the_histogram() {
        let mut latency = Latency::new();
        for us in 1..=1000u64 {
            latency.record_us(us * 37);
        }
        let buckets: Vec<(u64, u64)> = latency
            .histogram()
            .iter_recorded()
            .map(|v| (v.value_iterated_to(), v.count_at_value()))
            .collect();
        let (values, counts): (Vec<u64>, Vec<u64>) = buckets.into_iter().unzip();
        for q in [0.5, 0.9, 0.99, 1.0] {
            assert_eq!(
                quantile_ms(&values, &counts, q),
                stampede_metrics::quantile_ms(&latency, q),
                "q {q}"
            );
        }
    }
}
