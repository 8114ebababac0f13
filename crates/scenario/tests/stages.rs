//! `kind = "stages"`: k6's stages lowered to steps that ramp from the users before them, and a
//! bad stage pointed at by file, line and column.

mod common;

use std::time::Duration;

use common::{REQUEST, assert_exact_errors, load};
use stampede_plan::{Kind, Load};

fn stages(body: &str) -> String {
    format!("kind = \"stages\"\n{body}{REQUEST}")
}

#[test]
fn k6_stages_lower_to_steps_that_ramp_from_the_stage_before() {
    let plan = load(&stages(
        "[[stage]]\ntarget = 20\nduration = \"30s\"\n\n\
         [[stage]]\ntarget = 50\nduration = \"1m\"\n\n\
         [[stage]]\ntarget = 50\nduration = \"20s\"\n\n\
         [[stage]]\ntarget = 0\nduration = \"10s\"\n",
    ))
    .unwrap();
    assert_eq!(plan.kind, Kind::Stages);
    let got: Vec<(u32, u32, Duration, Duration, &str)> = plan
        .steps
        .iter()
        .map(|s| {
            let Load::Closed { users } = s.load else {
                panic!("a stage is closed-model: {:?}", s.load);
            };
            (s.ramp_from, users, s.ramp, s.hold, s.label.as_str())
        })
        .collect();
    let s = Duration::from_secs;
    assert_eq!(
        got,
        [
            (0, 20, s(30), s(30), "0 -> 20 users"),
            (20, 50, s(60), s(60), "20 -> 50 users"),
            (50, 50, s(0), s(20), "50 users"),
            (50, 0, s(10), s(10), "50 -> 0 users"),
        ]
    );
    assert!(plan.steps.iter().all(|s| s.cooldown.is_zero()));
    assert_eq!(plan.total_duration(), s(120));
}

#[test]
fn bad_stages_point_at_their_line_and_column() {
    assert_exact_errors(vec![
        (
            "a stage without a target",
            stages("[[stage]]\nduration = \"30s\"\n"),
            r#"error: missing key `target`: each stage needs the users it ends with
  --> t.toml:2:1
   |
 2 | [[stage]]
   | ^^^^^^^^^
   = hint: target = 20
"#,
        ),
        (
            "stages that never start a user",
            stages("[[stage]]\ntarget = 0\nduration = \"1m\"\n"),
            r#"error: every stage's `target` is 0: no user would ever start
  --> t.toml:2:1
   |
 2 | [[stage]]
   | ^^^^^^^^^
   = hint: give a stage users to ramp to: target = 20
"#,
        ),
        (
            "a stage of zero length",
            stages("[[stage]]\ntarget = 5\nduration = \"0s\"\n"),
            r#"error: a stage's `duration` must be longer than zero
  --> t.toml:4:12
   |
 4 | duration = "0s"
   |            ^^^^
"#,
        ),
        (
            "a target that is not a count",
            stages("[[stage]]\ntarget = \"200/s\"\nduration = \"1m\"\n"),
            r#"error: invalid type: string "200/s", expected u32
  --> t.toml:3:10
   |
 3 | target = "200/s"
   |          ^^^^^^^
"#,
        ),
        (
            "no stage at all",
            "kind = \"stages\"\n[[request]]\nname = \"a\"\npath = \"/\"\n".to_owned(),
            r#"error: missing key `stage`: a stages scenario needs at least one `[[stage]]`
  --> t.toml
   = hint: [[stage]]
target = 20
duration = "30s"
"#,
        ),
        (
            "a key of another kind",
            stages("users = 5\n[[stage]]\ntarget = 5\nduration = \"1m\"\n"),
            r#"error: `users` is a smoke key; this file is kind = "stages"
  --> t.toml:2:1
   |
 2 | users = 5
   | ^^^^^
   = hint: keys of a stages scenario: stage
"#,
        ),
    ]);
}
