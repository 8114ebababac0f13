//! How numbers are written, once for every output: tables, CSV, JSON, messages, the progress
//! line. A figure is rounded once (by `Figures`) and written here; no other crate formats a
//! latency, a rate or a size.
//!
//! The rule: a number is rounded to a fixed number of decimals for its kind (3 for times in
//! milliseconds, which is the histogram's microsecond resolution; 3 for rates and sizes), then
//! trailing zeros and a trailing point are dropped: `12.5`, `3`, `0.001`. Integers stay integers.
//! `-0` is written `0`, and a non-finite value (never produced, but never trusted) is empty.

use stampede_plan::{Condition, Metric, Unit};

/// `x` with at most `decimals` decimals, trailing zeros trimmed.
pub fn trim(x: f64, decimals: usize) -> String {
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
pub fn ms(x: f64) -> String {
    trim(x, 3)
}

/// Rounds to `decimals` decimals, for figures stored in JSON so that the stored value is the
/// printed one.
pub fn round(x: f64, decimals: i32) -> f64 {
    if !x.is_finite() {
        return 0.0;
    }
    let scale = 10f64.powi(decimals);
    let rounded = (x * scale).round() / scale;
    if rounded == 0.0 { 0.0 } else { rounded }
}

/// `a / b`, 0 when `b` is 0: a step without requests has no error rate, not a NaN.
pub fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { 0.0 }
}

/// An integer with thousands separators, for the console: `12,345`.
pub fn grouped(n: u64) -> String {
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
pub fn percent(fraction: f64) -> String {
    format!("{}%", trim(fraction * 100.0, 2))
}

/// A figure with about three significant digits for reading (`1234`, `12.3`, `0.123`), used
/// where precision would only be noise: console tables and charts.
pub fn short(x: f64) -> String {
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

/// Bytes for people, in decimal units as `rss` limits are written: "1.8 GB", "512 MB".
pub fn bytes(bytes: f64) -> String {
    const UNITS: [(&str, f64); 4] = [("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)];
    match UNITS.iter().find(|(_, size)| bytes >= *size) {
        Some((unit, size)) => format!("{} {unit}", short(bytes / size)),
        None => format!("{} B", trim(bytes, 0)),
    }
}

/// A value in its metric's unit: `12.5 ms`, `1.5%`, `250/s`.
pub fn value(unit: Unit, value: f64) -> String {
    match unit {
        Unit::Millis => format!("{} ms", ms(value)),
        Unit::Fraction => percent(value),
        Unit::PerSecond => format!("{}/s", trim(value, 1)),
        Unit::MbPerHour => format!("{} MB/h", short(value)),
        Unit::Count => trim(value, 0),
    }
}

/// What a condition asks for, in its metric's unit: `< 500 ms`, `<= 1%`, `> 100/s`.
pub fn condition(metric: Metric, condition: &Condition) -> String {
    format!(
        "{} {}",
        condition.op.symbol(),
        value(metric.unit(), condition.value)
    )
}

/// A span of time in a sentence: `30s`, `1.5s`, `250ms`.
pub fn seconds(span: std::time::Duration) -> String {
    let s = span.as_secs_f64();
    if s >= 1.0 {
        format!("{}s", trim(s, 1))
    } else {
        format!("{}ms", trim(s * 1000.0, 0))
    }
}

/// `p95 < 500 ms`.
pub fn rule(metric: Metric, condition: &Condition) -> String {
    format!("{} {}", metric.name(), self::condition(metric, condition))
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

    #[test]
    fn sizes_and_values_in_their_units() {
        assert_eq!(bytes(1_820_000_000.0), "1.82 GB");
        assert_eq!(bytes(18_200_000_000.0), "18.2 GB");
        assert_eq!(bytes(512e6), "512 MB");
        assert_eq!(bytes(999.0), "999 B");
        let lt = Condition {
            op: stampede_plan::Op::Lt,
            value: 500.0,
        };
        assert_eq!(rule(Metric::P95, &lt), "p95 < 500 ms");
        let le = Condition {
            op: stampede_plan::Op::Le,
            value: 0.015,
        };
        assert_eq!(rule(Metric::ErrorRate, &le), "error-rate <= 1.5%");
        assert_eq!(value(Unit::PerSecond, 1234.56), "1234.6/s");
        assert_eq!(seconds(std::time::Duration::from_millis(30_000)), "30s");
        assert_eq!(seconds(std::time::Duration::from_millis(1_540)), "1.5s");
        assert_eq!(seconds(std::time::Duration::from_millis(250)), "250ms");
    }
}
