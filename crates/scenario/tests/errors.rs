//! Broken scenario files in, exact error text out: every message, position and hint (the
//! file's structure and common keys; the rest in `errors_more.rs`).

mod common;

use common::assert_exact_errors;

const R: &str = "[[request]]\nname = \"health\"\npath = \"/health\"\n";

/// (what is wrong, the file, the whole rendered error text)
fn cases() -> Vec<(&'static str, String, &'static str)> {
    let smoke = |body: &str| format!("kind = \"smoke\"\nusers = 2\nduration = \"10s\"\n{body}");
    let smoke_r =
        |body: &str| format!("kind = \"smoke\"\nusers = 2\nduration = \"10s\"\n{body}\n{R}");
    let capacity = |body: &str| format!("kind = \"capacity\"\n{body}\n{R}");
    vec![
        (
            "toml syntax",
            "kind = \"smoke\"\nusers = \n".into(),
            r#"error: string values must be quoted, expected literal string
  --> t.toml:2:9
   |
 2 | users = 
   |         ^
"#,
        ),
        (
            "missing kind",
            format!("users = 1\n{R}"),
            r#"error: missing key `kind`
  --> t.toml
   = hint: start the file with `kind = "smoke"` (or capacity, throughput, burst, soak, stages)
"#,
        ),
        (
            "unknown kind",
            format!("kind = \"smok\"\n{R}"),
            r#"error: unknown kind `smok`
  --> t.toml:1:8
   |
 1 | kind = "smok"
   |        ^^^^^^
   = hint: did you mean `smoke`?
"#,
        ),
        (
            "wrong type",
            format!("kind = \"smoke\"\nusers = \"ten\"\nduration = \"1s\"\n{R}"),
            r#"error: invalid type: string "ten", expected a positive integer
  --> t.toml:2:9
   |
 2 | users = "ten"
   |         ^^^^^
"#,
        ),
        (
            "zero users",
            format!("kind = \"smoke\"\nusers = 0\nduration = \"1s\"\n{R}"),
            r#"error: invalid value: integer `0`, expected a positive integer
  --> t.toml:2:9
   |
 2 | users = 0
   |         ^
"#,
        ),
        (
            "zero in a capacity list",
            capacity("users = [10, 0]\nhold = \"1m\""),
            r#"error: invalid value: integer `0`, expected a positive integer
  --> t.toml:2:14
   |
 2 | users = [10, 0]
   |              ^
"#,
        ),
        (
            "typo with suggestion",
            smoke_r("dration = \"30s\""),
            r#"error: unknown key `dration`
  --> t.toml:4:1
   |
 4 | dration = "30s"
   | ^^^^^^^
   = hint: did you mean `duration`?
"#,
        ),
        (
            "another kind's key",
            capacity("users = [10]\nhold = \"1m\"\nrates = [100]"),
            r#"error: `rates` is a throughput key; this file is kind = "capacity"
  --> t.toml:4:1
   |
 4 | rates = [100]
   | ^^^^^
   = hint: keys of a capacity scenario: ceiling-factor, cooldown, hold, knee, ramp, ramp-down, stop-when, users, warmup
"#,
        ),
        (
            "an unknown metric in knee",
            capacity("users = [10]\nhold = \"1m\"\nknee = { p59 = \"> 300ms\" }"),
            r#"error: unknown key `p59`
  --> t.toml:4:10
   |
 4 | knee = { p59 = "> 300ms" }
   |          ^^^
   = hint: did you mean `p50`?
"#,
        ),
        (
            "a knee level that is not a condition",
            capacity("users = [10]\nhold = \"1m\"\nknee = { error-rate = \"1%\" }"),
            r#"error: invalid condition "1%": it must start with <, <=, >, >= or ==
  --> t.toml:4:23
   |
 4 | knee = { error-rate = "1%" }
   |                       ^^^^
   = hint: error-rate = "< 1%"
"#,
        ),
        (
            "capacity users in a smoke file",
            format!("kind = \"smoke\"\nusers = [50, 100]\nduration = \"1s\"\n{R}"),
            r#"error: `users = [..]` is a capacity key; this file is kind = "smoke"
  --> t.toml:2:9
   |
 2 | users = [50, 100]
   |         ^^^^^^^^^
   = hint: give one number, users = 10, or make it kind = "capacity"
"#,
        ),
        (
            "capacity users as one number",
            capacity("users = 10\nhold = \"1m\""),
            r#"error: `users` in a capacity scenario is a list of user counts, one step each
  --> t.toml:2:9
   |
 2 | users = 10
   |         ^^
   = hint: users = [10]
"#,
        ),
        (
            "duration without unit",
            smoke_r("ramp = \"30\""),
            r#"error: invalid duration "30": a number needs a unit, expected something like "30s" or "5m"
  --> t.toml:4:8
   |
 4 | ramp = "30"
   |        ^^^^
"#,
        ),
        (
            "duration with unknown unit",
            capacity("users = [1]\nhold = \"3 fortnights\""),
            r#"error: invalid duration "3 fortnights": unknown unit `fortnights` (use ms, s, m, h), expected something like "30s" or "5m"
  --> t.toml:3:8
   |
 3 | hold = "3 fortnights"
   |        ^^^^^^^^^^^^^^
"#,
        ),
        (
            "ramp longer than hold",
            capacity("users = [1]\nhold = \"30s\"\nramp = \"1m\""),
            r#"error: `ramp` (1m) is longer than `hold` (30s)
  --> t.toml:4:8
   |
 4 | ramp = "1m"
   |        ^^^^
   = hint: the ramp happens inside `hold`; make `hold` longer or `ramp` shorter
"#,
        ),
        (
            "warmup longer than duration",
            smoke_r("warmup = \"20s\""),
            r#"error: `warmup` (20s) is longer than `duration` (10s)
  --> t.toml:4:10
   |
 4 | warmup = "20s"
   |          ^^^^^
   = hint: the warmup happens inside `duration`; make `duration` longer or `warmup` shorter
"#,
        ),
        (
            "no requests",
            smoke(""),
            r#"error: no requests: a scenario needs at least one [[request]]
  --> t.toml
   = hint: add one:

  [[request]]
  name = "health"
  path = "/health"
"#,
        ),
        (
            "duplicate request names",
            smoke_r(&format!("\n{R}")),
            r#"error: duplicate request name `health`
   --> t.toml:10:8
    |
 10 | name = "health"
    |        ^^^^^^^^
    = hint: first used on line 6; names must be unique
"#,
        ),
        (
            "unknown request in a flow",
            smoke_r("\n[[flow]]\nname = \"f\"\nsteps = [\"helth\"]"),
            r#"error: unknown request `helth` in flow `f`
  --> t.toml:7:10
   |
 7 | steps = ["helth"]
   |          ^^^^^^^
   = hint: did you mean `health`?
"#,
        ),
        (
            "unknown request in setup",
            smoke_r("\n[setup]\nrequests = [\"login\"]"),
            r#"error: unknown request `login` in [setup]
  --> t.toml:6:13
   |
 6 | requests = ["login"]
   |             ^^^^^^^
   = hint: requests: health
"#,
        ),
        (
            "threshold on a missing request",
            smoke_r("\n[thresholds.request.\"post event\"]\np95 = \"< 100ms\""),
            r#"error: unknown request `post event` in [thresholds.request]
  --> t.toml:5:21
   |
 5 | [thresholds.request."post event"]
   |                     ^^^^^^^^^^^^
   = hint: requests: health
"#,
        ),
        (
            "missing env variable",
            smoke(
                "[[request]]\nname = \"a\"\npath = \"/a\"\nheaders = { X-Token = \"${env:NOPE}\" }\n",
            ),
            r#"error: environment variable `NOPE` is not set
  --> t.toml:7:24
   |
 7 | headers = { X-Token = "${env:NOPE}" }
   |                        ^^^^^^^^^^^
   = hint: set it, or give a default: `${env:NOPE:-value}`
"#,
        ),
        (
            "missing csv file",
            smoke_r("\n[data]\nfile = \"nope.csv\""),
            r#"error: data file `nope.csv` not found
  --> t.toml:6:8
   |
 6 | file = "nope.csv"
   |        ^^^^^^^^^^
   = hint: the path is relative to the scenario file
"#,
        ),
        (
            "missing csv column",
            smoke(
                "[data]\nfile = \"users.csv\"\n\n[[request]]\nname = \"a\"\npath = \"/u/${data.usr}\"\n",
            ),
            r#"error: no column `usr` in users.csv
  --> t.toml:9:12
   |
 9 | path = "/u/${data.usr}"
   |            ^^^^^^^^^^^
   = hint: did you mean `user`?
"#,
        ),
        (
            "data variable without [data]",
            smoke("[[request]]\nname = \"a\"\npath = \"/u/${data.user}\"\n"),
            r#"error: `${data.user}` needs a [data] table
  --> t.toml:6:12
   |
 6 | path = "/u/${data.user}"
   |            ^^^^^^^^^^^^
   = hint: add [data] with file = "users.csv"
"#,
        ),
        (
            "unknown variable near a capture",
            smoke(
                "[[request]]\nname = \"login\"\npath = \"/login\"\ncapture = { token = \"json:/token\" }\n\n[[request]]\nname = \"b\"\npath = \"/b\"\nheaders = { Authorization = \"Bearer ${tokn}\" }\n",
            ),
            r#"error: unknown variable `${tokn}`
   --> t.toml:12:37
    |
 12 | headers = { Authorization = "Bearer ${tokn}" }
    |                                     ^^^^^^^
    = hint: did you mean `token`?
"#,
        ),
    ]
}

#[test]
fn broken_files_give_exact_errors() {
    assert_exact_errors(cases());
}
