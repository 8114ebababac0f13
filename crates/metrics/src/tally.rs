//! Bounded tallies kept beside a request's counters: per-check results with the first values
//! that failed, captures that found nothing, and a sample of the first failure of each kind.
//!
//! Each merges by addition (counts add; kept texts fill up to their bound in merge order) and
//! stays small however long the run, so interval snapshots can carry them. Knows nothing of
//! HTTP: the engine hands over the texts.

use serde::{Deserialize, Serialize};

use crate::FailureKey;

/// Distinct failing values kept per check.
pub const CHECK_VALUES_KEPT: usize = 3;

/// Failures of a check in one span whose value is looked at; past it the check's values are
/// not even rendered, so a check that fails every request costs no allocation.
const CHECK_VALUE_TRIES: u64 = 16;

/// Failure kinds per request that keep a sample.
pub const FAILURE_SAMPLES_KEPT: usize = 16;

/// One check of a request: how often it passed and failed, and the first distinct values it
/// failed on (`429` for a status check), so a report can say "status was 429".
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckTally {
    pub passed: u64,
    pub failed: u64,
    /// At most [`CHECK_VALUES_KEPT`] distinct values, each already cut to
    /// [`crate::sample::CHECK_VALUE_CHARS`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seen: Vec<String>,
}

impl CheckTally {
    /// Counts a failure; `value` renders what was seen, and is only called while values are
    /// still being kept.
    pub fn fail(&mut self, value: impl FnOnce() -> String) {
        self.failed += 1;
        if self.seen.len() < CHECK_VALUES_KEPT && self.failed <= CHECK_VALUE_TRIES {
            let value = value();
            if !self.seen.contains(&value) {
                self.seen.push(value);
            }
        }
    }

    pub fn add(&mut self, other: &CheckTally) {
        self.passed += other.passed;
        self.failed += other.failed;
        for value in &other.seen {
            if self.seen.len() < CHECK_VALUES_KEPT && !self.seen.contains(value) {
                self.seen.push(value.clone());
            }
        }
    }
}

/// Adds `other`'s check tallies into `mine`, check by check.
pub(crate) fn add_checks(mine: &mut Vec<CheckTally>, other: &[CheckTally]) {
    if mine.len() < other.len() {
        mine.resize_with(other.len(), CheckTally::default);
    }
    for (a, b) in mine.iter_mut().zip(other) {
        a.add(b);
    }
}

/// Captures that found nothing, by capture slot, each with a message naming the capture and
/// where it looked: "capture `token` found nothing at json:/access_token".
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CaptureMisses(Vec<CaptureMiss>);

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaptureMiss {
    /// The capture's slot in the plan's capture names.
    pub slot: u16,
    pub count: u64,
    pub message: String,
}

impl CaptureMisses {
    /// Counts a miss; `message` is only called the first time the slot misses.
    pub fn bump(&mut self, slot: u16, message: impl FnOnce() -> String) {
        match self.0.iter_mut().find(|m| m.slot == slot) {
            Some(miss) => miss.count += 1,
            None => self.0.push(CaptureMiss {
                slot,
                count: 1,
                message: message(),
            }),
        }
    }

    pub fn add(&mut self, other: &CaptureMisses) {
        for theirs in &other.0 {
            match self.0.iter_mut().find(|m| m.slot == theirs.slot) {
                Some(miss) => miss.count += theirs.count,
                None => self.0.push(theirs.clone()),
            }
        }
    }

    pub fn total(&self) -> u64 {
        self.0.iter().map(|m| m.count).sum()
    }

    pub fn iter(&self) -> impl Iterator<Item = &CaptureMiss> {
        self.0.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The first sample of each [`FailureKey`]: a short, printable excerpt of the body of an
/// unexpected status ("missing or wrong X-Hub-Signature-256"), or what broke the connection
/// ("tls: invalid peer certificate: UnknownIssuer"), or the value a failing check saw.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FailureSamples(Vec<FailureSample>);

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureSample {
    pub key: FailureKey,
    pub sample: String,
}

impl FailureSamples {
    /// Whether `key` still wants a sample: checked first, so a sample is rendered only once.
    pub fn wants(&self, key: FailureKey) -> bool {
        self.0.len() < FAILURE_SAMPLES_KEPT && !self.0.iter().any(|s| s.key == key)
    }

    /// Keeps `sample` for `key` unless one is kept already (or the bound is reached).
    pub fn keep(&mut self, key: FailureKey, sample: String) {
        if self.wants(key) {
            self.0.push(FailureSample { key, sample });
        }
    }

    pub fn add(&mut self, other: &FailureSamples) {
        for theirs in &other.0 {
            self.keep(theirs.key, theirs.sample.clone());
        }
    }

    /// The sample of `key`, if one was kept.
    pub fn get(&self, key: FailureKey) -> Option<&str> {
        self.0
            .iter()
            .find(|s| s.key == key)
            .map(|s| s.sample.as_str())
    }

    pub fn iter(&self) -> impl Iterator<Item = &FailureSample> {
        self.0.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Outcome;

    #[test]
    fn check_values_are_distinct_bounded_and_merge() {
        let mut a = CheckTally::default();
        for value in ["429", "429", "500", "503", "502"] {
            a.fail(|| value.to_owned());
        }
        a.passed = 2;
        assert_eq!((a.failed, a.seen.len()), (5, 3));
        assert_eq!(a.seen, ["429", "500", "503"]);
        let mut b = CheckTally {
            passed: 1,
            failed: 1,
            seen: vec!["404".into()],
        };
        b.add(&a);
        assert_eq!((b.passed, b.failed), (3, 6));
        assert_eq!(b.seen, ["404", "429", "500"]);
    }

    #[test]
    fn a_check_that_always_fails_stops_rendering_values() {
        let mut tally = CheckTally::default();
        let mut rendered = 0;
        for _ in 0..1000 {
            tally.fail(|| {
                rendered += 1;
                "429".to_owned()
            });
        }
        assert_eq!(tally.failed, 1000);
        assert_eq!(rendered, CHECK_VALUE_TRIES);
    }

    #[test]
    fn capture_misses_count_by_slot_with_the_first_message() {
        let mut misses = CaptureMisses::default();
        misses.bump(0, || "first".into());
        misses.bump(0, || unreachable!("rendered once"));
        let mut other = CaptureMisses::default();
        other.bump(1, || "other".into());
        other.bump(0, || "second".into());
        misses.add(&other);
        let rows: Vec<_> = misses.iter().map(|m| (m.slot, m.count)).collect();
        assert_eq!(rows, [(0, 3), (1, 1)]);
        assert_eq!(
            misses.iter().next().map(|m| m.message.as_str()),
            Some("first")
        );
        assert_eq!(misses.total(), 4);
    }

    #[test]
    fn samples_keep_the_first_of_each_key_up_to_a_bound() {
        let mut samples = FailureSamples::default();
        samples.keep(FailureKey::Status(403), "missing signature".into());
        samples.keep(FailureKey::Status(403), "later".into());
        assert_eq!(
            samples.get(FailureKey::Status(403)),
            Some("missing signature")
        );
        for code in 0..100 {
            samples.keep(FailureKey::Status(500 + code), "x".into());
        }
        assert_eq!(samples.iter().count(), FAILURE_SAMPLES_KEPT);
        let mut other = FailureSamples::default();
        other.keep(FailureKey::Transport(Outcome::Other), "tls".into());
        let mut merged = FailureSamples::default();
        merged.add(&other);
        merged.add(&samples);
        assert_eq!(
            merged.get(FailureKey::Transport(Outcome::Other)),
            Some("tls")
        );
        assert!(!merged.wants(FailureKey::Transport(Outcome::Other)));
    }
}
