//! The embedded demo target: a small, fast hyper 1.x HTTP/1.1 server that a newcomer can
//! load-test without installing anything.
//!
//! It serves a health check, a login that issues Bearer tokens, an authenticated events API
//! with per-key rate limits, signed webhooks and Prometheus metrics, and it can inject faults
//! (latency, errors, stalls, closed connections) from its [`Config`] or per request from the
//! query string. It always runs on its own runtime thread(s), so it never competes with the
//! load generator's tokio workers.
//!
//! Knows nothing of scenarios, CSV or the CLI: it gets a [`Config`] and serves.
//!
//! # Endpoints
//!
//! - `GET /health`, `GET /ready`: `200 {"status":"ok"}`.
//! - `POST /login` `{"user":..,"password":..}`: `200 {"token":..}`; any user is accepted.
//! - With `Authorization: Bearer <token or api key>` or `X-API-Key: <key>` (else `401`):
//!   `POST /events` (a JSON object; `201`, or `429` with `Retry-After` past the per-key
//!   rate), `GET /events/{id}`, `GET /inbox?limit=N` (undelivered, newest first, at most
//!   100) and `POST /events/{id}/ack`.
//! - `POST /webhooks/{name}`: `200` when `X-Hub-Signature-256` is the HMAC-SHA256 of the
//!   body with the webhook secret, else `403`; bodies over 1 MiB get `413`.
//! - `GET /metrics`: Prometheus text, per route template.
//!
//! # Fault knobs
//!
//! [`Faults`] apply to every request but `/metrics`; a request overrides them with
//! `?latency=20ms` or `?latency=10ms..50ms`, `?error=0.1`, `?stall=1` (with
//! `?stall_for=2s`) and `?close=1`. A bad value is answered `400`.

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
