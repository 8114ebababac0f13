//! HTTPS with the generated certificate: HTTP/2 and HTTP/1.1 by ALPN, a client that does
//! not trust the certificate, the certificate file, and plain HTTP/2 with prior knowledge.

use std::sync::Arc;

use bytes::Bytes;
use http::{Request, StatusCode, Version};
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};
use stampede_target::{Config, Error, Target, TlsConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

use crate::client::{Client, target};
use crate::metrics::sample;
use crate::sse_client::STREAM_GUARD;

fn tls_target() -> Target {
    Target::start(Config {
        tls: Some(TlsConfig::Generated),
        ..Config::default()
    })
    .expect("starts with a generated certificate")
}

/// A client config trusting exactly `roots`, offering `alpn`.
fn client_config(roots: RootCertStore, alpn: &[&[u8]]) -> Arc<ClientConfig> {
    let mut config = ClientConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("ring supports the default versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|protocol| protocol.to_vec()).collect();
    Arc::new(config)
}

/// Roots holding only the certificate the target says to trust.
fn trusting(target: &Target) -> RootCertStore {
    let pem = target
        .certificate_pem()
        .expect("a TLS target has a certificate");
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
        roots.add(cert.expect("valid PEM")).expect("a usable root");
    }
    roots
}

async fn handshake(
    target: &Target,
    roots: RootCertStore,
    alpn: &[&[u8]],
    name: &str,
) -> std::io::Result<TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(target.addr()).await?;
    let name = ServerName::try_from(name.to_owned()).expect("a valid server name");
    TlsConnector::from(client_config(roots, alpn))
        .connect(name, tcp)
        .await
}

fn get(uri: &str) -> Request<Empty<Bytes>> {
    Request::get(uri)
        .header("host", "localhost")
        .body(Empty::new())
        .expect("a request")
}

#[tokio::test]
async fn https_serves_http2_by_alpn() {
    let target = tls_target();
    assert!(target.base_url().starts_with("https://127.0.0.1:"));
    let tls = handshake(
        &target,
        trusting(&target),
        &[b"h2", b"http/1.1"],
        "localhost",
    )
    .await
    .expect("the generated CA is trusted");
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let (mut sender, connection) = http2::handshake(TokioExecutor::new(), TokioIo::new(tls))
        .await
        .expect("an HTTP/2 connection");
    tokio::spawn(connection);
    let response = sender
        .send_request(get("https://localhost/health"))
        .await
        .expect("a response");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.version(), Version::HTTP_2);
}

#[tokio::test]
async fn https_serves_http1_by_alpn_and_to_an_ip_address() {
    let target = tls_target();
    let tls = handshake(&target, trusting(&target), &[b"http/1.1"], "127.0.0.1")
        .await
        .expect("the certificate names 127.0.0.1");
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
    let (mut sender, connection) = http1::handshake(TokioIo::new(tls))
        .await
        .expect("an HTTP/1.1 connection");
    tokio::spawn(connection);
    let response = sender
        .send_request(get("/metrics"))
        .await
        .expect("a response");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.version(), Version::HTTP_11);
    let body = response
        .into_body()
        .collect()
        .await
        .expect("a body")
        .to_bytes();
    let text = std::str::from_utf8(&body).expect("UTF-8");
    assert_eq!(sample(text, "stampede_target_tls_handshakes_total"), 1.0);
    assert_eq!(
        sample(text, "stampede_target_tls_handshake_failures_total"),
        0.0
    );
}

#[tokio::test]
async fn a_client_that_does_not_trust_the_certificate_fails_and_is_counted() {
    let target = tls_target();
    let mut tcp = TcpStream::connect(target.addr()).await.expect("connects");
    let name = ServerName::try_from("localhost").expect("a valid name");
    let connector = TlsConnector::from(client_config(RootCertStore::empty(), &[b"h2"]));
    let refused = connector.connect(name, &mut tcp).await;
    assert!(refused.is_err(), "a handshake without the CA must fail");
    // The client has sent its alert; closing our half too makes sure the target sees the
    // end whatever rustls wrote. The target counts the failure, then closes: wait for it.
    let _ = tcp.shutdown().await;
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(STREAM_GUARD, tcp.read_to_end(&mut rest)).await;
    assert!(closed.is_ok(), "the target kept the failed connection open");

    let tls = handshake(&target, trusting(&target), &[b"http/1.1"], "localhost")
        .await
        .expect("a trusting client still gets in");
    let (mut sender, connection) = http1::handshake(TokioIo::new(tls)).await.expect("HTTP/1.1");
    tokio::spawn(connection);
    let response = sender
        .send_request(get("/metrics"))
        .await
        .expect("a response");
    let body = response
        .into_body()
        .collect()
        .await
        .expect("a body")
        .to_bytes();
    let text = std::str::from_utf8(&body).expect("UTF-8");
    assert_eq!(
        sample(text, "stampede_target_tls_handshake_failures_total"),
        1.0
    );
    assert_eq!(sample(text, "stampede_target_tls_handshakes_total"), 1.0);
}

#[tokio::test]
async fn the_certificate_can_be_written_for_a_ca_file() {
    let target = tls_target();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("ca.pem");
    target.write_certificate(&path).expect("writes");
    let written = std::fs::read_to_string(&path).expect("reads back");
    assert_eq!(Some(written.as_str()), target.certificate_pem());

    let plain = crate::client::target();
    assert!(plain.certificate_pem().is_none());
    assert_eq!(plain.scheme(), "http");
    assert!(matches!(
        plain.write_certificate(&path),
        Err(Error::NoCertificate)
    ));
}

#[tokio::test]
async fn certificate_files_are_served() {
    let names = vec!["localhost".to_owned()];
    let made = rcgen::generate_simple_self_signed(names).expect("a certificate");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, made.cert.pem()).expect("writes the certificate");
    std::fs::write(&key, made.signing_key.serialize_pem()).expect("writes the key");
    let target = Target::start(Config {
        tls: Some(TlsConfig::Files { cert, key }),
        ..Config::default()
    })
    .expect("starts with the files");
    assert_eq!(target.certificate_pem(), Some(made.cert.pem().as_str()));
    let tls = handshake(&target, trusting(&target), &[b"http/1.1"], "localhost")
        .await
        .expect("the file's certificate is served");
    let (mut sender, connection) = http1::handshake(TokioIo::new(tls)).await.expect("HTTP/1.1");
    tokio::spawn(connection);
    let response = sender
        .send_request(get("/health"))
        .await
        .expect("a response");
    assert_eq!(response.status(), StatusCode::OK);
}

#[test]
fn missing_or_wrong_certificate_files_are_errors() {
    let source = tls_target();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let missing = TlsConfig::Files {
        cert: dir.path().join("missing.pem"),
        key: dir.path().join("missing.key"),
    };
    let err = Target::start(Config {
        tls: Some(missing),
        ..Config::default()
    })
    .expect_err("no such file");
    assert!(err.to_string().starts_with("cannot read "), "{err}");
    // A certificate is not a key.
    let cert = dir.path().join("ca.pem");
    source.write_certificate(&cert).expect("writes");
    let err = Target::start(Config {
        tls: Some(TlsConfig::Files {
            cert: cert.clone(),
            key: cert,
        }),
        ..Config::default()
    })
    .expect_err("a certificate is not a key");
    assert!(err.to_string().starts_with("no PEM key in "), "{err}");
}

#[tokio::test]
async fn plain_tcp_serves_http2_with_prior_knowledge_beside_http1() {
    let target = target();
    let tcp = TcpStream::connect(target.addr()).await.expect("connects");
    let (mut sender, connection) = http2::handshake(TokioExecutor::new(), TokioIo::new(tcp))
        .await
        .expect("an h2c connection");
    tokio::spawn(connection);
    for _ in 0..2 {
        let uri = format!("http://{}/health", target.addr());
        let response = sender.send_request(get(&uri)).await.expect("a response");
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.version(), Version::HTTP_2);
    }
    let mut client = Client::connect(target.addr()).await;
    let metrics = client.get("/metrics", &[]).await;
    let value = |series| sample(metrics.text(), series);
    assert_eq!(
        value(r#"stampede_target_requests_by_version_total{version="2"}"#),
        2.0
    );
    assert_eq!(
        value(r#"stampede_target_requests_by_version_total{version="1.1"}"#),
        1.0
    );
    assert_eq!(
        value(r#"stampede_target_requests_total{route="/health",status="200"}"#),
        2.0
    );
}
