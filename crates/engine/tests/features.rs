//! Per-user state against the real demo target: a setup login captures a token that later
//! requests send, bodies are templated and HMAC-signed, checks read the response.

mod common;

use std::time::Duration;

use common::*;
use stampede_metrics::Outcome;
use stampede_plan::{
    Capture, CaptureFrom, Check, Header, Load, Part, Sign, StatusSet, Template, Var,
};
use tokio::sync::watch;

fn lit(text: &str) -> Part {
    Part::Lit(text.into())
}

#[tokio::test]
async fn login_capture_signed_webhooks_and_checks_against_the_demo_target() {
    let target = stampede_target::Target::start(stampede_target::Config {
        webhook_secret: "s3cret".into(),
        ..stampede_target::Config::default()
    })
    .expect("demo target");

    let mut login = request("login", "/login");
    login.method = "POST".into();
    login.body = Some(Template::from_parts(vec![
        lit(r#"{"user":"user-"#),
        Part::Var(Var::Vu),
        lit(r#"","password":"pw"}"#),
    ]));
    login.headers.push(Header {
        name: "content-type".into(),
        value: Template::literal("application/json"),
        secret: false,
    });
    login.captures.push(Capture {
        slot: 0,
        from: CaptureFrom::JsonPointer("/token".into()),
    });

    let mut post = request("post event", "/events");
    post.method = "POST".into();
    post.headers.push(Header {
        name: "authorization".into(),
        value: Template::from_parts(vec![lit("Bearer "), Part::Var(Var::Capture(0))]),
        secret: true,
    });
    post.body = Some(Template::from_parts(vec![
        lit(r#"{"n":"#),
        Part::Var(Var::Seq),
        lit("}"),
    ]));
    post.checks.push(Check::Json {
        pointer: "/status".into(),
        equals: r#""queued""#.into(),
    });
    let mut expect = StatusSet::empty();
    expect.insert(201);
    post.expect = expect;

    let mut hook = request("webhook", "/webhooks/github");
    hook.method = "POST".into();
    hook.body = Some(Template::from_parts(vec![
        lit(r#"{"id":""#),
        Part::Var(Var::Uuid),
        lit(r#""}"#),
    ]));
    hook.sign = Some(Sign {
        secret: b"s3cret".to_vec(),
        header: "X-Hub-Signature-256".into(),
        prefix: "sha256=".into(),
    });
    hook.checks.push(Check::BodyContains("received".into()));

    let mut step = step(Load::Closed { users: 3 }, Duration::from_secs(30));
    step.iterations_per_user = Some(20);
    let mut plan = plan(vec![login, post, hook], vec![step]);
    plan.setup = vec![0];
    // Weight 0: the login runs in setup only, never as an iteration.
    plan.requests[0].weight = 0;
    plan.captures = vec!["token".into()];

    let (_tx, stop) = watch::channel(None);
    let mut setup = None;
    let mut rec = Recorded::default();
    stampede_engine::run(&plan, &options(target.addr(), 1), stop, |e| {
        if let stampede_metrics::Event::RunEnded(end) = e {
            setup = Some(end.setup.clone());
        }
        rec.record(e)
    })
    .await
    .expect("run");

    let stats = &rec.step_stats(0);
    let post = &stats.requests[1];
    let hook = &stats.requests[2];
    assert!(
        post.requests() > 10 && hook.requests() > 10,
        "{post:?} {hook:?}"
    );
    assert_eq!(post.failed, 0, "{:?}", post.failures);
    assert_eq!(post.outcomes.get(Outcome::Status2xx), post.requests());
    assert_eq!(hook.failed, 0, "{:?}", hook.failures);
    // The setup login ran once per user, measured apart from the step.
    let setup = setup.expect("run ended");
    assert_eq!(setup.requests[0].requests(), 3);
    assert_eq!(setup.requests[0].failed, 0);
    assert_eq!(stats.iterations, 60);
}

#[tokio::test]
async fn a_wrong_signature_and_a_failed_check_are_counted_apart() {
    let target = stampede_target::Target::start(stampede_target::Config {
        webhook_secret: "right".into(),
        ..stampede_target::Config::default()
    })
    .expect("demo target");
    let mut hook = request("webhook", "/webhooks/x");
    hook.method = "POST".into();
    hook.body = Some(Template::literal("{}"));
    hook.sign = Some(Sign {
        secret: b"wrong".to_vec(),
        header: "X-Hub-Signature-256".into(),
        prefix: "sha256=".into(),
    });
    let mut health = request("health", "/health");
    health
        .checks
        .push(Check::BodyContains("no such text".into()));
    let mut step = step(Load::Closed { users: 1 }, Duration::from_secs(30));
    step.iterations_per_user = Some(40);
    let plan = plan(vec![hook, health], vec![step]);
    let (_, rec) = run_recorded(&plan, &options(target.addr(), 1)).await;
    let stats = &rec.step_stats(0);
    let (hook, health) = (&stats.requests[0], &stats.requests[1]);
    assert_eq!(hook.outcomes.get(Outcome::Status4xx), hook.requests());
    assert_eq!(hook.failed, hook.requests());
    assert_eq!(hook.checks_failed, 0);
    assert_eq!(health.outcomes.get(Outcome::Status2xx), health.requests());
    assert_eq!(health.checks_failed, health.requests());
    assert_eq!(hook.requests() + health.requests(), 40);
}
