//! Just enough query-string handling for the fault knobs and `?limit=`.
//!
//! Values are not percent-decoded: every value the target understands (`20ms`, `0.1`,
//! `10ms..50ms`) is plain ASCII, and skipping the decode keeps the hot path allocation-free.

/// The `key=value` pairs of a query string; a bare `key` yields an empty value.
pub(crate) fn pairs(query: &str) -> impl Iterator<Item = (&str, &str)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
}

/// Parses a humantime-like duration: a decimal number and a unit (`ns`, `us`, `ms`, `s`,
/// `m`), or a bare `0`. `None` when it is anything else.
pub(crate) fn parse_duration(text: &str) -> Option<std::time::Duration> {
    if text == "0" {
        return Some(std::time::Duration::ZERO);
    }
    let unit_at = text.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (number, unit) = text.split_at(unit_at);
    let value: f64 = number.parse().ok()?;
    let seconds_per_unit = match unit {
        "ns" => 1e-9,
        "us" | "µs" => 1e-6,
        "ms" => 1e-3,
        "s" => 1.0,
        "m" => 60.0,
        _ => return None,
    };
    std::time::Duration::try_from_secs_f64(value * seconds_per_unit).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("20ms"), Some(Duration::from_millis(20)));
        assert_eq!(parse_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("250us"), Some(Duration::from_micros(250)));
        assert_eq!(parse_duration("0"), Some(Duration::ZERO));
    }

    #[test]
    fn durations_without_a_known_unit_are_rejected() {
        for text in ["", "20", "ms", "20 ms", "20h", "-1s", "1..2s", "inf"] {
            assert_eq!(parse_duration(text), None, "{text:?}");
        }
    }

    #[test]
    fn pairs_split_keys_and_values() {
        let got: Vec<_> = pairs("a=1&&stall&latency=10ms..50ms").collect();
        assert_eq!(got, [("a", "1"), ("stall", ""), ("latency", "10ms..50ms")]);
    }
}
