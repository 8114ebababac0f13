//! Decides, per request, which fault (if any) to inject: the configured `Faults`, overridden
//! by the request's own query knobs, drawn with a cheap per-connection PRNG.

use std::time::Duration;

use crate::config::{Faults, Latency};
use crate::query;

/// Longest latency or stall a query knob may ask for, so a typo cannot hold a connection
/// for days.
const MAX_KNOB_DURATION: Duration = Duration::from_secs(3600);

/// What to do with one request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Action {
    /// Answer, after `delay` and `work` (service time holding a worker), with a `500` when
    /// `fail`, else normally.
    Serve {
        delay: Option<Duration>,
        work: Option<Duration>,
        fail: bool,
    },
    /// Hold the request unanswered this long, then close the connection.
    Stall(Duration),
    /// Close the connection without writing anything.
    Close,
}

/// A query knob whose value the target cannot use; answered with a `400`.
#[derive(Debug, thiserror::Error)]
#[error("invalid value {value:?} for `{knob}`: expected {expected}")]
pub(crate) struct KnobError {
    knob: &'static str,
    value: String,
    expected: &'static str,
}

/// Picks the action for a request from the configured faults and the query string.
pub(crate) fn decide(
    base: &Faults,
    query: Option<&str>,
    rng: &mut Rng,
) -> Result<Action, KnobError> {
    let mut faults = *base;
    if let Some(query) = query {
        apply_knobs(&mut faults, query)?;
    }
    if rng.chance(faults.close_ratio) {
        return Ok(Action::Close);
    }
    if rng.chance(faults.stall_ratio) {
        return Ok(Action::Stall(faults.stall_for));
    }
    Ok(Action::Serve {
        delay: draw(faults.latency, rng),
        work: Some(faults.work).filter(|work| !work.is_zero()),
        fail: rng.chance(faults.error_ratio),
    })
}

/// The wait `latency` asks for, drawn when it is a range; `None` for no wait at all.
pub(crate) fn draw(latency: Latency, rng: &mut Rng) -> Option<Duration> {
    let delay = match latency {
        Latency::None => None,
        Latency::Fixed(delay) => Some(delay),
        Latency::Range(a, b) => {
            let (low, high) = if a <= b { (a, b) } else { (b, a) };
            Some(low + (high - low).mul_f64(rng.next_f64()))
        }
    };
    delay.filter(|delay| !delay.is_zero())
}

/// Overrides `faults` with `latency`, `error`, `stall`, `stall_for`, `close` and `work` from the
/// query; other parameters belong to the endpoints and are ignored here.
fn apply_knobs(faults: &mut Faults, query: &str) -> Result<(), KnobError> {
    for (key, value) in query::pairs(query) {
        match key {
            "latency" => faults.latency = latency(value)?,
            "error" => faults.error_ratio = ratio("error", value)?,
            "stall" => faults.stall_ratio = ratio("stall", value)?,
            "close" => faults.close_ratio = ratio("close", value)?,
            "stall_for" => faults.stall_for = duration("stall_for", value)?,
            "work" => faults.work = duration("work", value)?,
            _ => {}
        }
    }
    Ok(())
}

fn latency(value: &str) -> Result<Latency, KnobError> {
    match value.split_once("..") {
        Some((low, high)) => Ok(Latency::Range(
            duration("latency", low)?,
            duration("latency", high)?,
        )),
        None => Ok(Latency::Fixed(duration("latency", value)?)),
    }
}

fn duration(knob: &'static str, value: &str) -> Result<Duration, KnobError> {
    query::parse_duration(value)
        .filter(|duration| *duration <= MAX_KNOB_DURATION)
        .ok_or_else(|| KnobError {
            knob,
            value: value.into(),
            expected: "a duration such as 20ms or 1.5s, at most 1h",
        })
}

/// A bare `?stall` means "always", so `?close` reads naturally.
fn ratio(knob: &'static str, value: &str) -> Result<f64, KnobError> {
    if value.is_empty() {
        return Ok(1.0);
    }
    value
        .parse::<f64>()
        .ok()
        .filter(|ratio| (0.0..=1.0).contains(ratio))
        .ok_or_else(|| KnobError {
            knob,
            value: value.into(),
            expected: "a fraction between 0 and 1",
        })
}

/// splitmix64: tiny, fast and good enough to decide fault coin flips. Not for secrets.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0.0..1.0`, from the top 53 bits.
    pub(crate) fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `ratio`; draws nothing for 0 and 1 (and NaN counts as 0), so
    /// requests without faults cost no random numbers.
    pub(crate) fn chance(&mut self, ratio: f64) -> bool {
        if ratio.is_nan() || ratio <= 0.0 {
            false
        } else if ratio >= 1.0 {
            true
        } else {
            self.next_f64() < ratio
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decide_for(query: &str) -> Result<Action, KnobError> {
        decide(&Faults::default(), Some(query), &mut Rng::new(7))
    }

    #[test]
    fn no_faults_means_serve_at_once() {
        let action = decide(&Faults::default(), None, &mut Rng::new(1)).unwrap();
        assert_eq!(
            action,
            Action::Serve {
                delay: None,
                work: None,
                fail: false
            }
        );
    }

    #[test]
    fn query_knobs_override_the_config() {
        let fixed = Action::Serve {
            delay: Some(Duration::from_millis(20)),
            work: None,
            fail: true,
        };
        assert_eq!(decide_for("latency=20ms&error=1").unwrap(), fixed);
        let worked = Action::Serve {
            delay: None,
            work: Some(Duration::from_millis(3)),
            fail: false,
        };
        assert_eq!(decide_for("work=3ms").unwrap(), worked);
        assert_eq!(decide_for("close=1").unwrap(), Action::Close);
        assert_eq!(
            decide_for("stall").unwrap(),
            Action::Stall(Duration::from_secs(30))
        );
        assert_eq!(
            decide_for("stall=1&stall_for=2s").unwrap(),
            Action::Stall(Duration::from_secs(2))
        );
    }

    #[test]
    fn configured_faults_can_be_switched_off_per_request() {
        let faults = Faults {
            close_ratio: 1.0,
            ..Faults::default()
        };
        let action = decide(&faults, Some("close=0"), &mut Rng::new(3)).unwrap();
        assert_eq!(
            action,
            Action::Serve {
                delay: None,
                work: None,
                fail: false
            }
        );
    }

    #[test]
    fn latency_ranges_stay_within_their_bounds() {
        let mut rng = Rng::new(42);
        for _ in 0..1000 {
            let Action::Serve {
                delay: Some(delay), ..
            } = decide(&Faults::default(), Some("latency=50ms..10ms"), &mut rng).unwrap()
            else {
                panic!("expected a delay");
            };
            assert!(delay >= Duration::from_millis(10) && delay <= Duration::from_millis(50));
        }
    }

    #[test]
    fn bad_knobs_name_the_knob() {
        let err = decide_for("error=2").unwrap_err().to_string();
        assert!(err.contains("`error`"), "{err}");
        let err = decide_for("latency=5h").unwrap_err().to_string();
        assert!(err.contains("`latency`"), "{err}");
        let err = decide_for("stall_for=forever").unwrap_err().to_string();
        assert!(err.contains("`stall_for`"), "{err}");
    }

    #[test]
    fn ratios_hit_roughly_their_fraction() {
        let mut rng = Rng::new(9);
        let hits = (0..10_000).filter(|_| rng.chance(0.25)).count();
        assert!((2_200..2_800).contains(&hits), "{hits}");
    }
}
