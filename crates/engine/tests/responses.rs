//! What responses mean beside their status: 429s honoured or counted against the rate-limited
//! demo target, checks counted apart from failures, captures that miss, `${seq}` per user, and
//! the redacted exchanges of `--http-debug`.

mod common;

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use common::*;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use stampede_engine::{Connector, Exchange, HttpDebug, REDACTED};
use stampede_metrics::{FailureKey, Figures, Outcome, RequestStats};
use stampede_plan::{
    Capture, CaptureFrom, Check, CheckOptions, Header, Load, On429, Part, Plan, RequestOptions,
    StatusSet, Template, Think, Var,
};
use stampede_target::{Config, Target};

fn limited_target(per_s: u32) -> Target {
    Target::start(Config {
        rate_limit_all_per_s: Some(per_s),
        ..Config::default()
    })
    .expect("demo target")
}

fn secret(name: &str, value: Template) -> Header {
    Header {
        name: name.into(),
        value,
        secret: true,
    }
}

/// POST /events with the demo key, expecting 201 or 429, checked for 201.
fn post_event(check_fails_request: bool) -> (stampede_plan::Request, RequestOptions) {
    let mut post = request("post event", "/events");
    post.method = "POST".into();
    post.headers.push(secret(
        "authorization",
        Template::literal("Bearer demo-key"),
    ));
    post.body = Some(Template::literal("{}"));
    let mut expect = StatusSet::empty();
    expect.insert(201);
    expect.insert(429);
    post.expect = expect;
    let mut created = StatusSet::empty();
    created.insert(201);
    post.checks.push(Check::Status(created));
    let options = RequestOptions {
        on_429: On429::Count,
        checks: vec![CheckOptions {
            name: "created".into(),
            fail_request: check_fails_request,
        }],
    };
    (post, options)
}

async fn twenty_posts(fail_request: bool) -> RequestStats {
    let target = limited_target(10);
    let (post, request_options) = post_event(fail_request);
    let mut step = step(Load::Closed { users: 1 }, Duration::from_secs(20));
    step.iterations_per_user = Some(20);
    let mut plan = plan(vec![post], vec![step]);
    plan.request_options = vec![request_options];
    let (_, rec) = run_recorded(&plan, &options(target.addr(), 1)).await;
    rec.step_stats(0).requests[0].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checks_are_counted_apart_from_failures() {
    let stats = twenty_posts(false).await;
    // A burst of one second's worth passes, the rest is limited: 429 is expected, so nothing
    // failed, but the check wanted 201.
    let limited = stats.outcomes.get(Outcome::RateLimited);
    assert!((8..=12).contains(&limited), "{limited} limited");
    let figures = Figures::of(&stats, 1.0);
    assert_eq!(figures.error_rate, 0.0);
    assert_eq!(figures.failed, 0);
    assert_eq!(stats.checks_failed, limited);
    assert_eq!(stats.checks_passed, 20 - limited);
    assert!(figures.value(stampede_plan::Metric::Checks) < Some(1.0));
    assert_eq!(stats.checks[0].seen, ["429"], "the value seen is kept");
    assert_eq!(stats.succeeded, 20 - limited, "429s are not successes");

    // fail-request = true: the failed check fails the request, with its value as the sample.
    let strict = twenty_posts(true).await;
    let limited = strict.outcomes.get(Outcome::RateLimited);
    assert_eq!(strict.failed, limited);
    assert_eq!(
        strict.failures.iter().collect::<Vec<_>>(),
        [(FailureKey::Check(0), limited)]
    );
    assert_eq!(strict.samples.get(FailureKey::Check(0)), Some("429"));
}

/// One user posting every 50 ms for 3 s at a 10/s limit: 20/s offered, 10/s allowed.
fn paced_posts(on_429: On429) -> Plan {
    let (mut post, mut options) = post_event(false);
    post.checks.clear();
    options.checks.clear();
    options.on_429 = on_429;
    post.think = Think::Fixed(Duration::from_millis(50));
    let mut plan = plan(
        vec![post],
        vec![step(Load::Closed { users: 1 }, Duration::from_secs(3))],
    );
    plan.request_options = vec![options];
    plan
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backoff_keeps_429s_rare_where_count_reports_them() {
    let (backoff_target, count_target) = (limited_target(10), limited_target(10));
    let backoff = paced_posts(On429::Backoff {
        max: Duration::from_secs(30),
    });
    let count = paced_posts(On429::Count);
    let backoff_options = options(backoff_target.addr(), 1);
    let count_options = options(count_target.addr(), 1);
    let ((_, backed_off), (_, counted)) = tokio::join!(
        run_recorded(&backoff, &backoff_options),
        run_recorded(&count, &count_options)
    );
    let backed_off = Figures::of(&backed_off.step_stats(0).requests[0], 3.0);
    let counted = Figures::of(&counted.step_stats(0).requests[0], 3.0);
    eprintln!(
        "backoff: {} requests, 429 share {}, success {}/s, {} backoffs; count: {} requests, \
         429 share {}, success {}/s",
        backed_off.requests,
        backed_off.rate_limited,
        backed_off.success_rps,
        backed_off.backoffs,
        counted.requests,
        counted.rate_limited,
        counted.success_rps
    );
    assert!(backed_off.rate_limited < 0.08, "{backed_off:?}");
    assert!(backed_off.backoffs >= 1);
    assert!(
        (8.0..=16.0).contains(&backed_off.success_rps),
        "{}",
        backed_off.success_rps
    );
    assert!(counted.rate_limited > 0.2, "{counted:?}");
    assert_eq!(counted.backoffs, 0);
    assert_eq!(
        counted.value(stampede_plan::Metric::RateLimited),
        Some(counted.rate_limited)
    );
}

/// An in-memory server whose first answer is 429 with `retry_after`, then 200s; it notes when
/// each request arrived.
fn limited_once(
    retry_after: &'static str,
    arrivals: Arc<Mutex<Vec<tokio::time::Instant>>>,
) -> Connector {
    let served = Arc::new(AtomicU64::new(0));
    Connector::Memory(Arc::new(move || {
        let (client, server) = tokio::io::duplex(64 * 1024);
        let (served, arrivals) = (served.clone(), arrivals.clone());
        tokio::spawn(async move {
            let service = service_fn(move |_req| {
                let n = served.fetch_add(1, Ordering::SeqCst);
                arrivals
                    .lock()
                    .expect("arrivals")
                    .push(tokio::time::Instant::now());
                let mut response = hyper::Response::new(Full::new(Bytes::from_static(b"ok")));
                if n == 0 {
                    *response.status_mut() = hyper::StatusCode::TOO_MANY_REQUESTS;
                    response.headers_mut().insert(
                        http::header::RETRY_AFTER,
                        http::HeaderValue::from_static(retry_after),
                    );
                }
                async move { Ok::<_, Infallible>(response) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(server), service)
                .await;
        });
        client
    }))
}

#[tokio::test(start_paused = true)]
async fn a_backoff_waits_for_retry_after_capped_by_max_backoff() {
    for (retry_after, max, waited) in [("2", 30, 2), ("120", 5, 5)] {
        let arrivals = Arc::new(Mutex::new(Vec::new()));
        let mut step = step(Load::Closed { users: 1 }, Duration::from_secs(60));
        step.iterations_per_user = Some(3);
        let mut plan = plan(vec![request("a", "/")], vec![step]);
        plan.request_options = vec![RequestOptions {
            on_429: On429::Backoff {
                max: Duration::from_secs(max),
            },
            checks: vec![],
        }];
        let options = memory_options(limited_once(retry_after, arrivals.clone()));
        let (_, rec) = run_recorded(&plan, &options).await;
        let stats = &rec.step_stats(0).requests[0];
        assert_eq!((stats.requests(), stats.backoffs), (3, 1));
        assert_eq!(stats.backoff_us, waited * 1_000_000);
        let at = arrivals.lock().expect("arrivals").clone();
        let gap = at[1] - at[0];
        assert!(
            gap >= Duration::from_secs(waited)
                && gap < Duration::from_secs(waited) + Duration::from_millis(50),
            "{gap:?}"
        );
        assert!(
            at[2] - at[1] < Duration::from_millis(50),
            "only after the 429"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capture_that_finds_nothing_is_counted_with_where_it_looked() {
    let target = Target::start(Config::default()).expect("demo target");
    let mut login = request("login", "/login");
    login.method = "POST".into();
    login.body = Some(Template::literal(r#"{"user":"u","password":"p"}"#));
    login.captures.push(Capture {
        slot: 0,
        from: CaptureFrom::JsonPointer("/access_token".into()),
    });
    let mut step = step(Load::Closed { users: 2 }, Duration::from_secs(20));
    step.iterations_per_user = Some(3);
    let mut plan = plan(vec![login], vec![step]);
    plan.captures = vec!["token".into()];
    let (_, rec) = run_recorded(&plan, &options(target.addr(), 1)).await;
    let stats = &rec.step_stats(0).requests[0];
    assert_eq!(stats.outcomes.get(Outcome::Status2xx), 6);
    assert_eq!(stats.failed, 0, "a 200 is not a failure");
    assert_eq!(stats.capture_misses.total(), 6);
    let miss = stats.capture_misses.iter().next().expect("a miss");
    assert_eq!(
        miss.message,
        "capture `token` found nothing at json:/access_token"
    );
    assert_eq!(Figures::of(stats, 1.0).capture_misses, 6);
}

/// A server that keeps every request body.
async fn body_server() -> (std::net::SocketAddr, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let kept = bodies.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let kept = kept.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let kept = kept.clone();
                    async move {
                        let body = req.into_body().collect().await.map(|b| b.to_bytes());
                        let text = String::from_utf8_lossy(&body.unwrap_or_default()).into_owned();
                        kept.lock().expect("bodies").push(text);
                        Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::new())))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (addr, bodies)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seq_counts_from_zero_for_each_user_without_gaps() {
    let (addr, bodies) = body_server().await;
    let mut post = request("post", "/");
    post.method = "POST".into();
    post.body = Some(Template::from_parts(vec![
        Part::Var(Var::Vu),
        Part::Lit(":".into()),
        Part::Var(Var::Seq),
    ]));
    let mut step = step(Load::Closed { users: 2 }, Duration::from_secs(20));
    step.iterations_per_user = Some(5);
    let plan = plan(vec![post], vec![step]);
    // Two load threads: each user's numbers are its own, whatever thread it runs on.
    run_recorded(&plan, &options(addr, 2)).await;
    let mut bodies = bodies.lock().expect("bodies").clone();
    bodies.sort();
    let expected: Vec<String> = (0..2)
        .flat_map(|vu| (0..5).map(move |n| format!("{vu}:{n}")))
        .collect();
    assert_eq!(bodies, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_debug_shows_the_first_exchanges_with_secrets_redacted() {
    let target = Target::start(Config::default()).expect("demo target");
    let mut post = request("post event", "/events");
    post.method = "POST".into();
    post.headers = vec![
        secret("authorization", Template::literal("Bearer demo-key")),
        Header {
            name: "x-api-key".into(),
            value: Template::literal("demo-key"),
            secret: false,
        },
        Header {
            name: "cookie".into(),
            value: Template::literal("session=s3cr3t"),
            secret: false,
        },
        // A value read from ${env:..}: its template is secret.
        secret(
            "x-tenant",
            Template::from_parts(vec![Part::Lit("env-value".into()), Part::Var(Var::Vu)])
                .into_secret(),
        ),
        Header {
            name: "content-type".into(),
            value: Template::literal("application/json"),
            secret: false,
        },
    ];
    post.body = Some(Template::literal(r#"{"password":"from-env"}"#).into_secret());
    let mut health = request("health", "/health");
    health.weight = 0;
    let mut step = step(Load::Closed { users: 1 }, Duration::from_secs(20));
    step.iterations_per_user = Some(3);
    let mut plan = plan(vec![health, post], vec![step]);
    plan.setup = vec![0];
    let seen = Arc::new(Mutex::new(Vec::<Exchange>::new()));
    let kept = seen.clone();
    let mut options = options(target.addr(), 1);
    options.http_debug = Some(HttpDebug::new(2, move |exchange| {
        kept.lock().expect("exchanges").push(exchange.clone());
    }));
    run_recorded(&plan, &options).await;
    let seen = seen.lock().expect("exchanges").clone();
    assert_eq!(seen.len(), 2, "only the first two");
    let (setup, post) = (&seen[0], &seen[1]);
    assert_eq!(
        (setup.request.as_str(), setup.target.as_str()),
        ("health", "/health")
    );
    assert_eq!(setup.response.as_ref().map(|r| r.status), Ok(200));
    assert_eq!((post.method.as_str(), post.version), ("POST", "HTTP/1.1"));
    for name in ["authorization", "x-api-key", "cookie", "x-tenant"] {
        let value = post.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v);
        assert_eq!(value.map(String::as_str), Some(REDACTED), "{name}");
    }
    assert_eq!(post.body, REDACTED, "the body holds an ${{env:..}} value");
    let text = format!("{seen:?}");
    for secret in ["demo-key", "s3cr3t", "env-value", "from-env"] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
    let response = post.response.as_ref().expect("a response");
    assert_eq!(response.status, 201);
    assert!(response.body.contains("queued"), "{}", response.body);
}
