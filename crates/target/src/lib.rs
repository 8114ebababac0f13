//! The embedded demo target: a small, fast hyper 1.x server that a newcomer can load-test
//! without installing anything.
//!
//! It serves a health check, a login that issues Bearer tokens, an authenticated events API
//! with per-key rate limits, signed webhooks, server-sent event streams fed by posted
//! conversation messages, an echo websocket and Prometheus metrics, and it can inject faults
//! (latency, errors, stalls, closed connections) from its [`Config`] or per request from the
//! query string. It always runs on its own runtime thread(s), so it never competes with the
//! load generator's tokio workers.
//!
//! Knows nothing of scenarios, CSV or the CLI: it gets a [`Config`] and serves.
//!
//! # Protocols
//!
//! HTTP/1.1 and HTTP/2 on the same port. Plain TCP answers HTTP/2 with prior knowledge
//! (h2c) beside HTTP/1.1. With [`Config::tls`] the port serves HTTPS instead, offering `h2`
//! and `http/1.1` by ALPN; [`TlsConfig::Generated`] makes a CA and a leaf for
//! [`GENERATED_NAMES`] at start, and [`Target::certificate_pem`] /
//! [`Target::write_certificate`] hand clients the CA to trust.
//!
//! # Endpoints
//!
//! - `GET /health`, `GET /ready`: `200 {"status":"ok"}`.
//! - `POST /login` `{"user":..,"password":..}`: `200 {"token":..}`; any user is accepted.
//! - With `Authorization: Bearer <token or api key>` or `X-API-Key: <key>` (else `401`):
//!   `POST /events` (a JSON object; `201`, or `429` with `Retry-After` past the per-key
//!   rate), `GET /events/{id}`, `GET /inbox?limit=N` (undelivered, newest first, at most
//!   100) and `POST /events/{id}/ack`.
//! - Also with credentials: `GET /stream`, a `text/event-stream` following the
//!   conversations named by `?conversation=a,b` (repeatable; ids are 1 to 64 of
//!   `[A-Za-z0-9_.-]`, at most 64 per stream). Every message event carries `id:` (the
//!   message id), `event: message` and `data: {"id":..,"conversation":..,"server_ts_us":..,
//!   "body":<posted JSON>}`; a `: heartbeat` comment comes every [`Streams::heartbeat`].
//!   A stream opened without `Last-Event-ID` first gets `id: <newest message id>` alone, which
//!   sets a client's last event id without an event, so its next re-open resumes from there.
//!   `Last-Event-ID: N` first replays the followed conversations' messages after `N`, in id
//!   order; when some of them are no longer kept (each conversation keeps
//!   [`Streams::replay`]) or `N` was never sent, an `event: reset` (whose `id:` is the
//!   newest message id) replaces the replay. `?close_after=N` ends the stream after `N`
//!   message events. Past [`Streams::max_open`] streams and websockets, `503`.
//! - And `POST /conversations/{id}/messages` (a JSON object): `201 {"id":N,"server_ts_us":T}`
//!   (Unix microseconds), and the message is queued for every stream following `{id}`.
//!   Message ids are global and increasing, so one stream's ids always increase.
//! - `GET /ws`: a websocket (HTTP/1.1 upgrade, no credentials) that echoes text and binary
//!   messages, also sends a JSON text message with `"broadcast": true` to every other open
//!   websocket, and answers pings.
//! - `POST /webhooks/{name}`: `200` when `X-Hub-Signature-256` is the HMAC-SHA256 of the
//!   body with the webhook secret, else `403`; bodies over 1 MiB get `413`.
//! - `GET /metrics`: Prometheus text, per route template, per HTTP version, TLS handshakes,
//!   streams, deliveries, websockets and slow consumers.
//!
//! # Fault knobs
//!
//! [`Faults`] apply to every request but `/metrics`; a request overrides them with
//! `?latency=20ms` or `?latency=10ms..50ms`, `?error=0.1`, `?stall=1` (with
//! `?stall_for=2s`) and `?close=1`. A bad value is answered `400`. On `/stream` and `/ws`
//! they act on the opening request: latency and work delay the response head (the stream's
//! subscription is already in place, so nothing posted meanwhile is missed), `error`
//! answers `500` instead of a stream, `stall` and `close` drop the connection. What happens
//! to deliveries once a stream is open is set by [`Streams`]: a fan-out delay per delivery,
//! a drop ratio, and a bounded queue per stream whose consumer is cut off (its connection
//! closed, counted as a slow consumer) when it falls [`Streams::buffer`] events behind.
//!
//! [`Config::rate_limit_all_per_s`] puts one token bucket in front of every route but
//! `/metrics` (`429` with `Retry-After`), on top of the per-key limit of `POST /events`.

mod auth;
mod body;
mod config;
mod connection;
mod conversations;
mod counters;
mod error;
mod faults;
mod handlers;
mod hub;
mod metrics;
mod query;
mod ratelimit;
mod respond;
mod routes;
mod server;
mod service;
mod sse;
mod state;
mod store;
mod stream;
mod tls;
mod webhook;
mod ws;

pub use config::{Config, Faults, Latency, Streams, TlsConfig, WEBHOOK_SECRET_ENV};
pub use error::Error;
pub use server::{Target, run_blocking};
pub use tls::GENERATED_NAMES;
