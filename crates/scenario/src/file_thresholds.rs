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

/// Conditions per metric: `stop-when` and each request's thresholds.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct MetricConditions {
    pub p50: Option<S<ThresholdValue>>,
    pub p90: Option<S<ThresholdValue>>,
    pub p95: Option<S<ThresholdValue>>,
    pub p99: Option<S<ThresholdValue>>,
    pub max: Option<S<ThresholdValue>>,
    pub mean: Option<S<ThresholdValue>>,
    /// Failed requests as a percentage: "< 1%".
    pub error_rate: Option<S<ThresholdValue>>,
    /// Completed requests per second: "> 100".
    pub rps: Option<S<ThresholdValue>>,
    /// Passed checks as a percentage: "> 99%".
    pub checks: Option<S<ThresholdValue>>,
    /// 429 responses as a percentage of requests: "< 5%".
    pub rate_limited: Option<S<ThresholdValue>>,
    /// Successful requests (expected status, not 429) per second: "> 9".
    pub success_rps: Option<S<ThresholdValue>>,
    /// Percentile of opening the TCP connection: "< 50ms".
    pub connecting_p50: Option<S<ThresholdValue>>,
    /// Percentile of opening the TCP connection: "< 50ms".
    pub connecting_p95: Option<S<ThresholdValue>>,
    /// Percentile of opening the TCP connection: "< 50ms".
    pub connecting_p99: Option<S<ThresholdValue>>,
    /// Percentile of the TLS handshake: "< 50ms".
    pub tls_handshaking_p50: Option<S<ThresholdValue>>,
    /// Percentile of the TLS handshake: "< 50ms".
    pub tls_handshaking_p95: Option<S<ThresholdValue>>,
    /// Percentile of the TLS handshake: "< 50ms".
    pub tls_handshaking_p99: Option<S<ThresholdValue>>,
    /// Percentile of time to first byte: "< 50ms".
    pub waiting_p50: Option<S<ThresholdValue>>,
    /// Percentile of time to first byte: "< 50ms".
    pub waiting_p95: Option<S<ThresholdValue>>,
    /// Percentile of time to first byte: "< 50ms".
    pub waiting_p99: Option<S<ThresholdValue>>,
    /// Percentile of receiving the body: "< 50ms".
    pub receiving_p50: Option<S<ThresholdValue>>,
    /// Percentile of receiving the body: "< 50ms".
    pub receiving_p95: Option<S<ThresholdValue>>,
    /// Percentile of receiving the body: "< 50ms".
    pub receiving_p99: Option<S<ThresholdValue>>,
    /// The busiest watched process's mean CPU, in percent of one core: "> 70%".
    pub target_cpu: Option<S<ThresholdValue>>,
}

impl MetricConditions {
    /// The set conditions with their key names, in a fixed order.
    pub(crate) fn entries(&self) -> Vec<(Metric, &S<ThresholdValue>)> {
        [
            (Metric::P50, &self.p50),
            (Metric::P90, &self.p90),
            (Metric::P95, &self.p95),
            (Metric::P99, &self.p99),
            (Metric::Max, &self.max),
            (Metric::Mean, &self.mean),
            (Metric::ErrorRate, &self.error_rate),
            (Metric::Rps, &self.rps),
            (Metric::Checks, &self.checks),
            (Metric::RateLimited, &self.rate_limited),
            (Metric::SuccessRps, &self.success_rps),
            (Metric::ConnectingP50, &self.connecting_p50),
            (Metric::ConnectingP95, &self.connecting_p95),
            (Metric::ConnectingP99, &self.connecting_p99),
            (Metric::TlsHandshakingP50, &self.tls_handshaking_p50),
            (Metric::TlsHandshakingP95, &self.tls_handshaking_p95),
            (Metric::TlsHandshakingP99, &self.tls_handshaking_p99),
            (Metric::WaitingP50, &self.waiting_p50),
            (Metric::WaitingP95, &self.waiting_p95),
            (Metric::WaitingP99, &self.waiting_p99),
            (Metric::ReceivingP50, &self.receiving_p50),
            (Metric::ReceivingP95, &self.receiving_p95),
            (Metric::ReceivingP99, &self.receiving_p99),
            (Metric::TargetCpu, &self.target_cpu),
        ]
        .into_iter()
        .filter_map(|(key, value)| value.as_ref().map(|v| (key, v)))
        .collect()
    }
}

/// `[thresholds]`: conditions for the whole run, per step, or per request.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct ThresholdsFile {
    /// Latency percentiles and extremes: "< 500ms".
    pub p50: Option<S<ThresholdValue>>,
    pub p90: Option<S<ThresholdValue>>,
    pub p95: Option<S<ThresholdValue>>,
    pub p99: Option<S<ThresholdValue>>,
    pub max: Option<S<ThresholdValue>>,
    pub mean: Option<S<ThresholdValue>>,
    /// Failed requests as a percentage: "< 1%".
    pub error_rate: Option<S<ThresholdValue>>,
    /// Completed requests per second: "> 100".
    pub rps: Option<S<ThresholdValue>>,
    /// Passed checks as a percentage: "> 99%".
    pub checks: Option<S<ThresholdValue>>,
    /// 429 responses as a percentage of requests: "< 5%".
    pub rate_limited: Option<S<ThresholdValue>>,
    /// Successful requests (expected status, not 429) per second: "> 9".
    pub success_rps: Option<S<ThresholdValue>>,
    /// Percentile of opening the TCP connection: "< 50ms".
    pub connecting_p50: Option<S<ThresholdValue>>,
    /// Percentile of opening the TCP connection: "< 50ms".
    pub connecting_p95: Option<S<ThresholdValue>>,
    /// Percentile of opening the TCP connection: "< 50ms".
    pub connecting_p99: Option<S<ThresholdValue>>,
    /// Percentile of the TLS handshake: "< 50ms".
    pub tls_handshaking_p50: Option<S<ThresholdValue>>,
    /// Percentile of the TLS handshake: "< 50ms".
    pub tls_handshaking_p95: Option<S<ThresholdValue>>,
    /// Percentile of the TLS handshake: "< 50ms".
    pub tls_handshaking_p99: Option<S<ThresholdValue>>,
    /// Percentile of time to first byte: "< 50ms".
    pub waiting_p50: Option<S<ThresholdValue>>,
    /// Percentile of time to first byte: "< 50ms".
    pub waiting_p95: Option<S<ThresholdValue>>,
    /// Percentile of time to first byte: "< 50ms".
    pub waiting_p99: Option<S<ThresholdValue>>,
    /// Percentile of receiving the body: "< 50ms".
    pub receiving_p50: Option<S<ThresholdValue>>,
    /// Percentile of receiving the body: "< 50ms".
    pub receiving_p95: Option<S<ThresholdValue>>,
    /// Percentile of receiving the body: "< 50ms".
    pub receiving_p99: Option<S<ThresholdValue>>,
    /// The busiest watched process's mean CPU, in percent of one core: "< 70%".
    pub target_cpu: Option<S<ThresholdValue>>,
    /// Judge every threshold on each step rather than on the whole run.
    pub per_step: Option<S<bool>>,
    /// Thresholds for one request: [thresholds.request."post event"] p95 = "< 100ms".
    pub request: Option<S<Pairs<MetricConditions>>>,
    /// Thresholds for one stream: [thresholds.stream.inbox] e2e-p95 = "< 500ms".
    pub stream: Option<S<Pairs<StreamConditions>>>,
}

impl ThresholdsFile {
    pub(crate) fn run_conditions(&self) -> MetricConditions {
        // Cheap: the values are small and this runs once per load.
        fn c(v: &Option<S<ThresholdValue>>) -> Option<S<ThresholdValue>> {
            v.clone()
        }
        MetricConditions {
            p50: c(&self.p50),
            p90: c(&self.p90),
            p95: c(&self.p95),
            p99: c(&self.p99),
            max: c(&self.max),
            mean: c(&self.mean),
            error_rate: c(&self.error_rate),
            rps: c(&self.rps),
            checks: c(&self.checks),
            rate_limited: c(&self.rate_limited),
            success_rps: c(&self.success_rps),
            connecting_p50: c(&self.connecting_p50),
            connecting_p95: c(&self.connecting_p95),
            connecting_p99: c(&self.connecting_p99),
            tls_handshaking_p50: c(&self.tls_handshaking_p50),
            tls_handshaking_p95: c(&self.tls_handshaking_p95),
            tls_handshaking_p99: c(&self.tls_handshaking_p99),
            waiting_p50: c(&self.waiting_p50),
            waiting_p95: c(&self.waiting_p95),
            waiting_p99: c(&self.waiting_p99),
            receiving_p50: c(&self.receiving_p50),
            receiving_p95: c(&self.receiving_p95),
            receiving_p99: c(&self.receiving_p99),
            target_cpu: c(&self.target_cpu),
        }
    }
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
