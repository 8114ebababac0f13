//! Latency histograms in microseconds: empty until the first value, then growing only to the
//! largest value seen, so a request name that is never or rarely used costs (next to) nothing.
//! Merging stays exact: every histogram of the same precision maps a value to the same index.

use std::cell::RefCell;
use std::sync::OnceLock;
use std::time::Duration;

use base64::Engine as _;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer as _};

use crate::encoding::CanonicalSerializer;

/// Three significant digits: every percentile is exact to within 0.1 % of its value.
pub const SIGNIFICANT_DIGITS: u8 = 3;

/// Two significant digits for the request phases (connect, TLS, waiting, receiving): within
/// 1 % of the value, which is plenty to see where time goes, at about an eighth of the memory
/// (256 counters per doubling of the range against 2,048 at three digits).
pub const PHASE_SIGNIFICANT_DIGITS: u8 = 2;

/// The largest latency tracked, one hour. Larger values are clamped, not dropped, so a stalled
/// server still shows at the top of the distribution. Histograms grow towards it as values
/// come (at three digits 16 KiB covers 2 ms, 40 KiB 16 ms, 90 KiB 1 s, 188 KiB the hour), and
/// it is the bound every encoding states (see [`crate::encoding`]).
pub const LATENCY_MAX_US: u64 = 3_600_000_000;

/// A latency distribution in microseconds.
#[derive(Clone, Debug)]
pub struct Latency {
    /// `None` until the first value: an empty histogram allocates nothing.
    histogram: Option<Histogram<u64>>,
    digits: u8,
}

impl Default for Latency {
    fn default() -> Self {
        Self::new()
    }
}

impl Latency {
    pub fn new() -> Latency {
        Latency::with_digits(SIGNIFICANT_DIGITS)
    }

    /// A histogram with [`PHASE_SIGNIFICANT_DIGITS`]: the request phases. Either precision adds
    /// into the other (to the coarser one's precision).
    pub fn coarse() -> Latency {
        Latency::with_digits(PHASE_SIGNIFICANT_DIGITS)
    }

    fn with_digits(digits: u8) -> Latency {
        Latency {
            histogram: None,
            digits: digits.clamp(1, 3),
        }
    }

    /// Significant digits kept: 3, or 2 for the phases.
    pub fn digits(&self) -> u8 {
        self.digits
    }

    /// Records one latency. Never fails: out-of-range values are clamped. Allocates only when
    /// the value is the largest yet by a power of two.
    #[inline]
    pub fn record_us(&mut self, us: u64) {
        self.record_n(us, 1);
    }

    /// Records one latency given as a duration, in whole microseconds (the histograms' unit),
    /// so that no caller converts it by hand.
    #[inline]
    pub fn record(&mut self, latency: Duration) {
        self.record_us(whole_micros(latency));
    }

    fn record_n(&mut self, us: u64, count: u64) {
        let us = us.clamp(1, LATENCY_MAX_US);
        let histogram = self.covering(us);
        // Covered above; were it ever refused, the value is still counted, at the top.
        if histogram.record_n(us, count).is_err() {
            histogram.saturating_record_n(us, count);
        }
    }

    /// The histogram, made or grown to cover `us`. Growing is done here rather than by
    /// hdrhistogram's own resize, which lets the counts' capacity double past what they need.
    fn covering(&mut self, us: u64) -> &mut Histogram<u64> {
        let digits = self.digits;
        let histogram = self.histogram.get_or_insert_with(|| sized(digits, us));
        if us > histogram.high() {
            let mut bigger = sized(digits, us);
            // Every value fits the larger range, so adding cannot fail.
            let _ = bigger.add(&*histogram);
            *histogram = bigger;
        }
        histogram
    }

    /// Adds every count of `other` into `self`. Exact: a value has the same index in every
    /// histogram of the same precision, whatever their sizes.
    pub fn add(&mut self, other: &Latency) {
        let Some(theirs) = other.histogram.as_ref().filter(|h| !h.is_empty()) else {
            return;
        };
        match &mut self.histogram {
            None if other.digits == self.digits => self.histogram = Some(theirs.clone()),
            _ => {
                let mine = self.covering(theirs.max());
                if mine.add(theirs).is_err() {
                    for value in theirs.iter_recorded() {
                        mine.saturating_record_n(value.value_iterated_to(), value.count_at_value());
                    }
                }
            }
        }
    }

    pub fn count(&self) -> u64 {
        self.histogram.as_ref().map_or(0, Histogram::len)
    }

    pub fn is_empty(&self) -> bool {
        self.count() == 0
    }

    /// The value at `quantile` (0.0..=1.0), in microseconds; 0 when empty.
    pub fn quantile_us(&self, quantile: f64) -> u64 {
        match &self.histogram {
            Some(h) if !h.is_empty() => h.value_at_quantile(quantile),
            _ => 0,
        }
    }

    /// Forgets every value, keeping the counts' allocation for the next span.
    pub fn clear(&mut self) {
        if let Some(histogram) = &mut self.histogram {
            histogram.reset();
        }
    }

    /// Bytes held by the counts: 0 until the first value, then 8 per counter.
    pub fn footprint_bytes(&self) -> usize {
        self.histogram
            .as_ref()
            .map_or(0, |h| h.distinct_values() * size_of::<u64>())
    }

    /// The underlying histogram, for custom queries (an empty one when nothing was recorded).
    pub fn histogram(&self) -> &Histogram<u64> {
        static EMPTY: [OnceLock<Histogram<u64>>; 3] = [const { OnceLock::new() }; 3];
        match &self.histogram {
            Some(histogram) => histogram,
            None => EMPTY[usize::from(self.digits - 1)].get_or_init(|| sized(self.digits, 2)),
        }
    }

    /// Wraps a histogram read back from storage, re-bounded to ours so it merges exactly. Its
    /// precision is kept when it is below ours (a phase histogram stays small).
    pub fn from_histogram(source: &Histogram<u64>) -> Latency {
        let mut latency = Latency::with_digits(source.sigfig().min(SIGNIFICANT_DIGITS));
        for value in source.iter_recorded() {
            latency.record_n(value.value_iterated_to(), value.count_at_value());
        }
        latency
    }

    /// The histogram's canonical encoding (see [`crate::encoding`]): empty when nothing was
    /// recorded.
    pub fn encode(&self) -> std::io::Result<Vec<u8>> {
        thread_local! {
            /// One per thread: a serializer's compressor is costly to make for each histogram.
            static SERIALIZER: RefCell<CanonicalSerializer> = RefCell::new(CanonicalSerializer::new());
        }
        let mut bytes = Vec::new();
        if let Some(histogram) = self.histogram.as_ref().filter(|h| !h.is_empty()) {
            SERIALIZER.with_borrow_mut(|serializer| serializer.serialize(histogram, &mut bytes))?;
        }
        Ok(bytes)
    }
}

/// An empty histogram just large enough for `us`, the smallest of its precision at least.
fn sized(digits: u8, us: u64) -> Histogram<u64> {
    // Counts cover up to a power of two (at least the 1 us steps of the first bucket), so the
    // histogram's highest trackable value is stated as the top of what they cover: no value
    // they can hold makes `covering` grow them again.
    let first = (2 * 10u64.pow(u32::from(digits))).next_power_of_two();
    let high = (us.max(first - 1) + 1).next_power_of_two() - 1;
    // The bounds are 1 and at least 255, and the digits 1 to 3, so this cannot fail.
    let mut histogram = Histogram::new_with_bounds(1, high, digits)
        .expect("a histogram from 1 to at least 2 is valid");
    // Were a value ever to get past `covering`, the histogram grows rather than refuses it.
    histogram.auto(true);
    histogram
}

/// In the run record a histogram is one string: its HdrHistogram V2 deflate encoding in base64,
/// the same bytes an interval log holds, so any HdrHistogram library can read it. An empty
/// histogram is the empty string.
impl serde::Serialize for Latency {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let bytes = self.encode().map_err(serde::ser::Error::custom)?;
        serializer.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
    }
}

impl<'de> serde::Deserialize<'de> for Latency {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        if text.is_empty() {
            return Ok(Latency::new());
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.as_bytes())
            .map_err(serde::de::Error::custom)?;
        let histogram: Histogram<u64> = Deserializer::new()
            .deserialize(&mut bytes.as_slice())
            .map_err(|err| serde::de::Error::custom(format!("{err:?}")))?;
        Ok(Latency::from_histogram(&histogram))
    }
}

/// A duration in whole microseconds, the unit of every latency and time counter here; one
/// past what a `u64` holds is its largest.
pub(crate) fn whole_micros(d: Duration) -> u64 {
    d.as_micros().min(u128::from(u64::MAX)) as u64
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
        let p50 = latency.quantile_us(0.5);
        assert!((49_950..=50_050).contains(&p50), "{p50}");
        assert_eq!(latency.histogram().min(), 10);
    }

    #[test]
    fn a_duration_records_its_whole_microseconds() {
        let (mut by_duration, mut by_us) = (Latency::new(), Latency::new());
        for (d, us) in [
            (Duration::from_nanos(1_999), 1),
            (Duration::from_micros(250), 250),
            (Duration::from_millis(1_500), 1_500_000),
        ] {
            by_duration.record(d);
            by_us.record_us(us);
        }
        by_duration.record(Duration::MAX);
        by_us.record_us(u64::MAX);
        assert_eq!(by_duration.count(), 4);
        for q in [0.0, 0.25, 0.5, 0.75, 1.0] {
            assert_eq!(by_duration.quantile_us(q), by_us.quantile_us(q), "q {q}");
        }
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
        for q in [0.0, 0.5, 0.9, 0.99, 1.0] {
            assert_eq!(a.quantile_us(q), both.quantile_us(q));
        }
    }

    #[test]
    fn a_histogram_reads_back_exactly_from_its_text() {
        let mut latency = Latency::new();
        for us in 0..5000 {
            latency.record_us(17 + us * 13);
        }
        let json = serde_json::to_string(&latency).unwrap();
        let back: Latency = serde_json::from_str(&json).unwrap();
        assert_eq!(back.histogram(), latency.histogram());
        let empty: Latency =
            serde_json::from_str(&serde_json::to_string(&Latency::new()).unwrap()).unwrap();
        assert!(empty.is_empty());
        assert!(serde_json::from_str::<Latency>("\"not base64!\"").is_err());
    }

    #[test]
    fn coarse_histograms_stay_coarse_and_add_exactly() {
        let mut coarse = Latency::coarse();
        for us in 0..5000 {
            coarse.record_us(100 + us * 7);
        }
        let p95 = coarse.quantile_us(0.95);
        assert!((33_000..=33_700).contains(&p95), "{p95}");
        let back: Latency = serde_json::from_str(&serde_json::to_string(&coarse).unwrap()).unwrap();
        assert_eq!(back.digits(), PHASE_SIGNIFICANT_DIGITS);
        assert_eq!(back.histogram(), coarse.histogram());
        let mut fine = Latency::new();
        fine.add(&coarse);
        assert_eq!(fine.count(), coarse.count());
        assert!(
            fine.quantile_us(0.95).abs_diff(p95) * 100 <= p95,
            "within 1 %"
        );
    }

    /// Values from 3 us to nearly the hour, spread over the whole range.
    fn spread() -> Vec<u64> {
        (0..4000u64).map(|i| 3 + i * i * 223).collect()
    }

    #[test]
    fn the_encoding_depends_on_the_values_alone() {
        let values = spread();
        let mut ascending = Latency::new();
        values.iter().for_each(|&us| ascending.record_us(us));
        let mut descending = Latency::new();
        values.iter().rev().for_each(|&us| descending.record_us(us));
        // Small first, then large: the sum grows by addition, not by recording.
        let (low, high) = values.split_at(values.len() / 2);
        let part = |values: &[u64]| {
            let mut latency = Latency::new();
            values.iter().for_each(|&us| latency.record_us(us));
            latency
        };
        let mut grouped = part(low);
        grouped.add(&part(high));
        let mut regrouped = part(high);
        regrouped.add(&part(low));
        let mut from_empty = Latency::new();
        from_empty.add(&regrouped);
        let encoded = ascending.encode().unwrap();
        assert!(!encoded.is_empty());
        for other in [&descending, &grouped, &regrouped, &from_empty] {
            assert_eq!(other.encode().unwrap(), encoded);
        }
        // And it is what the fixed one-hour histograms of earlier versions wrote.
        let mut fixed = Histogram::<u64>::new_with_bounds(1, LATENCY_MAX_US, 3).unwrap();
        values.iter().for_each(|&us| fixed.record(us).unwrap());
        let mut earlier = Vec::new();
        hdrhistogram::serialization::V2DeflateSerializer::new()
            .serialize(&fixed, &mut earlier)
            .unwrap();
        assert_eq!(encoded, earlier);
    }

    #[test]
    fn a_record_of_fixed_size_histograms_reads_back_and_reencodes_the_same() {
        let mut fixed = Histogram::<u64>::new_with_bounds(1, LATENCY_MAX_US, 2).unwrap();
        spread().iter().for_each(|&us| fixed.record(us).unwrap());
        let mut bytes = Vec::new();
        hdrhistogram::serialization::V2DeflateSerializer::new()
            .serialize(&fixed, &mut bytes)
            .unwrap();
        let text = base64::engine::general_purpose::STANDARD.encode(&bytes);
        let read: Latency = serde_json::from_value(serde_json::Value::String(text)).unwrap();
        assert_eq!(read.digits(), 2);
        assert_eq!(read.count(), fixed.len());
        assert_eq!(read.encode().unwrap(), bytes);
    }

    #[test]
    fn a_histogram_is_as_large_as_its_largest_value_needs() {
        // Counters of the smallest histogram at three digits: one 1 us step up to 2,048 us.
        const SMALLEST_BYTES: usize = 2048 * 8;
        let mut latency = Latency::new();
        assert_eq!(latency.footprint_bytes(), 0, "empty costs nothing");
        latency.record_us(900);
        assert_eq!(latency.footprint_bytes(), SMALLEST_BYTES);
        // Each doubling of the range adds half as many counters again.
        latency.record_us(15_000);
        assert_eq!(latency.footprint_bytes(), SMALLEST_BYTES * 5 / 2);
        latency.record_us(u64::MAX);
        let hour = Histogram::<u64>::new_with_bounds(1, LATENCY_MAX_US, 3).unwrap();
        assert_eq!(latency.footprint_bytes(), hour.distinct_values() * 8);
        let mut coarse = Latency::coarse();
        coarse.record_us(15_000);
        assert_eq!(
            coarse.footprint_bytes(),
            SMALLEST_BYTES / 2,
            "256 counters a doubling"
        );
        latency.clear();
        assert!(latency.is_empty());
        assert_eq!(
            latency.footprint_bytes(),
            hour.distinct_values() * 8,
            "kept"
        );
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
