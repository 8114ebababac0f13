//! The spread of one figure over repeated runs (`stampede run --repeat N`): its lowest, middle
//! and highest value, so "how steady is this number?" is read off three figures.

use serde::{Deserialize, Serialize};

use crate::format::round;

/// The lowest, median and highest of a figure over several runs.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    pub min: f64,
    /// The middle value; with an even count, the mean of the two middle ones.
    pub median: f64,
    pub max: f64,
}

impl Spread {
    /// The spread of `values` (figures as summary.json stores them), `None` when there are
    /// none. Values that are not numbers are left out. The median is rounded to `decimals`, as
    /// the figure itself is.
    pub fn of(values: impl IntoIterator<Item = f64>, decimals: i32) -> Option<Spread> {
        let mut sorted: Vec<f64> = values.into_iter().filter(|v| v.is_finite()).collect();
        sorted.sort_by(f64::total_cmp);
        let (first, last) = (*sorted.first()?, *sorted.last()?);
        let mid = sorted.len() / 2;
        let median = if sorted.len() % 2 == 1 {
            sorted[mid]
        } else {
            round((sorted[mid - 1] + sorted[mid]) / 2.0, decimals)
        };
        Some(Spread {
            min: first,
            median,
            max: last,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_counts_take_the_middle_and_even_ones_the_mean_of_the_two() {
        let odd = Spread::of([30.5, 10.0, 20.25], 3).unwrap();
        assert_eq!((odd.min, odd.median, odd.max), (10.0, 20.25, 30.5));
        let even = Spread::of([4.0, 1.0, 2.0, 3.0], 3).unwrap();
        assert_eq!((even.min, even.median, even.max), (1.0, 2.5, 4.0));
        assert_eq!(Spread::of([f64::NAN, 7.0], 3).map(|s| s.median), Some(7.0));
        assert_eq!(Spread::of(std::iter::empty(), 3), None);
    }
}
