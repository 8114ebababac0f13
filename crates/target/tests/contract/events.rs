//! The events API: create, get, inbox, ack, rate limits (its own and the global one) and
//! the capped store.

use http::StatusCode;
use serde_json::json;
use stampede_target::{Config, Target};

use crate::client::{Client, api_key, target};

#[tokio::test]
async fn create_get_inbox_ack_round_trip() {
    let target = target();
    let mut client = Client::connect(target.addr()).await;
    let key = api_key();

    let created = client
        .post("/events", &key, r#"{"kind":"signup","n":1}"#)
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let id = created.json()["id"].as_str().expect("an id").to_owned();
    assert_eq!(created.json(), json!({ "id": id, "status": "queued" }));
    let second = client.post("/events", &key, r#"{"n":2}"#).await.json();

    let event = client.get(&format!("/events/{id}"), &key).await;
    assert_eq!(event.status, StatusCode::OK);
    let expected = json!({ "id": id, "status": "queued", "payload": { "kind": "signup", "n": 1 } });
    assert_eq!(event.json(), expected);

    let inbox = client.get("/inbox", &key).await.json();
    assert_eq!(inbox["events"][0]["id"], second["id"], "newest first");
    assert_eq!(inbox["events"][1]["id"], id);
    let limited = client.get("/inbox?limit=1", &key).await.json();
    assert_eq!(limited["events"].as_array().map(Vec::len), Some(1));

    let acked = client.post(&format!("/events/{id}/ack"), &key, "").await;
    assert_eq!(acked.status, StatusCode::OK);
    assert_eq!(acked.json(), json!({ "id": id, "status": "delivered" }));
    let event = client.get(&format!("/events/{id}"), &key).await.json();
    assert_eq!(event["status"], "delivered");
    let inbox = client.get("/inbox", &key).await.json();
    assert_eq!(
        inbox["events"].as_array().map(Vec::len),
        Some(1),
        "acked events leave the inbox"
    );
}

#[tokio::test]
async fn unknown_events_are_404() {
    let target = target();
    let mut client = Client::connect(target.addr()).await;
    let key = api_key();
    for path in ["/events/evt_999", "/events/not-an-id"] {
        assert_eq!(
            client.get(path, &key).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
        let ack = client.post(&format!("{path}/ack"), &key, "").await;
        assert_eq!(ack.status, StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test]
async fn events_must_be_json_objects() {
    let target = target();
    let mut client = Client::connect(target.addr()).await;
    for body in ["", "[1]", "\"x\"", "{", r#"{"a":1} trailing"#] {
        let reply = client.post("/events", &api_key(), body).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}");
    }
}

#[tokio::test]
async fn the_rate_limit_answers_429_with_retry_after() {
    let config = Config {
        rate_limit_per_s: 5,
        ..Config::default()
    };
    let target = Target::start(config).expect("starts");
    let mut client = Client::connect(target.addr()).await;
    let mut created = 0;
    let mut limited = Vec::new();
    for _ in 0..20 {
        let reply = client.post("/events", &api_key(), "{}").await;
        match reply.status {
            StatusCode::CREATED => created += 1,
            StatusCode::TOO_MANY_REQUESTS => limited.push(reply),
            other => panic!("unexpected {other}"),
        }
    }
    assert!(
        created >= 5,
        "the burst is one second's worth, got {created}"
    );
    assert!(!limited.is_empty(), "20 requests at once exceed 5/s");
    for reply in limited {
        let retry_after: u64 = reply.headers["retry-after"]
            .to_str()
            .expect("ASCII")
            .parse()
            .expect("whole seconds");
        assert!(retry_after >= 1);
    }
}

#[tokio::test]
async fn the_store_stays_capped() {
    let config = Config {
        store_capacity: 3,
        ..Config::default()
    };
    let target = Target::start(config).expect("starts");
    let mut client = Client::connect(target.addr()).await;
    let mut ids = Vec::new();
    for n in 0..5 {
        let reply = client
            .post("/events", &api_key(), &format!(r#"{{"n":{n}}}"#))
            .await;
        ids.push(reply.json()["id"].as_str().expect("an id").to_owned());
    }
    let oldest = client.get(&format!("/events/{}", ids[0]), &api_key()).await;
    assert_eq!(
        oldest.status,
        StatusCode::NOT_FOUND,
        "the oldest is evicted"
    );
    let newest = client.get(&format!("/events/{}", ids[4]), &api_key()).await;
    assert_eq!(newest.status, StatusCode::OK);
    let inbox = client.get("/inbox?limit=100", &api_key()).await.json();
    assert_eq!(inbox["events"].as_array().map(Vec::len), Some(3));
    let metrics = client.get("/metrics", &[]).await;
    assert!(
        metrics
            .text()
            .contains("\nstampede_target_events_stored 3\n"),
        "{}",
        metrics.text()
    );
}

#[tokio::test]
async fn rate_limit_all_covers_every_route_but_metrics() {
    let target = Target::start(Config {
        rate_limit_all_per_s: Some(10),
        ..Config::default()
    })
    .expect("starts");
    let mut client = Client::connect(target.addr()).await;
    let mut ok = 0;
    let mut limited = 0;
    for _ in 0..50 {
        let reply = client.get("/health", &[]).await;
        match reply.status {
            StatusCode::OK => ok += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                limited += 1;
                let retry_after: u64 = reply.headers["retry-after"]
                    .to_str()
                    .expect("ASCII")
                    .parse()
                    .expect("whole seconds");
                assert!(retry_after >= 1);
            }
            other => panic!("unexpected {other}"),
        }
    }
    // The burst is one second's worth; a slow machine earns a token per 100 ms meanwhile.
    assert!((10..=15).contains(&ok), "{ok} allowed");
    assert_eq!(ok + limited, 50);
    assert_eq!(client.get("/metrics", &[]).await.status, StatusCode::OK);
    let limited_events = client.post("/events", &api_key(), "{}").await;
    assert_eq!(limited_events.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn by_default_health_is_never_rate_limited() {
    let target = target();
    let mut client = Client::connect(target.addr()).await;
    for _ in 0..2_000 {
        assert_eq!(client.get("/health", &[]).await.status, StatusCode::OK);
    }
}
