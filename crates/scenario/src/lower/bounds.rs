//! Every number of a kind's keys held to what the engine can do ([`crate::limits`]): users,
//! rates, step counts and the planned length; a capacity sweep that goes up; and the warm-up,
//! by time or by count, with a warning when it can swallow an iteration-bounded run.

use std::ops::Range;
use std::time::Duration;

use crate::limits::{self, MAX_BACKLOG, MAX_RATE_PER_S, MAX_STEPS, MAX_USERS, MIN_RATE_PER_S};
use crate::spanned::Spanned;
use crate::types::{Count, Dur, Positive, Warmup};
use stampede_plan::Plan;

use super::Lowerer;
use super::kinds::Specific;

type C = Option<Spanned<Count>>;

impl Lowerer<'_> {
    /// Checks the numbers of a kind's keys; returns where the run's length is set, for a
    /// message about the whole run.
    pub(super) fn bounds(&mut self, specific: &Specific) -> Option<Range<usize>> {
        match specific {
            Specific::Smoke(k) => {
                self.at_most(&k.users, "users", MAX_USERS);
                span(&k.duration)
            }
            Specific::Capacity(k) => {
                if let Some(users) = &k.users {
                    self.steps_at_most(users.len(), &users.span, "users");
                    let mut previous: Option<u32> = None;
                    for count in users.iter() {
                        self.at_most(&Some(count.clone()), "users", MAX_USERS);
                        if let Some(before) = previous.filter(|&p| count.0 <= p) {
                            self.sink.hint(
                                count.span.clone(),
                                format!("`users` must go up step by step: {} comes after {before}", count.0),
                                "users = [50, 100, 200]: a sweep goes up, one step per count, to find the knee",
                            );
                        }
                        previous = Some(count.0);
                    }
                }
                span(&k.hold)
            }
            Specific::Throughput(k) => {
                if let Some(rates) = &k.rates {
                    self.steps_at_most(rates.len(), &rates.span, "rates");
                    for rate in rates.iter() {
                        self.rate(rate, "rates");
                    }
                }
                if let Some(think) = &k.think {
                    self.steps_at_most(think.len(), &think.span, "think");
                }
                self.at_most(&k.users, "users", MAX_USERS);
                self.at_most(&k.max_users, "max-users", MAX_USERS);
                self.at_most(&k.max_backlog, "max-backlog", MAX_BACKLOG);
                span(&k.hold)
            }
            Specific::Burst(k) => {
                for (value, key) in [
                    (&k.users, "users"),
                    (&k.burst_users, "burst-users"),
                    (&k.burst_requests, "burst-requests"),
                    (&k.max_users, "max-users"),
                ] {
                    self.at_most(value, key, MAX_USERS);
                }
                self.at_most(&k.max_backlog, "max-backlog", MAX_BACKLOG);
                for (rate, key) in [(&k.rate, "rate"), (&k.burst_rate, "burst-rate")] {
                    if let Some(rate) = rate {
                        self.rate(rate, key);
                    }
                }
                span(&k.before)
            }
            Specific::Soak(k) => {
                self.at_most(&k.users, "users", MAX_USERS);
                self.at_most(&k.max_users, "max-users", MAX_USERS);
                self.at_most(&k.max_backlog, "max-backlog", MAX_BACKLOG);
                if let Some(rate) = &k.rate {
                    self.rate(rate, "rate");
                }
                span(&k.duration)
            }
            // Each stage's numbers are checked where it is lowered.
            Specific::Stages(k) => k.stage.as_ref().map(|s| s.span.clone()),
        }
    }

    /// The whole planned run, every step and cooldown, within [`limits::MAX_RUN`].
    pub(super) fn run_length(&mut self, plan: &Plan, span: Option<Range<usize>>) {
        let total = plan.total_duration();
        if total <= limits::MAX_RUN {
            return;
        }
        let message = format!(
            "the planned run is {}, longer than the most stampede plans, {}",
            limits::show(total.min(Duration::from_secs(u64::MAX / 2))),
            limits::show(limits::MAX_RUN)
        );
        let hint = "fewer steps, or shorter holds and cooldowns".to_owned();
        match span {
            Some(span) => self.sink.hint(span, message, hint),
            None => self.sink.file_error(message, Some(hint)),
        }
    }

    fn at_most(&mut self, value: &C, key: &str, max: u32) {
        if let Some(value) = value.as_ref().filter(|v| v.0 > max) {
            self.sink.hint(
                value.span.clone(),
                format!(
                    "`{key}` is {}, more than the most stampede runs, {max}",
                    value.0
                ),
                "each user is a connection and a task; split the load over several machines",
            );
        }
    }

    fn steps_at_most(&mut self, len: usize, span: &Range<usize>, key: &str) {
        if len > MAX_STEPS {
            self.sink.hint(
                span.clone(),
                format!("`{key}` makes {len} steps, more than {MAX_STEPS}"),
                "sweep in coarser steps",
            );
        }
    }

    fn rate(&mut self, rate: &Spanned<Positive>, key: &str) {
        if !(MIN_RATE_PER_S..=MAX_RATE_PER_S).contains(&rate.0) {
            self.sink.hint(
                rate.span.clone(),
                format!(
                    "`{key}` {}/s is outside what one generator can schedule, {MIN_RATE_PER_S}/s to {MAX_RATE_PER_S}/s",
                    rate.0
                ),
                "above a million a second the period between arrivals rounds towards nothing; \
                 split the load over several machines",
            );
        }
    }

    /// A warm-up by time (inside `hold`, as `ramp` is) or by count: the time, and the count.
    pub(super) fn warmup(
        &mut self,
        value: &Option<Spanned<Warmup>>,
        hold: Duration,
        hold_key: &str,
    ) -> (Duration, u64) {
        match value.as_ref().map(|w| (w.span.clone(), w.value)) {
            None => (Duration::ZERO, 0),
            Some((span, Warmup::Time(time))) => {
                let time = Some(Spanned::new(span, Dur(time)));
                (self.within(&time, "warmup", hold, hold_key), 0)
            }
            Some((_, Warmup::Requests(count))) => (Duration::ZERO, count),
        }
    }

    /// A smoke run bounded by `iterations` can end inside its warm-up: then nothing is
    /// measured. A warning, since the run itself is sound.
    pub(super) fn warn_swallowed(
        &mut self,
        warmup: &Option<Spanned<Warmup>>,
        users: u32,
        iterations: u64,
        requests_per_iteration: u64,
    ) {
        let Some(warmup) = warmup else {
            return;
        };
        let total = u64::from(users)
            .saturating_mul(iterations)
            .saturating_mul(requests_per_iteration);
        match warmup.value {
            Warmup::Time(_) => self.sink.warn(
                warmup.span.clone(),
                "a warm-up by time can swallow a run bounded by `iterations`: a fast target \
                 finishes them all inside it, leaving nothing measured",
                "warm up by count instead: warmup = 200 leaves out the first 200 requests",
            ),
            Warmup::Requests(count) if count >= total => self.sink.warn(
                warmup.span.clone(),
                format!(
                    "the warm-up of {count} requests swallows the whole run ({users} users x \
                     {iterations} iterations = {total} requests): nothing would be measured"
                ),
                "raise `iterations`, or warm up by fewer requests",
            ),
            Warmup::Requests(_) => {}
        }
    }
}

fn span<T>(value: &Option<Spanned<T>>) -> Option<Range<usize>> {
    value.as_ref().map(|v| v.span.clone())
}
