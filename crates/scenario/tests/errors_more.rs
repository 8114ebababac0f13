//! Broken scenario files in, exact error text out, continued from `errors.rs`.

mod common;

use common::assert_exact_errors;

const R: &str = "[[request]]\nname = \"health\"\npath = \"/health\"\n";

/// (what is wrong, the file, the whole rendered error text)
fn cases() -> Vec<(&'static str, String, &'static str)> {
    let smoke = |body: &str| format!("kind = \"smoke\"\nusers = 2\nduration = \"10s\"\n{body}");
    let smoke_r =
        |body: &str| format!("kind = \"smoke\"\nusers = 2\nduration = \"10s\"\n{body}\n{R}");
    vec![
        (
            "unterminated variable",
            smoke("[[request]]\nname = \"a\"\npath = \"/a/${vu\"\n"),
            r#"error: unterminated `${` in template
  --> t.toml:6:12
   |
 6 | path = "/a/${vu"
   |            ^^^^
   = hint: close it with `}`, or write `$${` for a literal `${`
"#,
        ),
        (
            "bad rand range",
            smoke("[[request]]\nname = \"a\"\npath = \"/a/${rand:9..1}\"\n"),
            r#"error: invalid `${rand:9..1}`
  --> t.toml:6:12
   |
 6 | path = "/a/${rand:9..1}"
   |            ^^^^^^^^^^^^
   = hint: write `${rand:LO..HI}` with whole numbers LO <= HI, like `${rand:1..100}`
"#,
        ),
        (
            "malformed think range",
            smoke_r("\n[defaults]\nthink = \"100ms..\""),
            r#"error: invalid think range "100ms..": empty duration: expected something like "30s"
  --> t.toml:6:9
   |
 6 | think = "100ms.."
   |         ^^^^^^^^^
   = hint: think = "500ms", or a range think = "100ms..2s"
"#,
        ),
        (
            "think range upside down",
            smoke("[[request]]\nname = \"a\"\npath = \"/a\"\nthink = \"2s..100ms\"\n"),
            r#"error: invalid think range "2s..100ms": the low end is above the high end
  --> t.toml:7:9
   |
 7 | think = "2s..100ms"
   |         ^^^^^^^^^^^
   = hint: think = "500ms", or a range think = "100ms..2s"
"#,
        ),
        (
            "condition without operator",
            smoke_r("\n[thresholds]\np95 = \"500ms\""),
            r#"error: invalid condition "500ms": it must start with <, <=, >, >= or ==
  --> t.toml:6:7
   |
 6 | p95 = "500ms"
   |       ^^^^^^^
   = hint: p95 = "< 500ms"
"#,
        ),
        (
            "latency without unit",
            smoke_r("\n[thresholds]\np99 = \"< 500\""),
            r#"error: invalid condition "< 500": a latency needs a unit, like "< 500ms"
  --> t.toml:6:7
   |
 6 | p99 = "< 500"
   |       ^^^^^^^
   = hint: p99 = "< 500ms"
"#,
        ),
        (
            "rate without percent",
            smoke_r("\n[thresholds]\nerror-rate = \"< 1\""),
            r#"error: invalid condition "< 1": expected a percentage like "1%", not "1"
  --> t.toml:6:14
   |
 6 | error-rate = "< 1"
   |              ^^^^^
   = hint: error-rate = "< 1%"
"#,
        ),
        (
            "non-loopback base-url",
            format!(
                "kind = \"smoke\"\nbase-url = \"http://example.com:8080\"\nusers = 1\nduration = \"1s\"\n{R}"
            ),
            r#"error: base-url host `example.com` is not a loopback address
  --> t.toml:2:12
   |
 2 | base-url = "http://example.com:8080"
   |            ^^^^^^^^^^^^^^^^^^^^^^^^^
   = hint: stampede only aims at 127.0.0.0/8, ::1 or localhost unless told otherwise; if you own that server, set `allow-remote = true` in the file or pass --allow-remote
"#,
        ),
        (
            "tls on a plain base-url",
            format!(
                "kind = \"smoke\"\nbase-url = \"http://127.0.0.1\"\ntls = {{ insecure = true }}\nusers = 1\nduration = \"1s\"\n{R}"
            ),
            r#"error: `[tls]` applies only to an https:// base-url
  --> t.toml:3:7
   |
 3 | tls = { insecure = true }
   |       ^^^^^^^^^^^^^^^^^^^
   = hint: base-url = "https://127.0.0.1:8443", or remove [tls]
"#,
        ),
        (
            "absolute url on the builtin target",
            smoke("[[request]]\nname = \"a\"\nurl = \"http://127.0.0.1:9/a\"\n"),
            r#"error: `url` cannot point at the builtin target, whose port is chosen at run time
  --> t.toml:6:7
   |
 6 | url = "http://127.0.0.1:9/a"
   |       ^^^^^^^^^^^^^^^^^^^^^^
   = hint: use `path` instead
"#,
        ),
        (
            "unknown key in a request",
            smoke("[[request]]\nname = \"a\"\nmethd = \"POST\"\npath = \"/a\"\n"),
            r#"error: unknown key `methd`
  --> t.toml:6:1
   |
 6 | methd = "POST"
   | ^^^^^
   = hint: did you mean `method`?
"#,
        ),
        (
            "request without path",
            smoke("[[request]]\nname = \"a\"\n"),
            r#"error: request `a` has no `path`
  --> t.toml:4:1
   |
 4 | [[request]]
   | ^^^^^^^^^^^
   = hint: path = "/health" (relative to base-url), or an absolute `url`
"#,
        ),
        (
            "bad status codes",
            smoke("[[request]]\nname = \"a\"\npath = \"/a\"\nexpect = [200, 999, \"6xx\"]\n"),
            r#"error: `999` is not an HTTP status code (100 to 599)
  --> t.toml:7:16
   |
 7 | expect = [200, 999, "6xx"]
   |                ^^^

error: `6xx` is not a status code or class
  --> t.toml:7:21
   |
 7 | expect = [200, 999, "6xx"]
   |                     ^^^^^
   = hint: write 200, or a class like "2xx"
"#,
        ),
        (
            "bad capture",
            smoke(
                "[[request]]\nname = \"a\"\npath = \"/a\"\ncapture = { token = \"body:/token\" }\n",
            ),
            r#"error: invalid capture `body:/token`
  --> t.toml:7:21
   |
 7 | capture = { token = "body:/token" }
   |                     ^^^^^^^^^^^^^
   = hint: "json:/token" (a JSON pointer into the body) or "header:ETag"
"#,
        ),
        (
            "unknown data mode",
            smoke_r("\n[data]\nfile = \"users.csv\"\nmode = \"shuffled\""),
            r#"error: unknown value `shuffled`, expected one of `sequential`, `random`, `unique-per-vu`
  --> t.toml:7:8
   |
 7 | mode = "shuffled"
   |        ^^^^^^^^^^
"#,
        ),
        (
            "rates and users together",
            format!("kind = \"throughput\"\nrates = [10]\nusers = 5\nhold = \"1m\"\n{R}"),
            r#"error: a throughput scenario takes `rates` or `users`, not both
  --> t.toml:3:9
   |
 3 | users = 5
   |         ^
   = hint: rates = [..] is an open model; users = N with think = [..] a closed one
"#,
        ),
        (
            "burst without a burst",
            format!(
                "kind = \"burst\"\nusers = 5\nbefore = \"10s\"\nburst-for = \"5s\"\nafter = \"10s\"\n{R}"
            ),
            r#"error: missing key `burst-users`: a burst scenario needs `burst-users`, `burst-rate` or `burst-requests`
  --> t.toml
   = hint: burst-users = 250, or burst-requests = 50 fired at once
"#,
        ),
        (
            "abort without window",
            smoke_r("\n[thresholds]\np95 = { limit = \"< 1s\", abort = true }"),
            r#"error: `abort` needs a `window` to judge while the run goes on
  --> t.toml:6:33
   |
 6 | p95 = { limit = "< 1s", abort = true }
   |                                 ^^^^
   = hint: { limit = "< 2s", window = "30s", abort = true }
"#,
        ),
        (
            "every problem at once",
            String::from(
                "kind = \"capacity\"\nusers = [10]\nhold = \"10s\"\nramp = \"20s\"\nwarmup = \"15s\"\n\n[[request]]\nname = \"a\"\npath = \"a\"\n\n[[request]]\nname = \"a\"\npath = \"/${nope}\"\n",
            ),
            r#"error: `ramp` (20s) is longer than `hold` (10s)
  --> t.toml:4:8
   |
 4 | ramp = "20s"
   |        ^^^^^
   = hint: the ramp happens inside `hold`; make `hold` longer or `ramp` shorter

error: `warmup` (15s) is longer than `hold` (10s)
  --> t.toml:5:10
   |
 5 | warmup = "15s"
   |          ^^^^^
   = hint: the warmup happens inside `hold`; make `hold` longer or `warmup` shorter

error: path `a` does not start with `/`
  --> t.toml:9:8
   |
 9 | path = "a"
   |        ^^^
   = hint: path = "/a"

error: duplicate request name `a`
   --> t.toml:12:8
    |
 12 | name = "a"
    |        ^^^
    = hint: first used on line 8; names must be unique

error: unknown variable `${nope}`
   --> t.toml:13:10
    |
 13 | path = "/${nope}"
    |          ^^^^^^^
    = hint: variables: uuid, seq, run_seq, vu, iteration, now_ms, rand:LO..HI, env:NAME, data.COLUMN, or a name captured by a request
"#,
        ),
        (
            "monitor: pid and pid-file",
            smoke_r("[monitor]\npid = 42\npid-file = \"app.pid\""),
            r#"error: `pid` and `pid-file` both name the process to watch
  --> t.toml:6:12
   |
 6 | pid-file = "app.pid"
   |            ^^^^^^^^^
   = hint: keep one of them
"#,
        ),
        (
            "monitor: remote metrics-url",
            smoke_r("[monitor]\nmetrics-url = \"http://10.0.0.5:9100/metrics\""),
            r#"error: metrics-url host `10.0.0.5` is not a loopback address
  --> t.toml:5:15
   |
 5 | metrics-url = "http://10.0.0.5:9100/metrics"
   |               ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
   = hint: stampede only aims at 127.0.0.0/8, ::1 or localhost unless told otherwise; if you own that server, set `allow-remote = true` in the file or pass --allow-remote
"#,
        ),
        (
            "monitor: watches nothing",
            format!(
                "kind = \"smoke\"\nbase-url = \"http://127.0.0.1:8080\"\nusers = 2\nduration = \"10s\"\n[monitor]\ncpu = {{ stop = \"80%\" }}\n{R}"
            ),
            r#"error: [monitor] watches nothing: give `pid`, `pid-file` or `metrics-url`
  --> t.toml:5:1
   |
 5 | [monitor]
   | ^^^^^^^^^
   = hint: pid-file = "/run/app.pid" or metrics-url = "http://127.0.0.1:9100/metrics" (the builtin target is watched without them)
"#,
        ),
        (
            "monitor: bad limits",
            smoke_r(
                "[monitor]\npid = 42\ncpu = { warn = \"90%\", stop = \"80\" }\nrss = { warn = \"2GB\", stop = \"1.8GB\" }",
            ),
            r#"error: invalid CPU limit "80": expected a percentage above 0, like "80%"
  --> t.toml:6:30
   |
 6 | cpu = { warn = "90%", stop = "80" }
   |                              ^^^^
   = hint: cpu = { warn = "70%", stop = "80%" } (100% is one core)

error: `rss` warns at 2 GB but stops at 1.8 GB: the warning would never come first
  --> t.toml:7:16
   |
 7 | rss = { warn = "2GB", stop = "1.8GB" }
   |                ^^^^^
   = hint: make `warn` lower than `stop`
"#,
        ),
        (
            "monitor: empty limit, series without metrics-url",
            smoke_r("[monitor]\npid = 42\nrss = {}\nseries = { rss = \"my rss\" }"),
            r#"error: `rss` has neither `warn` nor `stop`
  --> t.toml:6:7
   |
 6 | rss = {}
   |       ^^
   = hint: rss = { warn = "1.6GB", stop = "1.8GB" }

error: `series` names what to read from `metrics-url`, which is not set
  --> t.toml:7:10
   |
 7 | series = { rss = "my rss" }
   |          ^^^^^^^^^^^^^^^^^^
   = hint: metrics-url = "http://127.0.0.1:9100/metrics"

error: `my rss` is not a series name
  --> t.toml:7:18
   |
 7 | series = { rss = "my rss" }
   |                  ^^^^^^^^
"#,
        ),
        (
            "monitor: unknown key",
            smoke_r("[monitor]\npid = 42\nmemory = { stop = \"1GB\" }"),
            r#"error: unknown key `memory`
  --> t.toml:6:1
   |
 6 | memory = { stop = "1GB" }
   | ^^^^^^
   = hint: expected one of: name, pid, pid-file, metrics-url, series, cpu, rss, required
"#,
        ),
        (
            "smoke without duration",
            format!("kind = \"smoke\"\nusers = 1\n{R}"),
            r#"error: missing key `duration`: a smoke scenario needs it (or `iterations`)
  --> t.toml
   = hint: duration = "30s", or iterations = 100 per user
"#,
        ),
    ]
}

#[test]
fn broken_files_give_exact_errors() {
    assert_exact_errors(cases());
}
