//! Number formatting shared by every text format, so one figure reads the same everywhere.
//!
//! The rule: a number is rounded to a fixed number of decimals for its kind (3 for times in
//! milliseconds, which is the histogram's microsecond resolution; 3 for rates and sizes), then
//! trailing zeros and a trailing point are dropped: `12.5`, `3`, `0.001`. Integers stay integers.
//! `-0` is written `0`, and a non-finite value (never produced, but never trusted) is empty.

/// `x` with at most `decimals` decimals, trailing zeros trimmed.
pub(crate) fn trim(x: f64, decimals: usize) -> String {
    if !x.is_finite() {
        return String::new();
    }
    let mut text = format!("{x:.decimals$}");
    if text.contains('.') {
        let kept = text.trim_end_matches('0').trim_end_matches('.').len();
        text.truncate(kept);
    }
    if text == "-0" { "0".to_owned() } else { text }
}

/// A time in milliseconds, to the microsecond.
pub(crate) fn ms(x: f64) -> String {
    trim(x, 3)
}

/// Rounds to `decimals` decimals, for figures stored in JSON so that the stored value is the
/// printed one.
pub(crate) fn round(x: f64, decimals: i32) -> f64 {
    if !x.is_finite() {
        return 0.0;
    }
    let scale = 10f64.powi(decimals);
    let rounded = (x * scale).round() / scale;
    if rounded == 0.0 { 0.0 } else { rounded }
}

/// `a / b`, 0 when `b` is 0: a step without requests has no error rate, not a NaN.
pub(crate) fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { 0.0 }
}

/// An integer with thousands separators, for the console: `12,345`.
pub(crate) fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A fraction as a percentage with up to 2 decimals: `0.0123` -> `1.23%`.
pub(crate) fn percent(fraction: f64) -> String {
    format!("{}%", trim(fraction * 100.0, 2))
}

/// A figure with about three significant digits for reading (`1234`, `12.3`, `0.123`), used
/// where precision would only be noise: console tables and charts.
pub(crate) fn short(x: f64) -> String {
    let magnitude = x.abs();
    let decimals = if magnitude >= 100.0 {
        0
    } else if magnitude >= 10.0 {
        1
    } else if magnitude >= 1.0 {
        2
    } else {
        3
    };
    trim(x, decimals)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn trimmed_numbers_read_back_within_half_a_unit(x in -1e9f64..1e9, decimals in 0usize..5) {
            let text = trim(x, decimals);
            let back: f64 = text.parse().unwrap();
            let unit = 10f64.powi(-(decimals as i32));
            prop_assert!((back - x).abs() <= unit / 2.0 + 1e-6, "{x} -> {text}");
            prop_assert!(!(text.contains('.') && text.ends_with('0')), "{text}");
            prop_assert!(!text.ends_with('.') && text != "-0", "{text}");
        }
    }

    #[test]
    fn trims_trailing_zeros_and_the_point() {
        assert_eq!(trim(12.5, 3), "12.5");
        assert_eq!(trim(3.0, 3), "3");
        assert_eq!(trim(0.0004, 3), "0");
        assert_eq!(trim(0.0005, 3), "0.001");
        assert_eq!(trim(-0.0001, 3), "0");
        assert_eq!(trim(1234.5678, 3), "1234.568");
        assert_eq!(trim(100.0, 0), "100");
        assert_eq!(trim(f64::NAN, 3), "");
        assert_eq!(ms(1.0), "1");
    }

    #[test]
    fn rounds_ratios_and_groups() {
        assert_eq!(round(2.34567, 3), 2.346);
        assert_eq!(round(f64::INFINITY, 3), 0.0);
        assert_eq!(ratio(1.0, 0.0), 0.0);
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1,000");
        assert_eq!(grouped(1234567), "1,234,567");
        assert_eq!(percent(0.0123), "1.23%");
        assert_eq!(percent(0.0), "0%");
        assert_eq!(short(1234.56), "1235");
        assert_eq!(short(12.345), "12.3");
        assert_eq!(short(0.1234), "0.123");
    }
}
