//! Reading wrk's text report (`wrk --latency`): its own rate and latency percentiles.

/// What the bench takes from a wrk report.
#[derive(Debug, Clone, PartialEq)]
pub struct WrkReport {
    pub requests_per_sec: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Non-2xx/3xx responses plus socket errors; anything but 0 makes the run suspect.
    pub errors: u64,
}

/// Parses the report `wrk --latency` prints on stdout.
pub fn parse(text: &str) -> Result<WrkReport, String> {
    let rps_line = find_line(text, "Requests/sec:")
        .ok_or("no `Requests/sec:` line in wrk's output (did it fail to connect?)")?;
    let requests_per_sec = rps_line
        .trim()
        .parse()
        .map_err(|_| format!("wrk's `Requests/sec:` is not a number: {rps_line:?}"))?;
    let mut errors = 0;
    if let Some(rest) = find_line(text, "Non-2xx or 3xx responses:") {
        errors += rest.trim().parse::<u64>().unwrap_or(0);
    }
    if let Some(rest) = find_line(text, "Socket errors:") {
        // "connect 0, read 0, write 0, timeout 0"
        errors += rest
            .split(',')
            .filter_map(|part| part.split_whitespace().nth(1)?.parse::<u64>().ok())
            .sum::<u64>();
    }
    Ok(WrkReport {
        requests_per_sec,
        p50_ms: percentile(text, "50%")?,
        p99_ms: percentile(text, "99%")?,
        errors,
    })
}

/// The rest of the first line that starts (after indentation) with `prefix`.
fn find_line<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    text.lines()
        .find_map(|line| line.trim_start().strip_prefix(prefix))
}

/// One line of the "Latency Distribution" block, e.g. `     99%  801.00us`, in milliseconds.
fn percentile(text: &str, label: &str) -> Result<f64, String> {
    let after = text
        .split_once("Latency Distribution")
        .map(|(_, after)| after)
        .ok_or("no `Latency Distribution` block in wrk's output (was --latency given?)")?;
    let value = find_line(after, label)
        .ok_or_else(|| format!("no {label} line in wrk's latency distribution"))?
        .trim();
    parse_duration_ms(value).ok_or_else(|| format!("cannot read wrk's {label} latency {value:?}"))
}

/// wrk prints durations as `412.00us`, `1.23ms`, `2.00s`, `1.50m`, `1.00h`.
pub fn parse_duration_ms(text: &str) -> Option<f64> {
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let ms_per_unit = match unit {
        "us" => 0.001,
        "ms" => 1.0,
        "s" => 1_000.0,
        "m" => 60_000.0,
        "h" => 3_600_000.0,
        _ => return None,
    };
    Some(number * ms_per_unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Captured from wrk 4.1.0 against nginx on loopback (a busy machine: hence the tail).
    const REPORT: &str = "\
Running 5s test @ http://127.0.0.1:40195/
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.57ms    1.71ms  12.45ms   83.00%
    Req/Sec    44.51k     5.27k   57.44k    74.00%
  Latency Distribution
     50%  419.00us
     75%    2.60ms
     90%    4.05ms
     99%    7.35ms
  221894 requests in 5.01s, 31.53MB read
Requests/sec:  44265.67
Transfer/sec:      6.29MB
";

    #[test]
    fn rate_and_percentiles() {
        let report = parse(REPORT).unwrap();
        assert_eq!(report.requests_per_sec, 44_265.67);
        assert!((report.p50_ms - 0.419).abs() < 1e-9);
        assert!((report.p99_ms - 7.35).abs() < 1e-9);
        assert_eq!(report.errors, 0);
    }

    #[test]
    fn errors_are_counted() {
        let text = REPORT.replace(
            "Requests/sec:",
            "  Socket errors: connect 0, read 3, write 0, timeout 2\n  Non-2xx or 3xx responses: 7\nRequests/sec:",
        );
        assert_eq!(parse(&text).unwrap().errors, 12);
    }

    #[test]
    fn missing_pieces_are_named() {
        let err = parse("unable to connect to 127.0.0.1:1 Connection refused\n").unwrap_err();
        assert!(err.contains("Requests/sec"), "{err}");
        let no_latency = "Requests/sec: 5.0\n";
        assert!(parse(no_latency).unwrap_err().contains("--latency"));
    }

    #[test]
    fn durations_in_every_unit() {
        assert_eq!(parse_duration_ms("250.00us"), Some(0.25));
        assert_eq!(parse_duration_ms("2.00s"), Some(2000.0));
        assert_eq!(parse_duration_ms("1.50m"), Some(90_000.0));
        assert_eq!(parse_duration_ms("3.00parsecs"), None);
    }
}
