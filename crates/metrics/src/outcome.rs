//! How one request ended, as a small closed set, and counters indexed by it.

use serde::{Deserialize, Serialize};

/// What happened on the wire. Exactly one per request.
///
/// Whether an outcome counts as a failure depends on the request's `expect` list and its checks,
/// so the verdict is kept beside this (see [`crate::RequestStats`]), not folded into it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[repr(u8)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// A 1xx or 2xx final status.
    #[serde(rename = "2xx")]
    Status2xx,
    #[serde(rename = "3xx")]
    Status3xx,
    /// A 4xx other than 429.
    #[serde(rename = "4xx")]
    Status4xx,
    /// 429 Too Many Requests: its own outcome, whether expected or not.
    #[serde(rename = "429")]
    RateLimited,
    #[serde(rename = "5xx")]
    Status5xx,
    /// No complete response within the request's timeout.
    Timeout,
    /// The connection could not be opened (refused, unreachable).
    Refused,
    /// The connection broke before a complete response (reset, EOF mid-exchange).
    Reset,
    /// Anything else: malformed response, protocol error.
    Other,
    /// Sent, but still in flight when the grace period after its step ended: cut off without
    /// an answer. A failure, and never silently lost (see [`crate::StatsSet::abandoned`]).
    Abandoned,
}

impl Outcome {
    pub const COUNT: usize = 10;
    pub const ALL: [Outcome; Self::COUNT] = [
        Outcome::Status2xx,
        Outcome::Status3xx,
        Outcome::Status4xx,
        Outcome::RateLimited,
        Outcome::Status5xx,
        Outcome::Timeout,
        Outcome::Refused,
        Outcome::Reset,
        Outcome::Other,
        Outcome::Abandoned,
    ];

    /// The outcome of a response with this status code.
    pub fn from_status(status: u16) -> Outcome {
        match status {
            429 => Outcome::RateLimited,
            100..=299 => Outcome::Status2xx,
            300..=399 => Outcome::Status3xx,
            400..=499 => Outcome::Status4xx,
            500..=599 => Outcome::Status5xx,
            _ => Outcome::Other,
        }
    }

    /// The stable key used in summary.json, the run record and CSV headers (the same as its
    /// serde name).
    pub fn key(self) -> &'static str {
        match self {
            Outcome::Status2xx => "2xx",
            Outcome::Status3xx => "3xx",
            Outcome::Status4xx => "4xx",
            Outcome::RateLimited => "429",
            Outcome::Status5xx => "5xx",
            Outcome::Timeout => "timeout",
            Outcome::Refused => "refused",
            Outcome::Reset => "reset",
            Outcome::Other => "other",
            Outcome::Abandoned => "abandoned",
        }
    }

    /// True when no HTTP response was received at all.
    pub fn is_transport_error(self) -> bool {
        matches!(
            self,
            Outcome::Timeout
                | Outcome::Refused
                | Outcome::Reset
                | Outcome::Other
                | Outcome::Abandoned
        )
    }
}

/// One counter per [`Outcome`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OutcomeCounts([u64; Outcome::COUNT]);

impl OutcomeCounts {
    #[inline]
    pub fn bump(&mut self, outcome: Outcome) {
        self.0[outcome as usize] += 1;
    }

    pub fn get(&self, outcome: Outcome) -> u64 {
        self.0[outcome as usize]
    }

    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    pub fn add(&mut self, other: &OutcomeCounts) {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a += b;
        }
    }

    /// `(key, count)` for every outcome, in a fixed order.
    pub fn iter(&self) -> impl Iterator<Item = (Outcome, u64)> + '_ {
        Outcome::ALL.iter().map(|&o| (o, self.get(o)))
    }
}

impl Serialize for OutcomeCounts {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(Outcome::COUNT))?;
        for (outcome, n) in self.iter() {
            map.serialize_entry(outcome.key(), &n)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for OutcomeCounts {
    /// Reads the map [`Serialize`] writes; a key from a newer stampede is an error, not a
    /// silently lost count.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let map = std::collections::BTreeMap::<Outcome, u64>::deserialize(deserializer)?;
        let mut counts = OutcomeCounts::default();
        for (outcome, n) in map {
            counts.0[outcome as usize] = n;
        }
        Ok(counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_their_class_and_429_stands_alone() {
        assert_eq!(Outcome::from_status(200), Outcome::Status2xx);
        assert_eq!(Outcome::from_status(204), Outcome::Status2xx);
        assert_eq!(Outcome::from_status(301), Outcome::Status3xx);
        assert_eq!(Outcome::from_status(404), Outcome::Status4xx);
        assert_eq!(Outcome::from_status(429), Outcome::RateLimited);
        assert_eq!(Outcome::from_status(503), Outcome::Status5xx);
        assert_eq!(Outcome::from_status(999), Outcome::Other);
    }

    #[test]
    fn counts_add_and_total() {
        let mut a = OutcomeCounts::default();
        a.bump(Outcome::Status2xx);
        a.bump(Outcome::Timeout);
        let mut b = OutcomeCounts::default();
        b.bump(Outcome::Status2xx);
        b.add(&a);
        assert_eq!(b.get(Outcome::Status2xx), 2);
        assert_eq!(b.get(Outcome::Timeout), 1);
        assert_eq!(b.total(), 3);
    }

    #[test]
    fn counts_read_back_from_their_keys() {
        let mut counts = OutcomeCounts::default();
        counts.bump(Outcome::RateLimited);
        counts.bump(Outcome::Reset);
        counts.bump(Outcome::Abandoned);
        let json = serde_json::to_string(&counts).unwrap();
        assert!(
            json.contains("\"429\":1")
                && json.contains("\"reset\":1")
                && json.contains("\"abandoned\":1"),
            "{json}"
        );
        let back: OutcomeCounts = serde_json::from_str(&json).unwrap();
        assert_eq!(back, counts);
        for outcome in Outcome::ALL {
            let key = serde_json::to_string(&outcome).unwrap();
            assert_eq!(key, format!("\"{}\"", outcome.key()));
        }
    }
}
