//! `/metrics` in Prometheus text format.

use http::StatusCode;

use crate::client::{Client, api_key, target};

/// Checks a Prometheus 0.0.4 sample line, `name{labels} value` or `name value`, and
/// returns its series (name and labels) and value.
fn parse_sample(line: &str) -> (&str, f64) {
    let (series, value) = line.rsplit_once(' ').expect("a value after a space");
    let value: f64 = value
        .parse()
        .unwrap_or_else(|_| panic!("a number in {line:?}"));
    let (name, labels) = match series.split_once('{') {
        Some((name, labels)) => (name, Some(labels)),
        None => (series, None),
    };
    assert!(
        !name.is_empty()
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
        "bad metric name in {line:?}"
    );
    if let Some(labels) = labels {
        let labels = labels.strip_suffix('}').expect("labels end with }");
        for label in labels.split(',') {
            let (key, value) = label.split_once('=').expect("key=value");
            assert!(
                key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                "{line:?}"
            );
            assert!(
                value.len() >= 2 && value.starts_with('"') && value.ends_with('"'),
                "{line:?}"
            );
        }
    }
    (series, value)
}

/// The value of `series` (name and labels, as printed) in a `/metrics` text; panics when
/// it is missing.
pub fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(parse_sample)
        .find(|(s, _)| *s == series)
        .map(|(_, value)| value)
        .unwrap_or_else(|| panic!("no {series} in\n{text}"))
}

#[tokio::test]
async fn metrics_count_the_requests_just_made() {
    let target = target();
    let mut client = Client::connect(target.addr()).await;
    for _ in 0..3 {
        client.get("/health", &[]).await;
    }
    client.get("/events/evt_12345", &api_key()).await;
    client.get("/events/evt_67890", &api_key()).await;
    client.get("/nowhere/at/all", &[]).await;

    let reply = client.get("/metrics", &[]).await;
    assert_eq!(reply.status, StatusCode::OK);
    let content_type = reply.headers["content-type"].to_str().expect("ASCII");
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );

    let samples: Vec<(&str, f64)> = reply
        .text()
        .lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(parse_sample)
        .collect();
    let value = |series: &str| {
        samples
            .iter()
            .find(|(s, _)| *s == series)
            .map(|(_, v)| *v)
            .unwrap_or_else(|| panic!("no {series} in\n{}", reply.text()))
    };
    assert_eq!(
        value(r#"stampede_target_requests_total{route="/health",status="200"}"#),
        3.0
    );
    assert_eq!(
        value(r#"stampede_target_requests_total{route="/events/{id}",status="404"}"#),
        2.0
    );
    assert_eq!(
        value(r#"stampede_target_requests_total{route="unmatched",status="404"}"#),
        1.0
    );
    assert_eq!(
        value(r#"stampede_target_request_duration_seconds_count{route="/health"}"#),
        3.0
    );
    assert!(value(r#"stampede_target_request_duration_seconds_sum{route="/health"}"#) > 0.0);
    for quantile in ["0.5", "0.9", "0.99"] {
        let series = format!(
            r#"stampede_target_request_duration_seconds{{route="/health",quantile="{quantile}"}}"#
        );
        assert!(value(&series) >= 0.0);
    }
    assert_eq!(value("stampede_target_events_stored"), 0.0);
    if cfg!(target_os = "linux") {
        assert!(value("process_resident_memory_bytes") > 0.0);
    }
    assert!(
        !reply.text().contains("evt_12345"),
        "raw paths never become labels"
    );
}
