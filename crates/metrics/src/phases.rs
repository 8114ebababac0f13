//! Where a request's time goes, as k6 splits it: connecting, the TLS handshake, waiting for the
//! first byte, receiving the body. One histogram per phase, kept at two significant digits (see
//! [`crate::PHASE_SIGNIFICANT_DIGITS`]) because a request name carries four of them.
//!
//! Connecting and TLS are recorded once per new connection, against the request that opened
//! it; waiting and receiving once per response. Knows nothing of sockets: the engine times them.

use serde::{Deserialize, Deserializer, Serialize};
use stampede_plan::Phase;

use crate::Latency;

/// The four phase histograms of a request, in microseconds.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Phases {
    #[serde(default = "Latency::coarse", deserialize_with = "coarse")]
    pub connecting: Latency,
    #[serde(default = "Latency::coarse", deserialize_with = "coarse")]
    pub tls_handshaking: Latency,
    #[serde(default = "Latency::coarse", deserialize_with = "coarse")]
    pub waiting: Latency,
    #[serde(default = "Latency::coarse", deserialize_with = "coarse")]
    pub receiving: Latency,
}

impl Default for Phases {
    fn default() -> Self {
        Phases {
            connecting: Latency::coarse(),
            tls_handshaking: Latency::coarse(),
            waiting: Latency::coarse(),
            receiving: Latency::coarse(),
        }
    }
}

/// An empty histogram is written as "" and would read back at full precision; a phase stays
/// coarse.
pub(crate) fn coarse<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Latency, D::Error> {
    let latency = Latency::deserialize(deserializer)?;
    Ok(if latency.is_empty() {
        Latency::coarse()
    } else {
        latency
    })
}

impl Phases {
    pub fn get(&self, phase: Phase) -> &Latency {
        match phase {
            Phase::Connecting => &self.connecting,
            Phase::TlsHandshaking => &self.tls_handshaking,
            Phase::Waiting => &self.waiting,
            Phase::Receiving => &self.receiving,
        }
    }

    pub fn get_mut(&mut self, phase: Phase) -> &mut Latency {
        match phase {
            Phase::Connecting => &mut self.connecting,
            Phase::TlsHandshaking => &mut self.tls_handshaking,
            Phase::Waiting => &mut self.waiting,
            Phase::Receiving => &mut self.receiving,
        }
    }

    pub fn add(&mut self, other: &Phases) {
        for phase in Phase::ALL {
            self.get_mut(phase).add(other.get(phase));
        }
    }

    pub fn clear(&mut self) {
        for phase in Phase::ALL {
            self.get_mut(phase).clear();
        }
    }

    /// True when no phase was recorded at all.
    pub fn is_empty(&self) -> bool {
        Phase::ALL.iter().all(|&p| self.get(p).is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PHASE_SIGNIFICANT_DIGITS;

    #[test]
    fn phases_merge_and_read_back_coarse() {
        let mut a = Phases::default();
        a.connecting.record_us(120);
        a.waiting.record_us(900);
        let mut b = Phases::default();
        b.waiting.record_us(1100);
        b.receiving.record_us(50);
        a.add(&b);
        assert_eq!(a.waiting.count(), 2);
        assert!(a.tls_handshaking.is_empty() && !a.is_empty());
        let json = serde_json::to_string(&a).unwrap();
        let back: Phases = serde_json::from_str(&json).unwrap();
        for phase in Phase::ALL {
            assert_eq!(back.get(phase).histogram(), a.get(phase).histogram());
            assert_eq!(back.get(phase).digits(), PHASE_SIGNIFICANT_DIGITS);
        }
        let old: Phases = serde_json::from_str("{}").unwrap();
        assert!(old.is_empty());
    }
}
