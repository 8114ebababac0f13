//! Per-credential token buckets for `POST /events`: `rate_per_s` tokens a second, a burst
//! of one second's worth, and a bounded number of buckets.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use crate::state::lock;

/// Most buckets kept at once. Past it, idle buckets (already refilled to full, so
/// indistinguishable from new ones) are dropped; if every bucket is busy, all are reset,
/// which errs on letting requests through rather than growing without bound.
const MAX_BUCKETS: usize = 10_000;

/// The answer for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Allowed,
    /// Over the limit; a token is back in this many whole seconds (at least 1).
    Limited {
        retry_after_s: u64,
    },
}

pub(crate) struct RateLimiter {
    rate_per_s: f64,
    buckets: Mutex<HashMap<Box<str>, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    refilled_at: Instant,
}

impl RateLimiter {
    /// A limiter of `rate_per_s` requests a second per key; 0 allows everything.
    pub(crate) fn new(rate_per_s: u32) -> Self {
        RateLimiter {
            rate_per_s: f64::from(rate_per_s),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token from `key`'s bucket if it has one.
    pub(crate) fn check(&self, key: &str, now: Instant) -> Verdict {
        if self.rate_per_s <= 0.0 {
            return Verdict::Allowed;
        }
        let mut buckets = lock(&self.buckets);
        // Look up by `&str` first so a known key costs no allocation.
        if let Some(bucket) = buckets.get_mut(key) {
            return bucket.take(self.rate_per_s, now);
        }
        if buckets.len() >= MAX_BUCKETS {
            self.evict_idle(&mut buckets, now);
        }
        let mut bucket = Bucket {
            tokens: self.rate_per_s,
            refilled_at: now,
        };
        let verdict = bucket.take(self.rate_per_s, now);
        buckets.insert(key.into(), bucket);
        verdict
    }

    fn evict_idle(&self, buckets: &mut HashMap<Box<str>, Bucket>, now: Instant) {
        buckets.retain(|_, bucket| {
            bucket.refill(self.rate_per_s, now);
            bucket.tokens < self.rate_per_s
        });
        if buckets.len() >= MAX_BUCKETS {
            buckets.clear();
        }
    }
}

impl Bucket {
    /// Adds the tokens earned since the last refill; the burst (capacity) is one second's
    /// worth, so the capacity equals the rate.
    fn refill(&mut self, rate_per_s: f64, now: Instant) {
        let elapsed_s = now
            .saturating_duration_since(self.refilled_at)
            .as_secs_f64();
        self.tokens = (self.tokens + elapsed_s * rate_per_s).min(rate_per_s);
        self.refilled_at = now;
    }

    fn take(&mut self, rate_per_s: f64, now: Instant) -> Verdict {
        self.refill(rate_per_s, now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Verdict::Allowed
        } else {
            let wait_s = (1.0 - self.tokens) / rate_per_s;
            Verdict::Limited {
                retry_after_s: (wait_s.ceil() as u64).max(1),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_burst_of_one_second_then_limited() {
        let limiter = RateLimiter::new(5);
        let now = Instant::now();
        for _ in 0..5 {
            assert_eq!(limiter.check("k", now), Verdict::Allowed);
        }
        assert_eq!(
            limiter.check("k", now),
            Verdict::Limited { retry_after_s: 1 }
        );
        // Another key has its own bucket.
        assert_eq!(limiter.check("other", now), Verdict::Allowed);
        // A fifth of a second later one token is back.
        let later = now + Duration::from_millis(200);
        assert_eq!(limiter.check("k", later), Verdict::Allowed);
        assert!(matches!(limiter.check("k", later), Verdict::Limited { .. }));
    }

    #[test]
    fn slow_rates_ask_for_a_longer_wait() {
        let limiter = RateLimiter::new(1);
        let now = Instant::now();
        assert_eq!(limiter.check("k", now), Verdict::Allowed);
        assert_eq!(
            limiter.check("k", now),
            Verdict::Limited { retry_after_s: 1 }
        );
    }

    #[test]
    fn zero_means_unlimited() {
        let limiter = RateLimiter::new(0);
        let now = Instant::now();
        assert!((0..1000).all(|_| limiter.check("k", now) == Verdict::Allowed));
    }

    #[test]
    fn buckets_stay_bounded() {
        let limiter = RateLimiter::new(1);
        let now = Instant::now();
        for i in 0..(MAX_BUCKETS + 10) {
            limiter.check(&format!("key-{i}"), now);
        }
        assert!(lock(&limiter.buckets).len() <= MAX_BUCKETS);
    }
}
