//! Health, readiness, login, authentication, 404 and 405.

use http::StatusCode;
use serde_json::json;

use crate::client::{Client, KEY, api_key, target};

#[tokio::test]
async fn health_and_ready_answer_ok_json() {
    let target = target();
    let mut client = Client::connect(target.addr()).await;
    for path in ["/health", "/ready"] {
        let reply = client.get(path, &[]).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}");
        assert_eq!(reply.headers["content-type"], "application/json");
        assert_eq!(reply.json(), json!({ "status": "ok" }));
    }
}

#[tokio::test]
async fn unknown_paths_are_404_and_wrong_methods_405() {
    let target = target();
    let mut client = Client::connect(target.addr()).await;
    let reply = client.get("/nope", &[]).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert!(reply.json()["error"].is_string());
    let reply = client.post("/health", &[], "").await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(reply.headers["allow"], "GET");
    let reply = client.get("/events", &api_key()).await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(reply.headers["allow"], "POST");
}

#[tokio::test]
async fn a_login_token_is_accepted_by_events() {
    let target = target();
    let mut client = Client::connect(target.addr()).await;
    let reply = client
        .post("/login", &[], r#"{"user":"alice","password":"pw"}"#)
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let token = reply.json()["token"].as_str().expect("a token").to_owned();
    let bearer = format!("Bearer {token}");
    let reply = client
        .post("/events", &[("authorization", &bearer)], r#"{"a":1}"#)
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
}

#[tokio::test]
async fn login_rejects_malformed_bodies() {
    let target = target();
    let mut client = Client::connect(target.addr()).await;
    for body in [
        "",
        "{",
        r#"{"user":"alice"}"#,
        r#"{"user":1,"password":"pw"}"#,
        "[]",
    ] {
        let reply = client.post("/login", &[], body).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}");
    }
}

#[tokio::test]
async fn events_need_a_known_credential() {
    let target = target();
    let mut client = Client::connect(target.addr()).await;
    let rejected: [&[(&str, &str)]; 4] = [
        &[],
        &[("x-api-key", "wrong-key")],
        &[("authorization", "Bearer wrong-key")],
        &[("authorization", "Bearer tok_616c696365.00")],
    ];
    for headers in rejected {
        let reply = client.post("/events", headers, "{}").await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{headers:?}");
        assert!(reply.json()["error"].is_string());
        let reply = client.get("/inbox", headers).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{headers:?}");
    }
    let bearer = format!("Bearer {KEY}");
    let reply = client.get("/inbox", &[("authorization", &bearer)]).await;
    assert_eq!(reply.status, StatusCode::OK);
}
