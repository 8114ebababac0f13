//! Per-request statistics: what the engine fills on the hot path and merges per interval.
//!
//! Nothing is lost between the two models' counters: in the open model every arrival scheduled
//! in a step ends as exactly one of completed (`iterations`), abandoned (sent, but cut off at
//! the end of the grace period) or dropped (never sent), so over the step's intervals
//! `scheduled == iterations + abandoned + dropped`. See [`StatsSet::unaccounted`].

use std::time::Duration;

use serde::{Deserialize, Serialize};
use stampede_plan::Phase;

use crate::histogram::whole_micros;
use crate::streams::StreamStats;
use crate::tally::add_checks;
use crate::{CaptureMisses, CheckTally, FailureSamples, Latency, Outcome, OutcomeCounts, Phases};

/// Why a request counted as failed, for the failures table. The key space is small and closed
/// (a status code, a transport outcome, or one of the request's checks), so a tally stays tiny.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureKey {
    /// A status the request did not expect.
    Status(u16),
    /// No response: timeout, refused, reset, other.
    Transport(Outcome),
    /// A response that failed the request's check with this index.
    Check(u16),
}

/// Occurrences per [`FailureKey`], in first-seen order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FailureTally(Vec<(FailureKey, u64)>);

impl FailureTally {
    /// Counts one failure. Linear search: there are only ever a handful of keys.
    pub fn bump(&mut self, key: FailureKey) {
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some((_, n)) => *n += 1,
            None => self.0.push((key, 1)),
        }
    }

    pub fn add(&mut self, other: &FailureTally) {
        for &(key, n) in &other.0 {
            match self.0.iter_mut().find(|(k, _)| *k == key) {
                Some((_, m)) => *m += n,
                None => self.0.push((key, n)),
            }
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (FailureKey, u64)> + '_ {
        self.0.iter().copied()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn clear(&mut self) {
        self.0.clear();
    }
}

/// Everything measured for one named request over some span (an interval, a step, a run).
///
/// Fields added after the first release read as empty from older run records.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct RequestStats {
    /// What happened on the wire, one count per request.
    pub outcomes: OutcomeCounts,
    /// Requests that did not succeed: an unexpected status, no response, or a failed check
    /// marked `fail-request`. Other failed checks are counted apart, in `checks_failed`.
    pub failed: u64,
    /// Check evaluations that failed, over every check of the request (a response can fail
    /// several).
    pub checks_failed: u64,
    /// Check evaluations that passed.
    #[serde(default)]
    pub checks_passed: u64,
    /// Per check of the request, by its index: passes, failures and the first values seen
    /// failing. Meaningless across requests, so [`StatsSet::aggregate`] leaves it empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<CheckTally>,
    /// Responses that succeeded: an expected status other than 429, and no failed check
    /// marked `fail-request`.
    #[serde(default)]
    pub succeeded: u64,
    /// Captures that found nothing in a response, by capture, with a message saying where
    /// they looked. A response whose capture missed is not counted in `failed`.
    #[serde(default, skip_serializing_if = "CaptureMisses::is_empty")]
    pub capture_misses: CaptureMisses,
    /// Times a user slept after a 429 (`on-429 = "backoff"`), and for how long in total.
    #[serde(default)]
    pub backoffs: u64,
    #[serde(default)]
    pub backoff_us: u64,
    /// 429 responses that carried a `Retry-After` header.
    pub retry_after_seen: u64,
    /// Response body bytes received.
    pub body_bytes: u64,
    /// Latency from the actual send.
    pub latency: Latency,
    /// Latency from the scheduled send (open model), which shows a stalled server that the
    /// actual-send figure hides. Empty in closed-model steps.
    pub corrected: Latency,
    pub failures: FailureTally,
    /// A short sample of the first failure of each key in `failures`.
    #[serde(default, skip_serializing_if = "FailureSamples::is_empty")]
    pub samples: FailureSamples,
    /// Connecting, TLS, waiting and receiving, each when it happened.
    #[serde(default)]
    pub phases: Phases,
}

impl RequestStats {
    /// One sleep after a 429 (`on-429 = "backoff"`) of `wait`.
    pub fn record_backoff(&mut self, wait: Duration) {
        self.backoffs += 1;
        self.backoff_us += whole_micros(wait);
    }

    /// Requests completed, whatever their outcome.
    pub fn requests(&self) -> u64 {
        self.outcomes.total()
    }

    pub fn add(&mut self, other: &RequestStats) {
        self.outcomes.add(&other.outcomes);
        self.failed += other.failed;
        self.checks_failed += other.checks_failed;
        self.checks_passed += other.checks_passed;
        add_checks(&mut self.checks, &other.checks);
        self.succeeded += other.succeeded;
        self.capture_misses.add(&other.capture_misses);
        self.backoffs += other.backoffs;
        self.backoff_us += other.backoff_us;
        self.retry_after_seen += other.retry_after_seen;
        self.body_bytes += other.body_bytes;
        self.latency.add(&other.latency);
        self.corrected.add(&other.corrected);
        self.failures.add(&other.failures);
        self.samples.add(&other.samples);
        self.phases.add(&other.phases);
    }

    /// Bytes held by its histograms' counts: what a request name costs per copy beyond its
    /// fixed-size counters (a few hundred bytes).
    pub fn footprint_bytes(&self) -> usize {
        let phases: usize = Phase::ALL
            .iter()
            .map(|&p| self.phases.get(p).footprint_bytes())
            .sum();
        self.latency.footprint_bytes() + self.corrected.footprint_bytes() + phases
    }

    /// Resets every counter, keeping the histogram allocations for reuse.
    pub fn clear(&mut self) {
        let mut latency = std::mem::take(&mut self.latency);
        let mut corrected = std::mem::take(&mut self.corrected);
        let mut phases = std::mem::take(&mut self.phases);
        latency.clear();
        corrected.clear();
        phases.clear();
        *self = RequestStats {
            latency,
            corrected,
            phases,
            ..RequestStats::default()
        };
    }
}

/// The statistics of every request of a scenario (indexed by request id, as in the plan) and the
/// counters that belong to the load rather than to one request.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct StatsSet {
    pub requests: Vec<RequestStats>,
    /// Connections re-opened after the previous one broke.
    pub reconnects: u64,
    /// Open model: iterations that found the backlog full and were never started.
    pub dropped: u64,
    /// Open model: iterations started later than scheduled by more than the lateness allowance.
    pub late_starts: u64,
    /// Open model: iterations scheduled in this span.
    pub scheduled: u64,
    /// Iterations (one request, or one walk of a flow) completed.
    pub iterations: u64,
    /// Connections opened, by the HTTP version they speak.
    #[serde(default)]
    pub connections: Connections,
    /// Iterations still under way when the grace period after their step ended, cut off there
    /// (both models). Each request in flight at that moment is also counted per request as
    /// [`Outcome::Abandoned`], a failure.
    #[serde(default)]
    pub abandoned: u64,
    /// Per stream of the plan, by index. Absent from records of plans without streams, so
    /// those read and replay as before.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub streams: Vec<StreamStats>,
}

/// Connections opened over a span, by the HTTP version agreed (ALPN, or as configured).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connections {
    pub http1: u64,
    pub http2: u64,
}

impl Connections {
    pub fn add(&mut self, other: &Connections) {
        self.http1 += other.http1;
        self.http2 += other.http2;
    }
}

impl StatsSet {
    pub fn new(request_count: usize) -> StatsSet {
        StatsSet {
            requests: vec![RequestStats::default(); request_count],
            ..StatsSet::default()
        }
    }

    /// Empty statistics for `request_count` requests and `stream_count` streams.
    pub fn with_streams(request_count: usize, stream_count: usize) -> StatsSet {
        StatsSet {
            streams: vec![StreamStats::default(); stream_count],
            ..StatsSet::new(request_count)
        }
    }

    pub fn add(&mut self, other: &StatsSet) {
        if self.requests.len() < other.requests.len() {
            self.requests
                .resize_with(other.requests.len(), RequestStats::default);
        }
        for (mine, theirs) in self.requests.iter_mut().zip(&other.requests) {
            mine.add(theirs);
        }
        self.reconnects += other.reconnects;
        self.dropped += other.dropped;
        self.late_starts += other.late_starts;
        self.scheduled += other.scheduled;
        self.iterations += other.iterations;
        self.connections.add(&other.connections);
        self.abandoned += other.abandoned;
        if self.streams.len() < other.streams.len() {
            self.streams
                .resize_with(other.streams.len(), StreamStats::default);
        }
        for (mine, theirs) in self.streams.iter_mut().zip(&other.streams) {
            mine.add(theirs);
        }
    }

    /// Open model: arrivals scheduled but neither completed, abandoned nor dropped. Zero for a
    /// whole step (the sum of all its intervals, warm-up included) whatever the target did;
    /// negative when more ended than were scheduled (also a bug). Meaningless for one interval
    /// alone, since an arrival may be scheduled in one interval and end in the next.
    pub fn unaccounted(&self) -> i128 {
        i128::from(crate::Arrivals::of(self).unaccounted)
    }

    /// All requests merged into one, for the `Aggregated` rows. Per-check tallies belong to
    /// one request each, so the aggregate keeps only the check totals.
    pub fn aggregate(&self) -> RequestStats {
        let mut total = RequestStats::default();
        for stats in &self.requests {
            total.add(stats);
        }
        total.checks.clear();
        total
    }

    /// Resets every counter, keeping the histogram allocations for reuse.
    pub fn clear(&mut self) {
        for stats in &mut self.requests {
            stats.clear();
        }
        self.reconnects = 0;
        self.dropped = 0;
        self.late_starts = 0;
        self.scheduled = 0;
        self.iterations = 0;
        self.connections = Connections::default();
        self.abandoned = 0;
        for stream in &mut self.streams {
            *stream = StreamStats::default();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_tally_counts_in_first_seen_order() {
        let mut tally = FailureTally::default();
        tally.bump(FailureKey::Status(500));
        tally.bump(FailureKey::Transport(Outcome::Timeout));
        tally.bump(FailureKey::Status(500));
        let mut other = FailureTally::default();
        other.bump(FailureKey::Check(0));
        other.bump(FailureKey::Status(500));
        tally.add(&other);
        let rows: Vec<_> = tally.iter().collect();
        assert_eq!(
            rows,
            vec![
                (FailureKey::Status(500), 3),
                (FailureKey::Transport(Outcome::Timeout), 1),
                (FailureKey::Check(0), 1)
            ]
        );
    }

    #[test]
    fn a_request_name_costs_only_what_its_values_need() {
        let mut stats = RequestStats::default();
        assert_eq!(stats.footprint_bytes(), 0, "a name never requested");
        // A name of the demo target's kind: a few milliseconds, closed model, no TLS.
        for us in [900, 2_500, 3_900] {
            stats.latency.record_us(us);
            stats.phases.waiting.record_us(us - 100);
            stats.phases.receiving.record_us(40);
        }
        stats.phases.connecting.record_us(150);
        // 3,072 counters for 4 ms at three digits, 512 to 1,024 for each phase at two.
        let closed = stats.footprint_bytes();
        assert!(closed <= 48 * 1024, "{closed} bytes");
        // The same name from the scheduled send (open model) adds the same again.
        stats.corrected.add(&stats.latency.clone());
        assert!(stats.footprint_bytes() <= closed + 24 * 1024);
        // A copy that was cleared keeps its size, to be filled again without allocating.
        let kept = stats.footprint_bytes();
        stats.clear();
        assert_eq!(stats.footprint_bytes(), kept);
        // Values up to the hour cost what every name cost before: the fixed bounds.
        let mut fixed = RequestStats::default();
        fixed.latency.record_us(crate::LATENCY_MAX_US);
        fixed.corrected.record_us(crate::LATENCY_MAX_US);
        for phase in Phase::ALL {
            fixed.phases.get_mut(phase).record_us(crate::LATENCY_MAX_US);
        }
        let hour = fixed.footprint_bytes();
        assert!(hour > 8 * kept, "{hour} against {kept}");
    }

    #[test]
    fn arrivals_are_accounted_for_by_addition() {
        let mut interval = StatsSet::new(1);
        interval.scheduled = 10;
        interval.iterations = 4;
        assert_eq!(
            interval.unaccounted(),
            6,
            "still under way at the interval's end"
        );
        let mut last = StatsSet::new(1);
        last.iterations = 2;
        last.abandoned = 1;
        last.dropped = 3;
        interval.add(&last);
        assert_eq!(interval.unaccounted(), 0);
        // A record written before `abandoned` existed still reads.
        let old: StatsSet = serde_json::from_str(
            r#"{"requests":[],"reconnects":0,"dropped":0,"late_starts":0,"scheduled":0,"iterations":0}"#,
        )
        .unwrap();
        assert_eq!(old.abandoned, 0);
    }

    #[test]
    fn sets_merge_request_by_request() {
        let mut a = StatsSet::new(2);
        a.requests[0].outcomes.bump(Outcome::Status2xx);
        a.requests[0].latency.record_us(100);
        a.reconnects = 1;
        let mut b = StatsSet::new(2);
        b.requests[1].outcomes.bump(Outcome::Status5xx);
        b.requests[1].failed = 1;
        b.dropped = 2;
        b.abandoned = 3;
        a.add(&b);
        assert_eq!(a.requests[0].requests(), 1);
        assert_eq!(a.requests[1].failed, 1);
        assert_eq!((a.reconnects, a.dropped, a.abandoned), (1, 2, 3));
        let total = a.aggregate();
        assert_eq!(
            (total.requests(), total.failed, total.latency.count()),
            (2, 1, 1)
        );
        let json = serde_json::to_string(&a).unwrap();
        let back: StatsSet = serde_json::from_str(&json).unwrap();
        assert_eq!(back.abandoned, 3);
        a.clear();
        assert_eq!((a.aggregate().requests(), a.abandoned), (0, 0));
        assert!(a.requests[0].latency.is_empty());
    }

    #[test]
    fn new_figures_merge_by_addition_and_read_back() {
        let mut a = StatsSet::new(1);
        let r = &mut a.requests[0];
        r.checks_passed = 3;
        r.checks_failed = 1;
        r.checks = vec![CheckTally::default(), CheckTally::default()];
        r.checks[1].fail(|| "429".into());
        r.succeeded = 3;
        r.capture_misses
            .bump(0, || "capture `token` found nothing".into());
        r.samples.keep(FailureKey::Status(403), "missing".into());
        r.phases.waiting.record_us(800);
        r.record_backoff(Duration::from_secs(1));
        a.connections.http2 = 1;
        let b = a.clone();
        a.add(&b);
        let r = &a.requests[0];
        assert_eq!((r.checks_passed, r.checks_failed, r.succeeded), (6, 2, 6));
        assert_eq!((r.checks[1].failed, r.checks[1].seen.len()), (2, 1));
        assert_eq!(r.capture_misses.total(), 2);
        assert_eq!(r.phases.waiting.count(), 2);
        assert_eq!((r.backoffs, r.backoff_us), (2, 2_000_000));
        assert_eq!(a.connections.http2, 2);
        assert!(a.aggregate().checks.is_empty());
        let json = serde_json::to_string(&a).unwrap();
        let back: StatsSet = serde_json::from_str(&json).unwrap();
        assert_eq!(back.requests[0].checks, a.requests[0].checks);
        assert_eq!(back.requests[0].samples, a.requests[0].samples);
        assert_eq!(back.requests[0].phases.waiting.count(), 2);
        // A record written before these fields existed still reads.
        let mut old: serde_json::Value = serde_json::to_value(StatsSet::new(1)).unwrap();
        for key in [
            "checks_passed",
            "succeeded",
            "phases",
            "backoffs",
            "backoff_us",
        ] {
            old["requests"][0].as_object_mut().unwrap().remove(key);
        }
        old.as_object_mut().unwrap().remove("connections");
        let read: StatsSet = serde_json::from_value(old).unwrap();
        assert!(read.requests[0].phases.is_empty());
    }
}
