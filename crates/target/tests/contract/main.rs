//! Contract tests of the demo target: each endpoint, the fault knobs and the lifecycle,
//! against a real server on `127.0.0.1:0`. One test binary, so the crate links once.

mod client;
mod endpoints;
mod events;
mod faults;
mod lifecycle;
mod metrics;
mod sse_client;
mod streams;
mod tls;
mod webhooks;
mod websocket;
