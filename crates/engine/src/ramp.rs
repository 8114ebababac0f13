//! When each closed-model user of a step arrives and leaves: the step's ramp (up from zero, or
//! from the users a stage continues with, or down to fewer) and its ramp-down at the end.
//!
//! Users are numbered run-wide, so every load thread computes the same timeline for its share
//! and together they follow the plan's user count.

use std::time::Duration;

use stampede_plan::{Load, Step};

/// When one user starts and, if it leaves before the step ends, when it leaves; both from the
/// step's start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct UserTiming {
    pub(crate) arrive: Duration,
    pub(crate) leave: Option<Duration>,
}

/// How many users a closed step runs at some point: its count, or more while it ramps down
/// from a previous stage's.
pub(crate) fn closed_users(step: &Step) -> u32 {
    match step.load {
        Load::Closed { users } => users.max(step.ramp_from),
        _ => 0,
    }
}

/// The timing of run-wide user `global` of a closed step of `users` users.
///
/// From `ramp_from` up to `users`, user `g` arrives at `ramp * (g - from) / (users - from)`:
/// the count rises linearly (from zero, user g of n at `ramp * g / n`). Down from `ramp_from`
/// to `users`, every user starts at once and the extra ones leave evenly over the ramp, the
/// last to arrive first, so the count falls linearly to `users` at the end of the ramp. A
/// ramp-down at the end of the hold takes users down to zero the same way.
pub(crate) fn closed_timing(step: &Step, users: u32, global: u32) -> UserTiming {
    let from = step.ramp_from;
    let share = |span: Duration, part: u32, whole: u32| {
        span.mul_f64(f64::from(part) / f64::from(whole.max(1)))
    };
    let (arrive, mut leave) = if global < from.min(users) {
        (Duration::ZERO, None)
    } else if users > from {
        (share(step.ramp, global - from, users - from), None)
    } else {
        (
            Duration::ZERO,
            Some(share(step.ramp, from - global, from - users)),
        )
    };
    if !step.ramp_down.is_zero() {
        let total = users.max(from);
        let early = share(step.ramp_down, global + 1, total);
        let end = step.hold.saturating_sub(early);
        leave = Some(leave.map_or(end, |at| at.min(end)));
    }
    UserTiming { arrive, leave }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(from: u32, users: u32, ramp: u64) -> Step {
        Step {
            label: String::new(),
            load: Load::Closed { users },
            ramp: Duration::from_secs(ramp),
            ramp_from: from,
            ramp_down: Duration::ZERO,
            warmup: Duration::ZERO,
            hold: Duration::from_secs(ramp.max(1)),
            cooldown: Duration::ZERO,
            think: None,
            iterations_per_user: None,
        }
    }

    /// Users running at `at`, as the shard would have them.
    fn running(step: &Step, at: Duration) -> u32 {
        let Load::Closed { users } = step.load else {
            return 0;
        };
        (0..closed_users(step))
            .map(|g| closed_timing(step, users, g))
            .filter(|t| t.arrive <= at && t.leave.is_none_or(|l| l > at))
            .count() as u32
    }

    #[test]
    fn from_zero_is_the_ramp_it_always_was() {
        let up = step(0, 10, 10);
        for g in 0..10 {
            let t = closed_timing(&up, 10, g);
            assert_eq!(t.arrive, Duration::from_secs(u64::from(g)));
            assert_eq!(t.leave, None);
        }
    }

    #[test]
    fn a_stage_up_keeps_the_users_it_had_and_adds_the_rest_linearly() {
        let up = step(20, 50, 30);
        assert_eq!(running(&up, Duration::ZERO), 21);
        assert_eq!(running(&up, Duration::from_secs(15)), 36);
        assert_eq!(running(&up, Duration::from_secs(30)), 50);
    }

    #[test]
    fn a_stage_down_lets_the_extra_users_leave_linearly() {
        let down = step(50, 10, 10);
        assert_eq!(closed_users(&down), 50);
        assert_eq!(running(&down, Duration::ZERO), 50);
        assert_eq!(running(&down, Duration::from_secs(5)), 30);
        assert_eq!(running(&down, Duration::from_millis(9_999)), 11);
        let to_zero = step(50, 0, 10);
        assert_eq!(running(&to_zero, Duration::from_secs(10)), 0);
    }

    #[test]
    fn a_hold_stage_changes_nothing() {
        let hold = step(50, 50, 60);
        for s in [0, 30, 59] {
            assert_eq!(running(&hold, Duration::from_secs(s)), 50);
        }
    }
}
