//! Fixtures for tests over real connections: the demo target with or without TLS, plans of
//! GET /health aimed at it with a TLS setting and an HTTP version, and the target's own
//! per-version request counter read from `/metrics`.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use stampede_engine::{Connector, Options};
use stampede_metrics::StatsSet;
use stampede_plan::{BaseUrl, HttpBase, HttpVersion, Load, Plan, Tls};
use stampede_target::{Config, Target, TlsConfig};
use tokio::net::TcpStream;
use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

use crate::common::{options, plan, request, run_recorded, step};

pub fn target(tls: bool) -> Target {
    Target::start(Config {
        tls: tls.then_some(TlsConfig::Generated),
        ..Config::default()
    })
    .expect("demo target")
}

pub fn trusting(target: &Target) -> Tls {
    Tls {
        ca_pem: target.certificate_pem().map(|pem| pem.as_bytes().to_vec()),
        ..Tls::default()
    }
}

/// `iterations` GET /health by one user, over `tls` (None: plain) and `http`.
pub fn health_plan(target: &Target, tls: Option<Tls>, http: HttpVersion, iterations: u64) -> Plan {
    let mut step = step(Load::Closed { users: 1 }, Duration::from_secs(20));
    step.iterations_per_user = Some(iterations);
    let mut plan = plan(vec![request("health", "/health")], vec![step]);
    plan.base_url = BaseUrl::Http(HttpBase {
        host: "127.0.0.1".into(),
        port: target.addr().port(),
        path_prefix: String::new(),
    });
    plan.tls = tls;
    plan.http = http;
    plan
}

pub fn net_options(plan: &Plan, target: &Target) -> Options {
    let mut options = options(target.addr(), 1);
    options.connector = Connector::for_plan(plan, target.addr()).expect("a connector");
    options
}

pub async fn run_stats(plan: &Plan, target: &Target) -> StatsSet {
    let (_, rec) = run_recorded(plan, &net_options(plan, target)).await;
    rec.step_stats(0)
}

/// The target's `/metrics` text, over HTTP/1.1, through TLS when it serves TLS.
pub async fn metrics(target: &Target) -> String {
    let tcp = TcpStream::connect(target.addr()).await.expect("connects");
    let request = http::Request::get("/metrics")
        .header("host", "localhost")
        .body(Empty::<Bytes>::new())
        .expect("a request");
    let response = match target.certificate_pem() {
        Some(pem) => {
            let mut roots = RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
                roots.add(cert.expect("PEM")).expect("a root");
            }
            let config = ClientConfig::builder_with_provider(Arc::new(ring::default_provider()))
                .with_safe_default_protocol_versions()
                .expect("versions")
                .with_root_certificates(roots)
                .with_no_client_auth();
            let name = ServerName::try_from("localhost").expect("a name");
            let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
                .connect(name, tcp)
                .await
                .expect("a TLS handshake");
            send(tls, request).await
        }
        None => send(tcp, request).await,
    };
    String::from_utf8(response.to_vec()).expect("text")
}

async fn send<T>(io: T, request: http::Request<Empty<Bytes>>) -> Bytes
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = http1::handshake(TokioIo::new(io))
        .await
        .expect("an HTTP/1.1 connection");
    tokio::spawn(connection);
    let response = sender.send_request(request).await.expect("a response");
    response
        .into_body()
        .collect()
        .await
        .expect("a body")
        .to_bytes()
}

pub fn by_version(metrics: &str, version: &str) -> u64 {
    let series = format!("stampede_target_requests_by_version_total{{version=\"{version}\"}} ");
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(&series))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}
