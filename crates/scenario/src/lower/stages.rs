//! `kind = "stages"`: k6's stages as steps. Each `[[stage]]` is one step that ramps linearly
//! from the users the stage before left (zero for the first) to its `target` over its
//! `duration`, so `30s to 20, 1m to 50, 10s to 0` runs as k6 runs it.

use std::ops::Range;
use std::time::Duration;

use crate::file::StagesKeys;
use crate::limits::{MAX_STEPS, MAX_USERS};
use stampede_plan::{Load, Step};

use super::Lowerer;
use super::kinds::step;

const EXAMPLE: &str = "[[stage]]\ntarget = 20\nduration = \"30s\"";

impl Lowerer<'_> {
    pub(super) fn stages(&mut self, keys: StagesKeys) -> Vec<Step> {
        let Some(stages) = &keys.stage else {
            self.sink.file_error(
                "missing key `stage`: a stages scenario needs at least one `[[stage]]`",
                Some(EXAMPLE.to_owned()),
            );
            return Vec::new();
        };
        if stages.is_empty() {
            self.sink
                .hint(stages.span.clone(), "`stage` is empty", EXAMPLE);
        }
        if stages.len() > MAX_STEPS {
            self.sink.hint(
                stages.span.clone(),
                format!(
                    "`stage` makes {} steps, more than {MAX_STEPS}",
                    stages.len()
                ),
                "fewer, longer stages",
            );
        }
        let mut from = 0;
        let mut steps = Vec::with_capacity(stages.len().min(MAX_STEPS));
        for stage in stages.iter() {
            let target = self.stage_target(&stage.target, &stage.span);
            let hold = self.stage_duration(&stage.duration, &stage.span);
            let label = if from == target {
                format!("{target} users")
            } else {
                format!("{from} -> {target} users")
            };
            let mut s = step(label, Load::Closed { users: target }, hold);
            if from != target {
                s.ramp = hold;
            }
            s.ramp_from = from;
            steps.push(s);
            from = target;
        }
        let targets_given = stages.iter().all(|s| s.target.is_some());
        if targets_given && !stages.is_empty() && steps.iter().all(|s| s.load.max_users() == 0) {
            self.sink.hint(
                stages.span.clone(),
                "every stage's `target` is 0: no user would ever start",
                "give a stage users to ramp to: target = 20",
            );
        }
        steps
    }

    fn stage_target(
        &mut self,
        target: &Option<crate::spanned::Spanned<u32>>,
        stage: &Range<usize>,
    ) -> u32 {
        let Some(target) = target else {
            self.sink.hint(
                stage.clone(),
                "missing key `target`: each stage needs the users it ends with",
                "target = 20",
            );
            return 0;
        };
        if target.value > MAX_USERS {
            self.sink.hint(
                target.span.clone(),
                format!(
                    "`target` is {}, more than the most stampede runs, {MAX_USERS}",
                    target.value
                ),
                "each user is a connection and a task; split the load over several machines",
            );
        }
        target.value.min(MAX_USERS)
    }

    fn stage_duration(
        &mut self,
        duration: &Option<crate::spanned::Spanned<crate::types::Dur>>,
        stage: &Range<usize>,
    ) -> Duration {
        match duration {
            None => {
                self.sink.hint(
                    stage.clone(),
                    "missing key `duration`: each stage needs how long it lasts",
                    "duration = \"30s\"",
                );
                Duration::from_secs(1)
            }
            Some(d) if d.0.is_zero() => {
                self.sink.error(
                    d.span.clone(),
                    "a stage's `duration` must be longer than zero",
                );
                Duration::from_secs(1)
            }
            Some(d) => d.0,
        }
    }
}
