//! Signed webhooks.

use hmac::{Hmac, Mac};
use http::StatusCode;
use sha2::Sha256;
use stampede_target::{Config, Target};

use crate::client::{Client, raw_exchange};

const SECRET: &str = "test-secret";

fn signature(body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).expect("any key length");
    mac.update(body.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn target() -> Target {
    let config = Config {
        webhook_secret: SECRET.into(),
        ..Config::default()
    };
    Target::start(config).expect("starts")
}

#[tokio::test]
async fn a_correct_signature_is_received() {
    let target = target();
    let mut client = Client::connect(target.addr()).await;
    let body = r#"{"action":"opened"}"#;
    let headers = [("x-hub-signature-256", signature(body))];
    let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let reply = client.post("/webhooks/github", &headers, body).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.json(), serde_json::json!({ "received": true }));
}

#[tokio::test]
async fn wrong_or_missing_signatures_are_403() {
    let target = target();
    let mut client = Client::connect(target.addr()).await;
    let body = r#"{"action":"opened"}"#;
    let other_body = signature("{}");
    let uppercase = signature(body).to_uppercase().replace("SHA256=", "sha256=");
    for value in [
        Some(other_body.as_str()),
        Some(uppercase.as_str()),
        Some("sha256=zz"),
        None,
    ] {
        let headers: Vec<(&str, &str)> = value
            .iter()
            .map(|value| ("x-hub-signature-256", *value))
            .collect();
        let reply = client.post("/webhooks/github", &headers, body).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{value:?}");
    }
}

#[tokio::test]
async fn oversized_bodies_are_413() {
    let target = target();
    // Declare a body over 1 MiB and send none of it: the target must answer from the head.
    let head = format!(
        "POST /webhooks/github HTTP/1.1\r\nhost: target\r\nx-hub-signature-256: {}\r\n\
         content-length: {}\r\n\r\n",
        signature(""),
        1024 * 1024 + 1
    );
    let answer = raw_exchange(target.addr(), &head).await.expect("an answer");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413 "), "{answer}");
}
