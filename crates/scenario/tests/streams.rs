//! `[[stream]]`: a valid stream lowers to the plan's `Stream`, with its templates and
//! defaults; bad keys and values are refused at their line and column.

mod common;

use std::time::Duration;

use common::{errors, load};
use stampede_plan::{Metric, Op, Part, Scope, StreamKind, Var};
use stampede_scenario::describe;

const PAIRED: &str = r#"kind = "capacity"
base-url = "builtin"
users = [2, 4]
hold = "10s"

[defaults]
headers = { X-API-Key = "demo-key" }

[[request]]
name = "send"
method = "POST"
path = "/conversations/u-${partner}/messages"
json = { m = "${msg_id}" }

[[stream]]
name = "inbox"
kind = "sse"
path = "/stream?conversation=u-${vu}"
hold = "30s"
expect-within = "2s"
pairs = true
"#;

#[test]
fn a_paired_stream_lowers_with_its_templates_and_inherited_headers() {
    let plan = load(PAIRED).expect("loads");
    let [stream] = plan.streams.as_slice() else {
        panic!("{:?}", plan.streams)
    };
    assert_eq!(stream.name, "inbox");
    assert_eq!(stream.kind, StreamKind::Sse);
    assert_eq!(stream.hold, Some(Duration::from_secs(30)));
    assert_eq!(stream.expect_within, Duration::from_secs(2));
    assert!(stream.pairs);
    assert!(stream.path.parts().contains(&Part::Var(Var::Vu)));
    assert_eq!(stream.headers.len(), 1);
    assert_eq!(stream.headers[0].name, "X-API-Key");
    let send = plan.requests[0].body.as_ref().expect("a body");
    assert!(send.parts().contains(&Part::JsonVar(Var::MsgId)));
    assert!(
        plan.requests[0]
            .path
            .parts()
            .contains(&Part::Var(Var::Partner))
    );
}

#[test]
fn a_stream_without_hold_or_expect_within_takes_the_defaults() {
    let file = PAIRED
        .replace("hold = \"30s\"\n", "")
        .replace("expect-within = \"2s\"\n", "");
    let plan = load(&file).expect("loads");
    assert_eq!(plan.streams[0].hold, None);
    assert_eq!(plan.streams[0].expect_within, Duration::from_secs(5));
}

#[test]
fn bad_stream_keys_are_refused_where_they_are() {
    let cases = [
        (
            PAIRED.replace("pairs = true", "pair = true"),
            "error: unknown key `pair`",
            "t.toml:21:1",
        ),
        (
            PAIRED.replace("kind = \"sse\"", "kind = \"mqtt\""),
            "error: `mqtt` is not a stream kind",
            "t.toml:17:8",
        ),
        (
            PAIRED.replace("hold = \"30s\"", "hold = \"0s\""),
            "error: `hold` must be longer than zero",
            "t.toml:19:8",
        ),
        (
            PAIRED.replace("path = \"/stream", "path = \"stream"),
            "error: path `stream?conversation=u-${vu}` does not start with `/`",
            "t.toml:18:8",
        ),
        (
            format!("{PAIRED}\n[[stream]]\nname = \"inbox\"\npath = \"/stream\"\npairs = true\n"),
            "error: a stream named `inbox` is declared twice",
            "t.toml:24:8",
        ),
        (
            PAIRED.replace("${vu}", "${vuu}"),
            "error: unknown variable `${vuu}`",
            "t.toml:18:",
        ),
    ];
    for (file, message, place) in cases {
        let text = errors(&file);
        assert!(text.contains(message), "{message}\n{text}");
        assert!(text.contains(place), "{place}\n{text}");
    }
}

#[test]
fn only_one_stream_pairs_users_and_rates_hold_no_streams() {
    let twice =
        format!("{PAIRED}\n[[stream]]\nname = \"other\"\npath = \"/stream\"\npairs = true\n");
    let text = errors(&twice);
    assert!(text.contains("only one stream may pair users"), "{text}");
    assert!(text.contains("t.toml:26:9"), "{text}");
    let rate = PAIRED
        .replace("kind = \"capacity\"", "kind = \"throughput\"")
        .replace(
            "users = [2, 4]\nhold = \"10s\"",
            "rates = [10]\nhold = \"10s\"",
        );
    let text = errors(&rate);
    assert!(
        text.contains("an arrival rate has none that stay"),
        "{text}"
    );
}

#[test]
fn stream_thresholds_lower_to_the_streams_scope() {
    let file = format!(
        "{PAIRED}\n[thresholds.stream.inbox]\ne2e-p95 = \"< 500ms\"\nlost = \"== 0\"\ndisconnects = \"< 5\"\n"
    );
    let plan = load(&file).expect("loads");
    let rules: Vec<(Metric, Op, f64, Scope)> = plan
        .thresholds
        .iter()
        .map(|t| (t.metric, t.condition.op, t.condition.value, t.scope))
        .collect();
    assert_eq!(
        rules,
        [
            (Metric::E2eP95, Op::Lt, 500.0, Scope::Stream(0)),
            (Metric::Lost, Op::Eq, 0.0, Scope::Stream(0)),
            (Metric::Disconnects, Op::Lt, 5.0, Scope::Stream(0)),
        ]
    );
    let unknown = format!("{PAIRED}\n[thresholds.stream.outbox]\nlost = \"== 0\"\n");
    let text = errors(&unknown);
    assert!(text.contains("no stream named `outbox`"), "{text}");
    let windowed = format!(
        "{PAIRED}\n[thresholds.stream.inbox]\nlost = {{ limit = \"== 0\", window = \"10s\" }}\n"
    );
    let text = errors(&windowed);
    assert!(text.contains("judged at the end of the run"), "{text}");
    let not_a_count = format!("{PAIRED}\n[thresholds.stream.inbox]\nlost = \"== none\"\n");
    assert!(errors(&not_a_count).contains("expected a count"));
    let request_key = format!("{PAIRED}\n[thresholds.stream.inbox]\np95 = \"< 1s\"\n");
    assert!(errors(&request_key).contains("unknown"));
}

#[test]
fn plan_describes_streams_with_secrets_redacted() {
    let file = PAIRED.replace(
        "[[stream]]\nname = \"inbox\"",
        "[[stream]]\nname = \"inbox\"\nheaders = { Authorization = \"Bearer s3cret\" }",
    );
    let shown = describe(&load(&file).expect("loads"));
    assert!(
        shown.contains("  inbox  sse /stream?conversation=u-${vu}  (hold 30s, then re-open, pairs users 2k and 2k+1, a message lost after 2s)"),
        "{shown}"
    );
    assert!(shown.contains("Authorization: <redacted>"), "{shown}");
    assert!(!shown.contains("s3cret"), "{shown}");
}

const WEBSOCKET: &str = r#"kind = "smoke"
base-url = "builtin"
users = 2
duration = "10s"

[[request]]
name = "health"
path = "/health"

[[stream]]
name = "chat"
kind = "websocket"
path = "/ws"
send = { every = "500ms", body = '{"id":"${msg_id}","text":"hi"}' }

[thresholds.stream.chat]
rtt-p95 = "< 50ms"
"#;

#[test]
fn a_websocket_stream_lowers_with_its_send_schedule_and_rtt_threshold() {
    let plan = load(WEBSOCKET).expect("loads");
    let stream = &plan.streams[0];
    assert_eq!(stream.kind, StreamKind::WebSocket);
    let send = stream.send.as_ref().expect("a send");
    assert_eq!(send.every, Duration::from_millis(500));
    assert!(send.body.parts().contains(&Part::Var(Var::MsgId)));
    let rules: Vec<_> = plan
        .thresholds
        .iter()
        .map(|t| (t.metric, t.scope))
        .collect();
    assert_eq!(rules, [(Metric::RttP95, Scope::Stream(0))]);
    let shown = describe(&plan);
    assert!(
        shown.contains("  chat  websocket /ws  (hold the whole step, sends "),
        "{shown}"
    );
}

#[test]
fn send_is_for_websockets_and_needs_both_keys() {
    let cases = [
        (
            WEBSOCKET.replace("kind = \"websocket\"", "kind = \"sse\""),
            "error: only a WebSocket stream sends messages",
            "t.toml:14:8",
        ),
        (
            WEBSOCKET.replace("every = \"500ms\", ", ""),
            "error: `send` needs `every` and `body`",
            "t.toml:14:8",
        ),
        (
            WEBSOCKET.replace("every = \"500ms\"", "every = \"0s\""),
            "error: `every` must be longer than zero",
            "t.toml:14:18",
        ),
        (
            WEBSOCKET.replace("body = ", "text = "),
            "error: unknown key `text`",
            "t.toml:14:27",
        ),
    ];
    for (file, message, place) in cases {
        let text = errors(&file);
        assert!(text.contains(message), "{message}\n{text}");
        assert!(text.contains(place), "{place}\n{text}");
    }
}
