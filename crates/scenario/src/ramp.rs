//! `ramp` as a time ("20s") or as users per second ("20/s", as plans and Locust's spawn rate
//! speak of it). Both lower to the same `Step::ramp` duration: the engine brings a step's users
//! up from zero over that time, so a rate becomes the step's users over the rate.

use std::fmt;
use std::time::Duration;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Deserialize, Deserializer, Visitor};

use crate::limits;
use crate::types::parse_duration;

/// How users arrive at the start of a step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Ramp {
    /// All of the step's users over this time.
    Time(Duration),
    /// This many users a second.
    PerSecond(f64),
}

impl Ramp {
    /// The ramp's time for a step of `users` users; a rate gives `users / rate`, capped by the
    /// longest duration a scenario may name.
    pub(crate) fn time_for(self, users: u32) -> Duration {
        match self {
            Ramp::Time(time) => time,
            Ramp::PerSecond(rate) => {
                let seconds = f64::from(users) / rate;
                Duration::from_secs_f64(seconds.min(limits::MAX_DURATION.as_secs_f64()))
            }
        }
    }
}

/// `"20/s"` as a rate of users a second, anything else as a duration.
pub(crate) fn parse_ramp(text: &str) -> Result<Ramp, String> {
    let Some(number) = text.trim().strip_suffix("/s") else {
        return parse_duration(text).map(Ramp::Time);
    };
    match number.trim().parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate >= limits::MIN_RATE_PER_S => {
            Ok(Ramp::PerSecond(rate.min(limits::MAX_RATE_PER_S)))
        }
        _ => Err(format!(
            "invalid ramp rate \"{text}\": expected users per second above 0, like \"20/s\""
        )),
    }
}

impl<'de> Deserialize<'de> for Ramp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Ramp;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration like \"30s\" or users per second like \"20/s\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Ramp, E> {
                parse_ramp(v).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(V)
    }
}

impl JsonSchema for Ramp {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Ramp".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "description": "A time (\"20s\") or users per second (\"20/s\").",
            "pattern": "^\\s*[0-9]"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_and_times_parse_and_a_rate_gives_a_time_per_step() {
        assert_eq!(parse_ramp("20s"), Ok(Ramp::Time(Duration::from_secs(20))));
        assert_eq!(parse_ramp(" 20/s"), Ok(Ramp::PerSecond(20.0)));
        assert_eq!(Ramp::PerSecond(25.0).time_for(250), Duration::from_secs(10));
        assert_eq!(
            Ramp::PerSecond(20.0).time_for(50),
            Duration::from_millis(2500)
        );
        assert_eq!(
            Ramp::Time(Duration::from_secs(3)).time_for(99),
            Duration::from_secs(3)
        );
        for bad in ["0/s", "-2/s", "fast/s", "/s"] {
            let err = parse_ramp(bad).unwrap_err();
            assert!(err.contains("expected users per second"), "{bad}: {err}");
        }
    }
}
