//! The scenario file format, one strict struct per kind: what `toml::from_str` parses into.
//!
//! Rules of these types: `deny_unknown_fields` and kebab-case everywhere; every value is
//! [`Spanned`], at every depth, so both toml and the figment override path keep positions;
//! almost every key is optional here and required keys are checked in validation, where every
//! missing key is reported at once rather than the first only. The common keys are repeated in
//! each kind's struct by a macro, because `#[serde(flatten)]` would lose positions.

use schemars::JsonSchema;
use serde::Deserialize;

pub(crate) use crate::file_monitor::MonitorTables;
use crate::ramp::Ramp;
use crate::spanned::{Any, Pairs, Spanned};
use crate::types::{Count, Dur, HttpSpec, KindName, Positive, StatusList, StatusSpec, Warmup};

pub(crate) use crate::file_thresholds::{MetricConditions, ThresholdValue, ThresholdsFile};

type S<T> = Spanned<T>;

/// Calls `$then!` with the keys every kind shares, each with its doc, so that list is
/// written once for each kind's struct, for [`Common`] and for `split`.
macro_rules! with_common_keys {
    ($then:ident! { $($args:tt)* }) => {
        $then! {
            $($args)*
            [
                /// The kind of scenario: smoke, capacity, throughput, burst, soak or stages.
                kind: S<KindName>,
                /// The scenario's name in results and listings (default: the file stem).
                name: Option<S<String>>,
                /// One line on what the scenario is for.
                description: Option<S<String>>,
                /// "builtin" (the embedded demo target), http://host[:port][/prefix] or
                /// https://host[:port][/prefix].
                base_url: Option<S<String>>,
                /// TLS for an https base-url: trusted CA, client certificate, server name, insecure.
                tls: Option<S<TlsFile>>,
                /// The HTTP version users speak: "1.1", "2" or "auto" (default: ALPN decides over
                /// TLS, HTTP/1.1 over plain TCP; "2" over plain TCP is h2c with prior knowledge).
                http: Option<S<HttpSpec>>,
                /// Allow a base-url or url outside loopback (127.0.0.0/8, ::1, localhost).
                allow_remote: Option<S<bool>>,
                /// How often statistics are snapshot (default "1s"); for soak, the time-series
                /// bucket (default "1m").
                interval: Option<S<Dur>>,
                /// How long in-flight requests may finish after a step ends (default "5s").
                grace: Option<S<Dur>>,
                /// Values every request inherits.
                defaults: Option<S<DefaultsFile>>,
                /// The requests users make.
                request: Option<S<Vec<S<RequestFile>>>>,
                /// Ordered walks over requests, picked by weight instead of single requests.
                flow: Option<S<Vec<S<FlowFile>>>>,
                /// Requests each user runs once before its first iteration.
                setup: Option<S<SetupFile>>,
                /// A CSV file whose rows feed `${data.column}`.
                data: Option<S<DataFile>>,
                /// Streams every user holds beside its requests, each on its own connection.
                stream: Option<S<Vec<S<StreamFile>>>>,
                /// Pass/fail rules on the results.
                thresholds: Option<S<ThresholdsFile>>,
                /// A local target process or metrics endpoint watched each interval, with CPU and
                /// memory limits that warn or stop the run.
                monitor: Option<S<MonitorTables>>,
            ]
        }
    };
}

/// The keys every kind shares, then the kind's own keys.
macro_rules! kind_file {
    (
        $(#[$doc:meta])* $name:ident, $keys:ident { $($(#[$fdoc:meta])* $field:ident : $ty:ty,)* }
        [$($(#[$cdoc:meta])* $common:ident : $cty:ty,)*]
    ) => {
        $(#[$doc])*
        #[derive(Debug, Deserialize, JsonSchema)]
        #[serde(deny_unknown_fields, rename_all = "kebab-case")]
        pub(crate) struct $name {
            $($(#[$cdoc])* pub $common: $cty,)*
            $($(#[$fdoc])* pub $field: $ty,)*
        }

        /// The keys only this kind has.
        #[derive(Debug)]
        pub(crate) struct $keys {
            $(pub $field: $ty,)*
        }

        impl $name {
            pub(crate) fn split(self) -> (Common, $keys) {
                (
                    Common { $($common: self.$common,)* },
                    $keys { $($field: self.$field,)* },
                )
            }
        }
    };
}

/// The struct of the keys every kind shares.
macro_rules! common_struct {
    ([$($(#[$cdoc:meta])* $common:ident : $cty:ty,)*]) => {
        /// The keys every kind shares.
        #[derive(Debug)]
        pub(crate) struct Common {
            $($(#[$cdoc])* pub $common: $cty,)*
        }
    };
}

with_common_keys!(common_struct! {});

with_common_keys!(kind_file! {
    /// A quick sanity run: a few users for a short time (or a few iterations each).
    SmokeFile, SmokeKeys {
        /// How many users, each looping over the requests.
        users: Option<S<Count>>,
        /// How long the run lasts; with `iterations`, an upper bound.
        duration: Option<S<Dur>>,
        /// Time to bring users up from zero, inside `duration`: a time ("20s") or users per
        /// second ("20/s").
        ramp: Option<S<Ramp>>,
        /// Time at the end over which users leave, linearly down to zero.
        ramp_down: Option<S<Dur>>,
        /// Left out of the results: a leading time ("10s") or the first requests (200).
        warmup: Option<S<Warmup>>,
        /// Iterations per user, after which the user stops.
        iterations: Option<S<Count>>,
    }
});

with_common_keys!(kind_file! {
    /// A sweep over user counts, one step per count, to find the knee.
    CapacityFile, CapacityKeys {
        /// User counts, one step each: [50, 100, 200].
        users: Option<S<Vec<S<Count>>>>,
        /// How long each step runs.
        hold: Option<S<Dur>>,
        /// Time to bring users up at the start of each step, inside `hold`: a time ("20s") or
        /// users per second ("20/s").
        ramp: Option<S<Ramp>>,
        /// Time at the end over which users leave, linearly down to zero.
        ramp_down: Option<S<Dur>>,
        /// Idle time between steps (none after the last).
        cooldown: Option<S<Dur>>,
        /// Left out of each step's results: a leading time ("10s") or its first requests (200).
        warmup: Option<S<Warmup>>,
        /// Stop the sweep after a step where any of these holds: { p95 = "> 2s" }.
        stop_when: Option<S<MetricConditions>>,
        /// Your warning levels: the knee is the first step where any holds, { p95 = "> 300ms" }
        /// (default: a heuristic on p95, error rate and throughput growth).
        knee: Option<S<MetricConditions>>,
        /// The safe ceiling reported is the knee's users times this (default 0.8).
        ceiling_factor: Option<S<f64>>,
    }
});

with_common_keys!(kind_file! {
    /// Latency against load: a sweep over arrival rates, or over think times with fixed users.
    ThroughputFile, ThroughputKeys {
        /// Arrival rates per second, one step each (open model): [100, 200, 400].
        rates: Option<S<Vec<S<Positive>>>>,
        /// Users, for a sweep over `think` times (closed model).
        users: Option<S<Count>>,
        /// Think times, one step each, with `users`: ["30s", "20s", "10s"].
        think: Option<S<Vec<S<String>>>>,
        /// How long each step runs.
        hold: Option<S<Dur>>,
        /// Time to bring users up at the start of each step (closed model only).
        ramp: Option<S<Dur>>,
        /// Idle time between steps (none after the last).
        cooldown: Option<S<Dur>>,
        /// Left out of each step's results: a leading time ("10s") or its first requests (200).
        warmup: Option<S<Warmup>>,
        /// Open model: most users in flight at once (default 1000).
        max_users: Option<S<Count>>,
        /// Open model: most iterations waiting for a free user (default 10000).
        max_backlog: Option<S<Count>>,
    }
});

with_common_keys!(kind_file! {
    /// A baseline, a sudden burst, then the baseline again to watch recovery.
    BurstFile, BurstKeys {
        /// Baseline users (closed model).
        users: Option<S<Count>>,
        /// Baseline arrival rate per second (open model), instead of `users`.
        rate: Option<S<Positive>>,
        /// How long the baseline runs before the burst.
        before: Option<S<Dur>>,
        /// Users during the burst.
        burst_users: Option<S<Count>>,
        /// Arrival rate during the burst.
        burst_rate: Option<S<Positive>>,
        /// Iterations fired all at once at the start of the burst.
        burst_requests: Option<S<Count>>,
        /// How long the burst step lasts.
        burst_for: Option<S<Dur>>,
        /// How long the baseline runs after the burst (the recovery step).
        after: Option<S<Dur>>,
        /// Time to bring baseline users up at the start: a time ("20s") or users per second
        /// ("20/s").
        ramp: Option<S<Ramp>>,
        /// Time to bring the burst's users up, a time or users per second ("25/s"); with
        /// `burst-users` only.
        burst_ramp: Option<S<Ramp>>,
        /// Left out of the first step's results: a leading time ("10s") or its first requests
        /// (200).
        warmup: Option<S<Warmup>>,
        /// Open model: most users in flight at once (default 1000).
        max_users: Option<S<Count>>,
        /// Open model: most iterations waiting for a free user (default 10000).
        max_backlog: Option<S<Count>>,
    }
});

with_common_keys!(kind_file! {
    /// A long steady run, reported as a time series, to catch leaks and drift.
    SoakFile, SoakKeys {
        /// Users (closed model).
        users: Option<S<Count>>,
        /// Arrival rate per second (open model), instead of `users`.
        rate: Option<S<Positive>>,
        /// How long the run lasts: "1h", "4h".
        duration: Option<S<Dur>>,
        /// Fail when the run drifts from its first bucket to its last.
        drift: Option<S<DriftFile>>,
        /// Time to bring users up at the start.
        ramp: Option<S<Dur>>,
        /// Time at the end over which users leave, linearly down to zero.
        ramp_down: Option<S<Dur>>,
        /// Left out of the results: a leading time ("10s") or the first requests (200).
        warmup: Option<S<Warmup>>,
        /// Open model: most users in flight at once (default 1000).
        max_users: Option<S<Count>>,
        /// Open model: most iterations waiting for a free user (default 10000).
        max_backlog: Option<S<Count>>,
    }
});

with_common_keys!(kind_file! {
    /// A free-form list of stages, as k6 has them: each ramps linearly from the users the
    /// stage before left (zero at the start) to its own target, over its duration.
    StagesFile, StagesKeys {
        /// The stages, in order, one step each: [[stage]] target = 20, duration = "30s".
        stage: Option<S<Vec<S<StageFile>>>>,
    }
});

/// `[[stage]]`: users ramping linearly to `target` over `duration`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct StageFile {
    /// Users at the end of the stage, from the users before it: more ramps up, fewer lets the
    /// extra users leave after their iteration, the same holds, 0 stops them all.
    pub target: Option<S<u32>>,
    /// How long the stage lasts, its ramp included: "30s", "1m".
    pub duration: Option<S<Dur>>,
}

/// `[defaults]`: values every request inherits unless it sets its own.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct DefaultsFile {
    /// Pause after each request: "500ms" or a range "100ms..2s" (default none).
    pub think: Option<S<String>>,
    /// How long a request may take (default "30s").
    pub timeout: Option<S<Dur>>,
    /// How long opening a connection may take (default "5s").
    pub connect_timeout: Option<S<Dur>>,
    /// Headers sent with every request.
    pub headers: Option<S<Pairs<String>>>,
    /// Statuses that count as success (default 2xx and 3xx).
    pub expect: Option<S<Vec<S<StatusSpec>>>>,
    /// What a user does on a 429: "count" it (default) or "backoff" (wait for Retry-After).
    pub on_429: Option<S<On429File>>,
    /// With on-429 = "backoff", the longest a user waits (default "30s").
    pub max_backoff: Option<S<Dur>>,
}

/// `on-429`: what a user does when a request is answered 429 Too Many Requests.
#[derive(Clone, Copy, Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum On429File {
    /// Count it and carry on at once.
    Count,
    /// Wait for the response's Retry-After (at most max-backoff) before the next request.
    Backoff,
}

/// `[tls]`: how users connect to an https base-url.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct TlsFile {
    /// PEM certificates to trust instead of the system's roots, relative to the scenario file.
    pub ca_file: Option<S<String>>,
    /// A PEM client certificate (chain, leaf first) for mutual TLS, with `client-key`.
    pub client_cert: Option<S<String>>,
    /// The PEM private key of `client-cert` (PKCS#8, PKCS#1 or SEC1).
    pub client_key: Option<S<String>>,
    /// The name sent as SNI and checked in the certificate, instead of base-url's host.
    pub server_name: Option<S<String>>,
    /// Accept any certificate, unchecked: for a self-signed staging server only. Every run
    /// says so.
    pub insecure: Option<S<bool>>,
}

/// `[[request]]`: one HTTP request users make.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RequestFile {
    /// A unique name, used in results, flows, setup and thresholds.
    pub name: Option<S<String>>,
    /// The HTTP method (default GET).
    pub method: Option<S<String>>,
    /// Path relative to base-url; may hold ${...} variables.
    pub path: Option<S<String>>,
    /// An absolute URL on the same server as base-url, instead of `path`.
    pub url: Option<S<String>>,
    /// Header name to value; values may hold ${...} variables.
    pub headers: Option<S<Pairs<String>>>,
    /// Query parameters added to the path.
    pub query: Option<S<Pairs<Any>>>,
    /// The request body as text.
    pub body: Option<S<String>>,
    /// The request body as a table sent as JSON (adds Content-Type: application/json).
    pub json: Option<S<Any>>,
    /// How often this request is picked relative to the others (default 1; 0: only in flows
    /// or setup).
    pub weight: Option<S<u32>>,
    /// Pause after this request: "500ms" or "100ms..2s".
    pub think: Option<S<String>>,
    /// How long this request may take.
    pub timeout: Option<S<Dur>>,
    /// Statuses that count as success: [200, "3xx"].
    pub expect: Option<S<Vec<S<StatusSpec>>>>,
    /// Checks on the response, counted in the `checks` metric.
    pub check: Option<S<CheckFile>>,
    /// Values kept from the response for later requests of the same user: { token =
    /// "json:/token", etag = "header:ETag" }.
    pub capture: Option<S<Pairs<String>>>,
    /// Sign the body: { hmac-sha256 = { secret = "...", header = "X-Hub-Signature-256" } }.
    pub sign: Option<S<SignFile>>,
    /// What a user does on a 429: "count" or "backoff" (default from [defaults], else count).
    pub on_429: Option<S<On429File>>,
    /// With on-429 = "backoff", the longest a user waits (default from [defaults], else 30s).
    pub max_backoff: Option<S<Dur>>,
}

/// `[[stream]]`: a stream every user opens on its own connection and holds beside its
/// requests, re-opened after each `hold` (with `Last-Event-ID`) or held for the whole step.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct StreamFile {
    /// A unique name, used in results and `[thresholds.stream.NAME]`.
    pub name: Option<S<String>>,
    /// The protocol: "sse" (server-sent events, the default) or "websocket".
    pub kind: Option<S<String>>,
    /// Path relative to base-url; may hold ${...} variables.
    pub path: Option<S<String>>,
    /// Header name to value; values may hold ${...} variables ([defaults] headers apply too).
    pub headers: Option<S<Pairs<String>>>,
    /// Close the stream after this long and re-open it (default: hold it for the whole step).
    pub hold: Option<S<Dur>>,
    /// A message sent to a paired user and not seen on its stream within this long is lost
    /// (default "5s").
    pub expect_within: Option<S<Dur>>,
    /// Pair users 2k and 2k+1: a `${msg_id}` one sends is expected on the other's stream.
    pub pairs: Option<S<bool>>,
    /// WebSocket only: send a message as the stream opens and then every `every`:
    /// { every = "1s", body = '{"id":"${msg_id}"}' }. A `${msg_id}` in the body is matched in
    /// the echo that comes back: its round trip (`rtt-p95`), or lost after `expect-within`.
    pub send: Option<S<StreamSendFile>>,
}

/// `send = { every = "1s", body = "..." }` on a WebSocket `[[stream]]`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct StreamSendFile {
    /// Time between messages; the first is sent as the stream opens.
    pub every: Option<S<Dur>>,
    /// The message's text; may hold ${...} variables.
    pub body: Option<S<String>>,
}

/// `check = { ... }` on a request.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct CheckFile {
    /// The check's name in results (default: what it checks, like "status in 201"); with
    /// several conditions, each is named "NAME: what it checks".
    pub name: Option<S<String>>,
    /// A failed check also fails the request, counted in error-rate (Locust's
    /// catch_response); by default checks are counted apart, in `checks`, as k6 does.
    pub fail_request: Option<S<bool>>,
    /// The status must be this (or one of these).
    pub status: Option<S<StatusList>>,
    /// The response must arrive within this.
    pub max_latency: Option<S<Dur>>,
    /// The body must contain this text.
    pub body_contains: Option<S<String>>,
    /// JSON pointer to expected value: { "/status" = "queued" }.
    pub json: Option<S<Pairs<Any>>>,
}

/// `sign = { ... }` on a request.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct SignFile {
    /// HMAC-SHA256 of the body, sent as a hex digest.
    pub hmac_sha256: Option<S<HmacFile>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct HmacFile {
    /// The key; use "${env:NAME}" to keep it out of the file.
    pub secret: Option<S<String>>,
    /// The header that carries the signature (default "X-Hub-Signature-256").
    pub header: Option<S<String>>,
    /// Text before the hex digest (default "sha256=").
    pub prefix: Option<S<String>>,
}

/// `[[flow]]`: requests a user makes in order, as one iteration.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct FlowFile {
    pub name: Option<S<String>>,
    /// How often this flow is picked relative to the others (default 1).
    pub weight: Option<S<u32>>,
    /// Request names, in order.
    pub steps: Option<S<Vec<S<String>>>>,
}

/// `[setup]`: requests each user runs once, before its first iteration.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct SetupFile {
    /// Request names, in order: ["login"].
    pub requests: Option<S<Vec<S<String>>>>,
}

/// `[data]`: a CSV file whose rows feed `${data.column}`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct DataFile {
    /// Path to a CSV file with a header row, relative to the scenario file.
    pub file: Option<S<String>>,
    /// Which row a user gets: sequential (default), random, unique-per-vu.
    pub mode: Option<S<DataModeFile>>,
}

#[derive(Clone, Copy, Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum DataModeFile {
    Sequential,
    Random,
    UniquePerVu,
}

/// `drift = { ... }` in a soak scenario.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct DriftFile {
    /// Largest allowed relative growth of p95 from the first third of the run to the last:
    /// "50%".
    pub p95_growth: Option<S<String>>,
    /// A p95 growth only counts when p95 also grew by at least this much: "5ms" (default).
    pub min_change: Option<S<String>>,
    /// Largest allowed rise of the error rate, in percentage points: "1%".
    pub error_rate_growth: Option<S<String>>,
    /// Largest allowed growth of the monitored target's resident memory: "< 10MB/h".
    pub target_rss_growth: Option<S<String>>,
}

/// `[monitor]`: the target's own CPU and memory, watched each interval while the run goes on.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct MonitorFile {
    /// How `[[monitor]]` names this one, in columns, summaries and messages: "api", "redis"
    /// (letters, digits, `-`, `_`). Needed with several; a single `[monitor]` may leave it out.
    pub name: Option<S<String>>,
    /// PID of the target process on this machine: CPU and RSS are read from /proc.
    pub pid: Option<S<Count>>,
    /// A file holding the target's PID, read when the run starts (relative to the scenario
    /// file), instead of `pid`.
    pub pid_file: Option<S<String>>,
    /// A Prometheus endpoint scraped each interval: "http://127.0.0.1:9100/metrics".
    pub metrics_url: Option<S<String>>,
    /// Which series of metrics-url to read (default { rss = "process_resident_memory_bytes",
    /// cpu-seconds = "process_cpu_seconds_total" }).
    pub series: Option<S<MonitorSeriesFile>>,
    /// CPU limits, 100% being one core: { warn = "70%", stop = "80%" }.
    pub cpu: Option<S<MonitorLimitFile>>,
    /// Resident memory limits: { warn = "1.6GB", stop = "1.8GB" }.
    pub rss: Option<S<MonitorLimitFile>>,
    /// A target that cannot be read at start stops the run before it begins (exit 2); false
    /// leaves the monitor out with a warning. Default: true when `cpu` or `rss` sets a limit.
    pub required: Option<S<bool>>,
}

/// `series = { ... }` in `[monitor]`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct MonitorSeriesFile {
    /// A gauge of resident memory in bytes (default "process_resident_memory_bytes").
    pub rss: Option<S<String>>,
    /// A counter of CPU seconds used (default "process_cpu_seconds_total").
    pub cpu_seconds: Option<S<String>>,
}

/// `cpu = { ... }` and `rss = { ... }` in `[monitor]`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct MonitorLimitFile {
    /// Log a warning the first time the target passes this.
    pub warn: Option<S<String>>,
    /// Stop the run (a sweep keeps the steps done so far) when the target passes this.
    pub stop: Option<S<String>>,
}
