//! `on-429 = "backoff"`: how long a user waits after a 429 before its next request, from the
//! response's `Retry-After` (RFC 9110 §10.2.3: seconds, or an HTTP date), capped by the
//! scenario's `max-backoff`.
//!
//! Knows nothing of users or statistics: a header in, a duration out.

use std::time::{Duration, SystemTime};

use http::HeaderMap;
use http::header::RETRY_AFTER;

/// The wait when a 429 does not say (no `Retry-After`, or one that does not parse): long
/// enough for a per-second limiter to refill, short enough not to idle a run.
pub(crate) const UNSAID: Duration = Duration::from_secs(1);

/// How long to wait after a 429 with these headers, received at `now`, at most `max`.
pub(crate) fn wait(headers: &HeaderMap, now: SystemTime, max: Duration) -> Duration {
    let said = headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|text| retry_after(text, now));
    said.unwrap_or(UNSAID).min(max)
}

/// A `Retry-After` value: delay-seconds, or an HTTP date (a date in the past is no wait).
pub(crate) fn retry_after(text: &str, now: SystemTime) -> Option<Duration> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(text).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn seconds_and_dates_capped_by_the_maximum() {
        let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(retry_after("2", now), Some(Duration::from_secs(2)));
        assert_eq!(
            retry_after("Sun, 06 Nov 1994 08:50:07 GMT", now),
            Some(Duration::from_secs(30))
        );
        // The obsolete formats RFC 9110 still asks recipients to read.
        assert_eq!(
            retry_after("Sunday, 06-Nov-94 08:49:47 GMT", now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after("soon", now), None);
        assert_eq!(retry_after("-1", now), None);

        let mut headers = HeaderMap::new();
        let max = Duration::from_secs(30);
        assert_eq!(wait(&headers, now, max), UNSAID);
        headers.insert(RETRY_AFTER, HeaderValue::from_static("120"));
        assert_eq!(wait(&headers, now, max), max);
        headers.insert(RETRY_AFTER, HeaderValue::from_static("3"));
        assert_eq!(wait(&headers, now, max), Duration::from_secs(3));
    }
}
