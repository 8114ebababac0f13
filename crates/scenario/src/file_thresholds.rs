//! `[thresholds]`, `stop-when` and per-request conditions as written in a scenario file: one
//! optional key per metric, each a condition string or a table with a warning level, a window
//! and abort. Split from `file.rs` for size; the same rules hold (every value spanned,
//! kebab-case, unknown keys refused).

use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use stampede_plan::Metric;

use crate::spanned::{Pairs, Spanned};
use crate::types::Dur;

type S<T> = Spanned<T>;

/// Calls `$then!` with the keys every table of metric conditions has, each with its doc and
/// its [`Metric`], so that list is written once for `[thresholds]` and for `stop-when`, `knee`
/// and per-request tables. Not `#[serde(flatten)]`, which would lose every value's position
/// and `deny_unknown_fields`. The docs of `p50` and `target-cpu` come from the caller, so
/// each table keeps its own in the schema: a threshold's example is a condition that must
/// hold ("< 70%"), a knee's or stop-when's one that triggers ("> 70%").
macro_rules! with_metric_keys {
    (
        $then:ident! { $($args:tt)* }
        p50: $(#[$p50:meta])* ;
        target_cpu: $(#[$cpu:meta])* ;
    ) => {
        $then! {
            $($args)*
            [
                $(#[$p50])* p50 => P50,
                p90 => P90,
                p95 => P95,
                p99 => P99,
                max => Max,
                mean => Mean,
                /// Failed requests as a percentage: "< 1%".
                error_rate => ErrorRate,
                /// Completed requests per second: "> 100".
                rps => Rps,
                /// Passed checks as a percentage: "> 99%".
                checks => Checks,
                /// 429 responses as a percentage of requests: "< 5%".
                rate_limited => RateLimited,
                /// Successful requests (expected status, not 429) per second: "> 9".
                success_rps => SuccessRps,
                /// Percentile of opening the TCP connection: "< 50ms".
                connecting_p50 => ConnectingP50,
                /// Percentile of opening the TCP connection: "< 50ms".
                connecting_p95 => ConnectingP95,
                /// Percentile of opening the TCP connection: "< 50ms".
                connecting_p99 => ConnectingP99,
                /// Percentile of the TLS handshake: "< 50ms".
                tls_handshaking_p50 => TlsHandshakingP50,
                /// Percentile of the TLS handshake: "< 50ms".
                tls_handshaking_p95 => TlsHandshakingP95,
                /// Percentile of the TLS handshake: "< 50ms".
                tls_handshaking_p99 => TlsHandshakingP99,
                /// Percentile of time to first byte: "< 50ms".
                waiting_p50 => WaitingP50,
                /// Percentile of time to first byte: "< 50ms".
                waiting_p95 => WaitingP95,
                /// Percentile of time to first byte: "< 50ms".
                waiting_p99 => WaitingP99,
                /// Percentile of receiving the body: "< 50ms".
                receiving_p50 => ReceivingP50,
                /// Percentile of receiving the body: "< 50ms".
                receiving_p95 => ReceivingP95,
                /// Percentile of receiving the body: "< 50ms".
                receiving_p99 => ReceivingP99,
                $(#[$cpu])* target_cpu => TargetCpu,
            ]
        }
    };
}

/// A strict, kebab-case struct with one optional condition per metric key, then `$extra`
/// keys of its own; `entries` lists the metric conditions set.
macro_rules! metric_table {
    (
        $(#[$attr:meta])*
        struct $name:ident { $($(#[$xdoc:meta])* $extra:ident: $xty:ty,)* }
        [$($(#[$doc:meta])* $field:ident => $metric:ident,)*]
    ) => {
        $(#[$attr])*
        #[derive(Debug, Deserialize, JsonSchema)]
        #[serde(deny_unknown_fields, rename_all = "kebab-case")]
        pub(crate) struct $name {
            $($(#[$doc])* pub $field: Option<S<ThresholdValue>>,)*
            $($(#[$xdoc])* pub $extra: $xty,)*
        }

        impl $name {
            /// The metric conditions set, with their metrics, in a fixed order.
            pub(crate) fn entries(&self) -> Vec<(Metric, &S<ThresholdValue>)> {
                [$((Metric::$metric, &self.$field),)*]
                    .into_iter()
                    .filter_map(|(key, value)| value.as_ref().map(|v| (key, v)))
                    .collect()
            }
        }
    };
}

with_metric_keys! {
    metric_table! {
        /// Conditions per metric: `stop-when` and each request's thresholds.
        #[derive(Default)]
        struct MetricConditions {}
    }
    p50: ;
    target_cpu:
        /// The busiest watched process's mean CPU, in percent of one core: "> 70%".
        ;
}

with_metric_keys! {
    metric_table! {
        /// `[thresholds]`: conditions for the whole run, per step, or per request.
        struct ThresholdsFile {
            /// Judge every threshold on each step rather than on the whole run.
            per_step: Option<S<bool>>,
            /// Thresholds for one request: [thresholds.request."post event"] p95 = "< 100ms".
            request: Option<S<Pairs<MetricConditions>>>,
            /// Thresholds for one stream: [thresholds.stream.inbox] e2e-p95 = "< 500ms".
            stream: Option<S<Pairs<StreamConditions>>>,
        }
    }
    p50:
        /// Latency percentiles and extremes: "< 500ms".
        ;
    target_cpu:
        /// The busiest watched process's mean CPU, in percent of one core: "< 70%".
        ;
}

/// A threshold: the condition alone, or a table with a warning level, a window and abort.
#[derive(Clone, Debug)]
pub(crate) enum ThresholdValue {
    Simple(String),
    Full(ThresholdTable),
}

#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct ThresholdTable {
    /// The condition that must hold: "< 2s".
    pub limit: Option<S<String>>,
    /// A stricter condition whose breach is only a warning: "< 1s".
    pub warn: Option<S<String>>,
    /// Judge over this sliding window while the run goes on.
    pub window: Option<S<Dur>>,
    /// With `window`: stop the run when the limit is breached.
    pub abort: Option<S<bool>>,
}

impl<'de> Deserialize<'de> for ThresholdValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ThresholdValue;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a condition like \"< 500ms\" or a table { limit = \"< 500ms\", ... }")
            }
            fn visit_str<E>(self, v: &str) -> Result<ThresholdValue, E> {
                Ok(ThresholdValue::Simple(v.to_owned()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<ThresholdValue, A::Error> {
                ThresholdTable::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(ThresholdValue::Full)
            }
        }
        deserializer.deserialize_any(V)
    }
}

impl JsonSchema for ThresholdValue {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Threshold".into()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let table = generator.subschema_for::<ThresholdTable>();
        schemars::json_schema!({
            "anyOf": [
                { "type": "string", "description": "A condition: \"< 500ms\", \"< 1%\", \"> 100\"." },
                table
            ]
        })
    }
}

/// `[thresholds.stream.NAME]`: conditions on one stream's figures, judged over the run.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct StreamConditions {
    /// Percentile of a paired message's end-to-end latency: "< 500ms".
    pub e2e_p50: Option<S<ThresholdValue>>,
    /// Percentile of a paired message's end-to-end latency: "< 500ms".
    pub e2e_p95: Option<S<ThresholdValue>>,
    /// Percentile of a paired message's end-to-end latency: "< 500ms".
    pub e2e_p99: Option<S<ThresholdValue>>,
    /// Percentile of opening the stream, to its response head: "< 100ms".
    pub connect_p95: Option<S<ThresholdValue>>,
    /// Percentile of the time from the stream's request to its first event: "< 1s".
    pub first_event_p95: Option<S<ThresholdValue>>,
    /// Paired messages (or a WebSocket's echoes) not seen within `expect-within`: "== 0".
    pub lost: Option<S<ThresholdValue>>,
    /// Streams the server or the network ended while held: "< 5".
    pub disconnects: Option<S<ThresholdValue>>,
    /// Percentile of a WebSocket message's round trip, from its send to its echo: "< 50ms".
    pub rtt_p95: Option<S<ThresholdValue>>,
}

impl StreamConditions {
    /// The set conditions with their metrics, in a fixed order.
    pub(crate) fn entries(&self) -> Vec<(Metric, &S<ThresholdValue>)> {
        [
            (Metric::E2eP50, &self.e2e_p50),
            (Metric::E2eP95, &self.e2e_p95),
            (Metric::E2eP99, &self.e2e_p99),
            (Metric::ConnectP95, &self.connect_p95),
            (Metric::FirstEventP95, &self.first_event_p95),
            (Metric::Lost, &self.lost),
            (Metric::Disconnects, &self.disconnects),
            (Metric::RttP95, &self.rtt_p95),
        ]
        .into_iter()
        .filter_map(|(key, value)| value.as_ref().map(|v| (key, v)))
        .collect()
    }
}
