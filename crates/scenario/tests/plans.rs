//! Valid files in, the expected plan out: the shipped smoke example, overrides, templating,
//! secrets, and every shipped scenario.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{SMOKE, errors, fake_env, load, load_file, load_with, scenarios_dir, set};
use stampede_plan::{
    BaseUrl, CaptureFrom, Check, Context, DataMode, Kind, LiveRule, Load, Metric, Op, Scope,
    StatusSet, Think,
};
use stampede_scenario::{Overrides, describe};

#[test]
fn the_smoke_example_lowers_to_one_step() {
    let plan = load(SMOKE).unwrap();
    assert_eq!(plan.kind, Kind::Smoke);
    assert_eq!(plan.name, "t");
    assert_eq!(plan.description, "Baseline before every deploy");
    assert_eq!(plan.base_url, BaseUrl::Builtin);
    assert_eq!(plan.steps.len(), 1);
    let step = &plan.steps[0];
    assert_eq!(step.load, Load::Closed { users: 10 });
    assert_eq!(step.hold, Duration::from_secs(30));
    assert_eq!(
        (step.ramp, step.warmup, step.cooldown),
        (Duration::ZERO, Duration::ZERO, Duration::ZERO)
    );
    assert_eq!(plan.total_duration(), Duration::from_secs(30));
    let weights: Vec<u32> = plan.requests.iter().map(|r| r.weight).collect();
    assert_eq!(weights, [1, 3]);
    let mut only_200 = StatusSet::empty();
    only_200.insert(200);
    assert_eq!(plan.requests[1].expect, only_200);
    assert_eq!(plan.requests[0].expect, StatusSet::success());
    assert_eq!(plan.requests[1].method, "GET");
    assert_eq!(plan.requests[1].path.as_static(), Some("/inbox"));
    assert_eq!(plan.requests[0].timeout, Duration::from_secs(30));
    let auth = &plan.requests[1].headers[0];
    assert_eq!(
        (auth.name.as_str(), auth.value.as_static(), auth.secret),
        ("Authorization", Some("Bearer demo-key"), true)
    );
    assert_eq!(
        (plan.interval, plan.grace, plan.series_interval),
        (
            Duration::from_secs(1),
            Duration::from_secs(5),
            Duration::from_secs(1)
        )
    );
}

#[test]
fn the_shipped_smoke_file_is_the_example() {
    let shipped = std::fs::read_to_string(scenarios_dir().join("smoke.toml")).unwrap();
    let without_schema_line: String = shipped
        .lines()
        .filter(|l| !l.starts_with("#:schema"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(without_schema_line, SMOKE);
}

#[test]
fn a_typo_names_line_and_column_and_suggests() {
    let source = "kind = \"smoke\"\nbase-url = \"builtin\"\nusers = 10\n# how long\ndration = \"30s\"\n\n[[request]]\nname = \"h\"\npath = \"/h\"\n";
    let diagnostics = load_with(source, &Overrides::default()).unwrap_err();
    let typo = diagnostics
        .iter()
        .find(|d| d.message == "unknown key `dration`")
        .expect("the typo is reported");
    assert_eq!(
        (typo.file.as_str(), typo.line, typo.column),
        ("t.toml", 5, 1)
    );
    assert_eq!(typo.hint.as_deref(), Some("did you mean `duration`?"));
    assert!(
        diagnostics.to_string().starts_with(
            "error: unknown key `dration`\n  --> t.toml:5:1\n   |\n 5 | dration = \"30s\"\n   | ^^^^^^^\n   = hint: did you mean `duration`?\n"
        ),
        "{diagnostics}"
    );
}

#[test]
fn requests_lower_with_defaults_templates_and_checks() {
    let source = r#"kind = "smoke"
users = 2
duration = "10s"

[defaults]
think = "100ms..2s"
timeout = "5s"
headers = { X-API-Key = "demo-key", Accept = "application/json" }
expect = ["2xx", 404]

[[request]]
name = "login"
method = "post"
path = "/login"
json = { user = "u-${vu}", password = "${env:API_TOKEN}", tags = ["a", 1, true] }
capture = { token = "json:/token", etag = "header:ETag" }
weight = 0

[[request]]
name = "post event"
method = "POST"
path = "/events/$${literal}"
query = { latency = "10ms..50ms", limit = 5 }
headers = { Authorization = "Bearer ${token}", Accept = "text/plain" }
body = "n=${seq}&r=${rand:1..6}&id=${uuid}&t=${now_ms}&i=${iteration}"
think = "500ms"
timeout = "1s"
check = { status = [201, "2xx"], max-latency = "200ms", body-contains = "queued", json = { "/status" = "queued", "/n" = 1 } }
sign = { hmac-sha256 = { secret = "${env:WEBHOOK_SECRET}" } }

[setup]
requests = ["login"]

[[flow]]
name = "post twice"
weight = 2
steps = ["post event", "post event"]
"#;
    let plan = load(source).unwrap();
    let (login, post) = (&plan.requests[0], &plan.requests[1]);
    assert_eq!(login.method, "POST");
    assert_eq!(login.weight, 0);
    assert_eq!(
        login.think,
        Think::Range(Duration::from_millis(100), Duration::from_secs(2))
    );
    assert_eq!(login.timeout, Duration::from_secs(5));
    let mut expect = StatusSet::empty();
    (200..300).for_each(|c| expect.insert(c));
    expect.insert(404);
    assert_eq!(login.expect, expect);
    assert!(
        login.body.as_ref().unwrap().is_secret(),
        "an ${{env:..}} value makes the body secret"
    );
    assert!(
        login
            .headers
            .iter()
            .any(|h| h.name == "Content-Type" && h.value.as_static() == Some("application/json"))
    );
    // TOML tables reach serde in key order, so captures, headers and JSON keys are sorted.
    assert_eq!(plan.captures, ["etag", "token"]);
    assert_eq!(login.captures[0].from, CaptureFrom::Header("ETag".into()));
    assert_eq!(
        login.captures[1].from,
        CaptureFrom::JsonPointer("/token".into())
    );

    assert_eq!(post.think, Think::Fixed(Duration::from_millis(500)));
    assert_eq!(post.path.as_static(), Some("/events/${literal}"));
    let query: Vec<(&str, Option<&str>)> = post
        .query
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_static()))
        .collect();
    assert_eq!(
        query,
        [("latency", Some("10ms..50ms")), ("limit", Some("5"))]
    );
    let names: Vec<&str> = post.headers.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(
        names,
        ["Accept", "X-API-Key", "Authorization", "User-Agent"]
    );
    assert_eq!(
        post.headers[0].value.as_static(),
        Some("text/plain"),
        "the request's own header wins"
    );
    assert!(post.headers[1].secret && post.headers[2].secret && !post.headers[0].secret);
    assert_eq!(post.checks.len(), 5);
    assert!(matches!(post.checks[1], Check::MaxLatency(d) if d == Duration::from_millis(200)));
    assert_eq!(
        post.checks[3],
        Check::Json {
            pointer: "/n".into(),
            equals: "1".into()
        }
    );
    assert_eq!(
        post.checks[4],
        Check::Json {
            pointer: "/status".into(),
            equals: "\"queued\"".into()
        }
    );
    let sign = post.sign.as_ref().unwrap();
    assert_eq!(
        (
            sign.secret.as_slice(),
            sign.header.as_str(),
            sign.prefix.as_str()
        ),
        (
            &b"test-webhook-secret"[..],
            "X-Hub-Signature-256",
            "sha256="
        )
    );
    assert_eq!(plan.setup, [0]);
    assert_eq!(
        (plan.flows[0].weight, plan.flows[0].steps.as_slice()),
        (2, &[1, 1][..])
    );

    // Rendering walks the parts: templates were parsed at load time.
    let mut ctx = Fixed;
    assert_eq!(
        login.body.as_ref().unwrap().render(&mut ctx),
        r#"{"password":"tok-123","tags":["a",1,true],"user":"u-7"}"#
    );
    assert_eq!(
        post.body.as_ref().unwrap().render(&mut ctx),
        "n=42&r=1&id=ffffffff-ffff-4fff-bfff-ffffffffffff&t=1700000000000&i=3"
    );
    assert_eq!(post.headers[2].value.render(&mut ctx), "Bearer captured-1");
}

struct Fixed;

impl Context for Fixed {
    fn vu(&self) -> u64 {
        7
    }
    fn iteration(&self) -> u64 {
        3
    }
    fn next_seq(&mut self) -> u64 {
        42
    }
    fn next_run_seq(&mut self) -> u64 {
        4242
    }
    fn now_ms(&self) -> u64 {
        1_700_000_000_000
    }
    fn rand(&mut self, lo: i64, _: i64) -> i64 {
        lo
    }
    fn random_u128(&mut self) -> u128 {
        u128::MAX
    }
    fn data(&self, column: usize) -> &str {
        ["alice", "pw1"][column]
    }
    fn capture(&self, slot: usize) -> &str {
        ["captured-0", "captured-1"][slot]
    }
}

#[test]
fn data_rows_are_loaded_at_validation() {
    let source = "kind = \"smoke\"\nusers = 2\nduration = \"1s\"\n\n[data]\nfile = \"users.csv\"\nmode = \"unique-per-vu\"\n\n[[request]]\nname = \"login\"\nmethod = \"POST\"\npath = \"/login\"\njson = { user = \"${data.user}\", password = \"${data.password}\" }\n";
    let plan = load(source).unwrap();
    let data = plan.data.as_ref().unwrap();
    assert_eq!(data.columns, ["user", "password"]);
    assert_eq!(data.rows, [["alice", "pw1"], ["bob", "pw2"]]);
    assert_eq!(data.mode, DataMode::UniquePerVu);
    assert_eq!(data.row(3, 0, 0), ["bob", "pw2"]);
    assert_eq!(
        plan.requests[0].body.as_ref().unwrap().render(&mut Fixed),
        r#"{"password":"pw1","user":"alice"}"#
    );
}

#[test]
fn thresholds_lower_to_numbers_and_scopes() {
    let source = r#"kind = "smoke"
users = 1
duration = "1m"

[[request]]
name = "post event"
path = "/events"

[thresholds]
per-step = true
p95 = "< 500ms"
error-rate = "<= 1.5%"
rps = "> 100"
checks = { limit = "> 99%", warn = "> 99.9%", window = "30s", abort = true }

[thresholds.request."post event"]
p99 = "< 1s"
"#;
    let plan = load(source).unwrap();
    let t = &plan.thresholds;
    assert_eq!(t.len(), 5);
    assert_eq!(
        (
            t[0].metric,
            t[0].condition.op,
            t[0].condition.value,
            t[0].scope
        ),
        (Metric::P95, Op::Lt, 500.0, Scope::PerStep)
    );
    assert_eq!(
        (t[1].metric, t[1].condition.op, t[1].condition.value),
        (Metric::ErrorRate, Op::Le, 0.015)
    );
    assert_eq!(
        (t[2].metric, t[2].condition.op, t[2].condition.value),
        (Metric::Rps, Op::Gt, 100.0)
    );
    assert_eq!(
        (t[3].metric, t[3].live),
        (
            Metric::Checks,
            Some(LiveRule {
                window: Duration::from_secs(30),
                abort: true
            })
        )
    );
    assert!((t[3].warn.unwrap().value - 0.999).abs() < 1e-9);
    assert_eq!(
        (t[4].metric, t[4].condition.value, t[4].scope),
        (Metric::P99, 1000.0, Scope::Request(0))
    );
}

#[test]
fn secrets_never_show() {
    let source = r#"kind = "smoke"
users = 1
duration = "1m"

[[request]]
name = "a"
method = "POST"
path = "/webhooks/x"
headers = { Authorization = "Bearer plain-bearer", X-Custom = "${env:API_TOKEN}", Cookie = "sid=cookie-value" }
query = { key = "${env:API_TOKEN}" }
body = "{}"
sign = { hmac-sha256 = { secret = "${env:WEBHOOK_SECRET}" } }
"#;
    let plan = load(source).unwrap();
    let shown = format!("{}\n{plan:?}", describe(&plan));
    for secret in [
        "plain-bearer",
        "tok-123",
        "cookie-value",
        "test-webhook-secret",
    ] {
        assert!(!shown.contains(secret), "`{secret}` shown in:\n{shown}");
    }
    assert!(describe(&plan).contains("Authorization: <redacted>"));
}

#[test]
fn describe_shows_offsets_cooldowns_and_total() {
    let source = "kind = \"capacity\"\nusers = [10, 20, 40]\nhold = \"1m\"\ncooldown = \"30s\"\nramp = \"10s\"\n\n[[request]]\nname = \"h\"\npath = \"/health\"\n";
    let text = describe(&load(source).unwrap());
    let steps: Vec<&str> = text
        .lines()
        .skip_while(|l| *l != "steps")
        .skip(1)
        .take(6)
        .collect();
    assert_eq!(
        steps,
        [
            "   1. at 0s         10 users     10 users; hold 1m, ramp 10s",
            "      at 1m         cooldown 30s",
            "   2. at 1m 30s     20 users     20 users; hold 1m, ramp 10s",
            "      at 2m 30s     cooldown 30s",
            "   3. at 3m         40 users     40 users; hold 1m, ramp 10s",
            "total     4m",
        ]
    );
}

/// Every `.toml` under `dir`, recursively.
fn toml_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(toml_files(&path));
        } else if path.extension().is_some_and(|e| e == "toml") {
            found.push(path);
        }
    }
    found.sort();
    found
}

#[test]
fn every_shipped_scenario_validates() {
    let files = toml_files(&scenarios_dir());
    assert!(files.len() >= 5, "{files:?}");
    for path in &files {
        let plan = match load_file(path, &Overrides::default()) {
            Ok(plan) => plan,
            Err(diagnostics) => panic!("{} does not validate:\n{diagnostics}", path.display()),
        };
        assert!(
            !plan.steps.is_empty() && !plan.requests.is_empty(),
            "{}",
            path.display()
        );
        // The figment path (any override) must keep every value and position of the file.
        let via_figment = load_file(path, &set(&["grace=5s"]))
            .unwrap_or_else(|d| panic!("{}:\n{d}", path.display()));
        assert_eq!(
            format!("{:?}", via_figment.steps),
            format!("{:?}", plan.steps),
            "{}",
            path.display()
        );
        assert_eq!(
            via_figment.thresholds,
            plan.thresholds,
            "{}",
            path.display()
        );
        assert_eq!(via_figment.requests.len(), plan.requests.len());
    }
    for kind in ["smoke", "capacity", "throughput", "burst", "soak"] {
        let plan = load_file(
            &scenarios_dir().join(format!("{kind}.toml")),
            &Overrides::default(),
        )
        .unwrap();
        assert_eq!(plan.kind.as_str(), kind);
        assert_eq!(plan.base_url, BaseUrl::Builtin);
    }
    let _ = fake_env;
}

#[test]
fn shipped_scenarios_shrink_for_tests() {
    let short = |name: &str, sets: &[&str]| {
        load_file(&scenarios_dir().join(name), &set(sets))
            .unwrap()
            .total_duration()
    };
    assert_eq!(
        short("smoke.toml", &["duration=2s"]),
        Duration::from_secs(2)
    );
    assert_eq!(
        short(
            "capacity.toml",
            &["hold=2s", "ramp=0s", "warmup=0s", "cooldown=1s"]
        ),
        // Five steps of 2s and four cooldowns of 1s between them.
        Duration::from_secs(14)
    );
    assert_eq!(
        short("throughput.toml", &["hold=1s", "warmup=0s", "cooldown=0s"]),
        Duration::from_secs(3)
    );
    assert_eq!(
        short("burst.toml", &["before=1s", "burst-for=1s", "after=1s"]),
        Duration::from_secs(3)
    );
    assert_eq!(
        short("soak.toml", &["duration=3s", "ramp=1s", "interval=1s"]),
        Duration::from_secs(3)
    );
}

#[test]
fn soak_interval_is_the_series_bucket() {
    let plan = load_file(&scenarios_dir().join("soak.toml"), &Overrides::default()).unwrap();
    assert_eq!(
        (plan.interval, plan.series_interval),
        (Duration::from_secs(1), Duration::from_secs(60))
    );
    let drift = plan.drift.unwrap();
    assert_eq!(
        (drift.p95_growth, drift.error_rate_growth),
        (Some(0.2), Some(0.01))
    );
    let capacity = load_file(
        &scenarios_dir().join("capacity.toml"),
        &Overrides::default(),
    )
    .unwrap();
    assert_eq!(capacity.stop_when.len(), 2);
    assert_eq!(capacity.stop_when[0].0, Metric::P95);
    assert_eq!(capacity.stop_when[0].1.value, 2000.0);
}

#[test]
fn errors_helper_reports_every_problem() {
    let text =
        errors("kind = \"smoke\"\nusers = 1\nduration = \"1s\"\nramp = \"2s\"\nwarmup = \"3s\"\n");
    assert_eq!(text.matches("error: ").count(), 3, "{text}");
}

#[test]
fn knee_levels_lower_in_plain_units_and_default_to_the_heuristic() {
    let base = "kind = \"capacity\"\nusers = [10, 20]\nhold = \"1m\"\n\
                [[request]]\nname = \"health\"\npath = \"/health\"\n";
    let plan = load(base).unwrap();
    assert!(
        plan.knee_levels.is_empty(),
        "no `knee`: the heuristic decides"
    );
    assert!(describe(&plan).contains("knee      heuristic"));
    let with_levels = base.replace(
        "hold = \"1m\"\n",
        "hold = \"1m\"\nknee = { p95 = \"> 300ms\", error-rate = \"> 1%\" }\n",
    );
    let plan = load(&with_levels).unwrap();
    let levels: Vec<(Metric, Op, f64)> = plan
        .knee_levels
        .iter()
        .map(|(m, c)| (*m, c.op, c.value))
        .collect();
    assert_eq!(
        levels,
        [
            (Metric::P95, Op::Gt, 300.0),
            (Metric::ErrorRate, Op::Gt, 0.01)
        ]
    );
    assert!(
        describe(&plan)
            .contains("knee      your levels: first step where p95 > 300 ms or error-rate > 1%"),
        "{}",
        describe(&plan)
    );
}

#[test]
fn ramps_as_users_per_second_lower_to_a_time_per_step() {
    const R: &str = "[[request]]\nname = \"health\"\npath = \"/health\"\n";
    let ramps = |plan: &stampede_plan::Plan| -> Vec<Duration> {
        plan.steps.iter().map(|s| s.ramp).collect()
    };
    // Plan 003's spawn rate: each step brings its users up from zero at 20 a second.
    let capacity = load(&format!(
        "kind = \"capacity\"\nusers = [50, 100, 200]\nhold = \"1m\"\nramp = \"20/s\"\n{R}"
    ))
    .unwrap();
    assert_eq!(
        ramps(&capacity),
        [
            Duration::from_millis(2500),
            Duration::from_secs(5),
            Duration::from_secs(10)
        ]
    );
    let smoke = load(&format!(
        "kind = \"smoke\"\nusers = 10\nduration = \"30s\"\nramp = \"4/s\"\n{R}"
    ))
    .unwrap();
    assert_eq!(ramps(&smoke), [Duration::from_millis(2500)]);
    // Plan 004's S3: 50 users, then a burst to 250 at 25 users a second.
    let burst = load(&format!(
        "kind = \"burst\"\nusers = 50\nbefore = \"1m\"\nburst-users = 250\nburst-for = \"1m\"\n\
         after = \"1m\"\nramp = \"10s\"\nburst-ramp = \"25/s\"\n{R}"
    ))
    .unwrap();
    assert_eq!(
        ramps(&burst),
        [
            Duration::from_secs(10),
            Duration::from_secs(10),
            Duration::ZERO
        ]
    );
    // A rate too slow for the hold is refused as a too-long time is.
    let text = errors(&format!(
        "kind = \"capacity\"\nusers = [50, 100]\nhold = \"4s\"\nramp = \"20/s\"\n{R}"
    ));
    assert!(
        text.contains("`ramp` (5s) is longer than `hold` (4s)") && text.contains("t.toml:4:8"),
        "{text}"
    );
    let text = errors(&format!(
        "kind = \"burst\"\nusers = 5\nbefore = \"1m\"\nburst-requests = 50\nburst-for = \"1m\"\n\
         after = \"1m\"\nburst-ramp = \"5/s\"\n{R}"
    ));
    assert!(
        text.contains("`burst-ramp` brings users up: it needs `burst-users`"),
        "{text}"
    );
    let text = errors(&format!(
        "kind = \"smoke\"\nusers = 1\nduration = \"3s\"\nramp = \"0/s\"\n{R}"
    ));
    assert!(
        text.contains("invalid ramp rate \"0/s\"") && text.contains("t.toml:4:8"),
        "{text}"
    );
}
