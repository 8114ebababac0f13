//! The little arithmetic the bench needs: min/median/max over repetitions and a least-squares
//! slope for memory growth.

use serde_json::{Value, json};

/// A figure over repetitions. The median, not the mean, is what tables and ratios use: one
/// run disturbed by a neighbour's build should not move the answer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spread {
    pub min: f64,
    pub median: f64,
    pub max: f64,
}

impl Spread {
    /// `None` for no values: a figure that was not measured is shown as such, not as zero.
    pub fn of(values: &[f64]) -> Option<Spread> {
        let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        if sorted.is_empty() {
            return None;
        }
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let median = if n % 2 == 1 {
            sorted[n / 2]
        } else {
            (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
        };
        Some(Spread {
            min: sorted[0],
            median,
            max: sorted[n - 1],
        })
    }

    pub fn to_json(this: Option<Spread>) -> Value {
        match this {
            Some(s) => json!({ "min": s.min, "median": s.median, "max": s.max }),
            None => Value::Null,
        }
    }
}

/// The slope of the least-squares line through `(x, y)` points; `None` with fewer than two
/// distinct x values.
pub fn slope(points: &[(f64, f64)]) -> Option<f64> {
    let n = points.len() as f64;
    if points.len() < 2 {
        return None;
    }
    let mean_x = points.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mean_x).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mean_x) * (p.1 - mean_y)).sum();
    (sxx > 0.0).then(|| sxy / sxx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_count_takes_the_middle_value() {
        let s = Spread::of(&[3.0, 1.0, 2.0]).unwrap();
        assert_eq!(
            s,
            Spread {
                min: 1.0,
                median: 2.0,
                max: 3.0
            }
        );
    }

    #[test]
    fn even_count_averages_the_middle_pair() {
        assert_eq!(Spread::of(&[4.0, 1.0, 3.0, 2.0]).unwrap().median, 2.5);
    }

    #[test]
    fn nothing_measured_is_none_not_zero() {
        assert_eq!(Spread::of(&[]), None);
        assert_eq!(Spread::of(&[f64::NAN]), None);
        assert_eq!(Spread::to_json(None), Value::Null);
    }

    #[test]
    fn slope_of_a_noisy_line() {
        // Worked by hand: mean x 1.5, mean y 4, sxx 5, sxy 9.
        let points = [(0.0, 1.5), (1.0, 2.5), (2.0, 5.5), (3.0, 6.5)];
        assert!((slope(&points).unwrap() - 1.8).abs() < 1e-9);
        let exact = [(0.0, 1.0), (10.0, 21.0), (20.0, 41.0)];
        assert!((slope(&exact).unwrap() - 2.0).abs() < 1e-9);
    }

    #[test]
    fn slope_needs_two_distinct_x() {
        assert_eq!(slope(&[(1.0, 1.0)]), None);
        assert_eq!(slope(&[(1.0, 1.0), (1.0, 2.0)]), None);
    }
}
