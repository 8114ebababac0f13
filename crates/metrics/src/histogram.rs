//! Latency histograms in microseconds, with fixed bounds so merging is always exact.

use hdrhistogram::Histogram;
use serde::Serialize;

/// Three significant digits: every percentile is exact to within 0.1 % of its value.
pub const SIGNIFICANT_DIGITS: u8 = 3;

/// The largest latency tracked, one hour. Larger values are clamped, not dropped, so a stalled
/// server still shows at the top of the distribution. Fixed bounds (no auto-resize) keep memory
/// constant and make every histogram addable to every other.
pub const LATENCY_MAX_US: u64 = 3_600_000_000;

/// A latency distribution in microseconds.
#[derive(Clone, Debug)]
pub struct Latency(Histogram<u64>);

impl Default for Latency {
    fn default() -> Self {
        Self::new()
    }
}

impl Latency {
    pub fn new() -> Latency {
        // The bounds are constants that hdrhistogram accepts, so this cannot fail.
        let histogram = Histogram::new_with_bounds(1, LATENCY_MAX_US, SIGNIFICANT_DIGITS)
            .expect("constant histogram bounds are valid");
        Latency(histogram)
    }

    /// Records one latency. Never allocates and never fails: out-of-range values are clamped.
    #[inline]
    pub fn record_us(&mut self, us: u64) {
        self.0.saturating_record(us.clamp(1, LATENCY_MAX_US));
    }

    /// Adds every count of `other` into `self`. Exact, because the bounds are the same.
    pub fn add(&mut self, other: &Latency) {
        self.0
            .add(&other.0)
            .expect("histograms with identical bounds always add");
    }

    pub fn count(&self) -> u64 {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The value at `quantile` (0.0..=1.0), in microseconds; 0 when empty.
    pub fn quantile_us(&self, quantile: f64) -> u64 {
        if self.0.is_empty() {
            0
        } else {
            self.0.value_at_quantile(quantile)
        }
    }

    pub fn clear(&mut self) {
        self.0.reset();
    }

    /// The underlying histogram, for serialisation (interval logs) and custom queries.
    pub fn histogram(&self) -> &Histogram<u64> {
        &self.0
    }

    /// Wraps a histogram read back from storage, re-bounded to ours so it merges exactly.
    pub fn from_histogram(source: &Histogram<u64>) -> Latency {
        let mut latency = Latency::new();
        for value in source.iter_recorded() {
            latency.0.saturating_record_n(
                value.value_iterated_to().clamp(1, LATENCY_MAX_US),
                value.count_at_value(),
            );
        }
        latency
    }

    /// The figures every report prints, in milliseconds.
    pub fn summary(&self) -> LatencySummary {
        if self.0.is_empty() {
            return LatencySummary::default();
        }
        let ms = |us: u64| us as f64 / 1000.0;
        LatencySummary {
            min: ms(self.0.min()),
            mean: self.0.mean() / 1000.0,
            p50: ms(self.0.value_at_quantile(0.50)),
            p90: ms(self.0.value_at_quantile(0.90)),
            p95: ms(self.0.value_at_quantile(0.95)),
            p99: ms(self.0.value_at_quantile(0.99)),
            p99_9: ms(self.0.value_at_quantile(0.999)),
            max: ms(self.0.max()),
        }
    }
}

/// min, mean and percentiles of one distribution, in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct LatencySummary {
    pub min: f64,
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    pub p99_9: f64,
    pub max: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_exact_to_three_digits() {
        let mut latency = Latency::new();
        for us in 1..=10_000 {
            latency.record_us(us * 10);
        }
        let p99 = latency.quantile_us(0.99);
        assert!((99_000..=99_100).contains(&p99), "{p99}");
        let summary = latency.summary();
        assert!((summary.p50 - 50.0).abs() <= 0.05, "{summary:?}");
        assert_eq!(summary.min, 0.01);
    }

    #[test]
    fn merging_is_exact_addition() {
        let (mut a, mut b) = (Latency::new(), Latency::new());
        for us in 0..1000 {
            a.record_us(1000 + us);
            b.record_us(5000 + us);
        }
        let mut both = Latency::new();
        for us in 0..1000 {
            both.record_us(1000 + us);
            both.record_us(5000 + us);
        }
        a.add(&b);
        assert_eq!(a.count(), 2000);
        assert_eq!(a.summary(), both.summary());
    }

    #[test]
    fn huge_and_zero_values_are_clamped_not_lost() {
        let mut latency = Latency::new();
        latency.record_us(0);
        latency.record_us(u64::MAX);
        assert_eq!(latency.count(), 2);
        assert!(latency.quantile_us(1.0) >= LATENCY_MAX_US);
    }
}
