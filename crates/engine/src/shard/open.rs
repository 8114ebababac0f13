//! The open model: iterations scheduled at a fixed rate whatever the responses, taken by users
//! from a capped pool, waiting in a bounded backlog when every user is busy.
//!
//! The schedule is exact and absolute: arrival `k` of a step is due `k / rate` after the
//! step's start, for every `k` below `ceil(rate * hold)`, so a step plans exactly its rate times
//! its hold (2,000 at 2,000/s for 1 s, never 1,999) and no rounding accumulates. Shard `i` of
//! `n` takes the arrivals `k = i, i + n, i + 2n, ...`, so the shards together are evenly spread.
//!
//! Arrivals are waited for on the [`Alarm`], not on tokio's millisecond timer alone, so an
//! arrival starts within microseconds of its due time rather than up to a millisecond after it
//! (a lag the latency from the scheduled send would charge to the server).
//!
//! An arrival that finds no user idle and nothing waiting gets a new user (up to
//! `max-users`), so no wait of the generator's own is charged to the target. A stall of the
//! generator leaves a pile of arrivals due at once, the oldest [`STALLED`] late: while such a
//! pile waits, an arrival queues behind it in turn (as it would with a new user too) and the
//! step's users work through it, as long as they would reach the arrival within [`QUEUE_WAIT`],
//! judged from how long iterations have lately taken. Such a pile no longer grows the pool (and
//! its memory and connections) for the rest of the run, while a slow target, whose iterations
//! take long, still does.
//!
//! A rate the machine cannot keep up with never spins and never starves the step's clock: due
//! arrivals are handled in batches with a yield after each that leaves more due, and once every
//! user is busy and the backlog full, everything else due so far is counted as scheduled and
//! dropped in one step.

use std::rc::Rc;
use std::time::Duration;

use stampede_plan::Think;
use tokio::time::Instant;

use super::clock::Alarm;
use super::{LATE_START, Shard, after_woken_tasks, later};
use crate::inflight::Iteration;
use crate::workload::Ledger;

/// Arrivals handled one by one before the dispatcher yields to the users and the step's clock.
const BATCH: u32 = 64;

/// How late the oldest waiting arrival must be for the wait to be a stall's pile: the
/// dispatcher's alarm otherwise starts arrivals within microseconds of their due time.
const STALLED: Duration = Duration::from_millis(1);

/// The longest an arrival behind a stall's pile may wait for the step's users rather than
/// start a new one (whose connection would take a good part of that to open).
const QUEUE_WAIT: Duration = Duration::from_millis(1);

/// The weight of the newest iteration in the running estimate of how long one takes.
const ITERATION_WEIGHT: f64 = 1.0 / 8.0;

/// The arrivals planned for one step.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Schedule {
    rate_per_s: f64,
    /// How many arrivals the step plans: those due strictly before the end of its hold.
    pub(crate) planned: u64,
}

impl Schedule {
    pub(crate) fn new(rate_per_s: f64, hold: Duration) -> Schedule {
        let exact = hold.as_secs_f64() * rate_per_s;
        let planned = if exact.is_finite() && exact > 0.0 {
            let nearest = exact.round();
            // A whole number of arrivals up to float noise: 2,000/s over 1 s is 2,000.
            if (exact - nearest).abs() <= 1e-9 * nearest.max(1.0) {
                nearest as u64
            } else {
                exact.ceil() as u64
            }
        } else {
            0
        };
        Schedule {
            rate_per_s,
            planned,
        }
    }

    /// When arrival `k` is due, from the step's start.
    pub(crate) fn due(&self, k: u64) -> Duration {
        Duration::try_from_secs_f64(k as f64 / self.rate_per_s).unwrap_or(Duration::MAX)
    }

    /// How many arrivals are due once `elapsed` has passed (at most the planned number).
    pub(crate) fn due_by(&self, elapsed: Duration) -> u64 {
        let passed = (elapsed.as_secs_f64() * self.rate_per_s).floor();
        (passed as u64).saturating_add(1).min(self.planned)
    }
}

/// Runs one step's arrivals on this shard, then says so to the shard.
pub(super) async fn dispatch(
    shard: Rc<Shard>,
    schedule: Schedule,
    step_start: Instant,
    pool: u32,
    backlog: usize,
) {
    let share = shard.work.share;
    let (index, count) = (share.index as u64, share.count as u64);
    let mut next = index;
    let mut spawned = 0u32;
    let mut alarm = Alarm::new();
    while next < schedule.planned && !shard.stopping() {
        let now = Instant::now();
        let at = later(step_start, schedule.due(next));
        if at > now {
            tokio::select! {
                () = alarm.until(at) => {}
                () = shard.stop_now.notified() => break,
            }
            continue;
        }
        let mut batch = 0;
        while batch < BATCH && next < schedule.planned {
            let at = later(step_start, schedule.due(next));
            if at > now {
                break;
            }
            arrive(&shard, (at, now), &mut spawned, pool, backlog);
            next += count;
            batch += 1;
        }
        if next < schedule.planned && saturated(&shard, spawned, pool, backlog) {
            // Every user busy, the backlog full: whatever else is due by now cannot start
            // either. Counted at once rather than one by one, so no rate can spin here.
            let due = schedule.due_by(now.saturating_duration_since(step_start));
            let mine_due = due / count + u64::from(index < due % count);
            let mine_done = (next - index) / count;
            let late = mine_due.saturating_sub(mine_done);
            if late > 0 {
                let mut ledger = shard.work.ledger(Ledger::Step);
                ledger.scheduled += late;
                ledger.dropped += late;
                next = next.saturating_add(late.saturating_mul(count));
            }
        }
        // Still behind: let the users and the step's clock run before the next batch. Caught
        // up, the users just woken send before the alarm is armed for the next arrival, and
        // no more: a yield would cost the thread one more poll of the reactor per arrival.
        if next < schedule.planned && later(step_start, schedule.due(next)) <= Instant::now() {
            tokio::task::yield_now().await;
        } else {
            after_woken_tasks().await;
        }
    }
    shard.dispatched();
}

/// One arrival due `at`, dispatched `now`: to an idle user, behind a stall's pile if the users
/// reach it soon, to a new user, into the backlog, or dropped.
fn arrive(
    shard: &Rc<Shard>,
    (at, now): (Instant, Instant),
    spawned: &mut u32,
    pool: u32,
    backlog: usize,
) {
    shard.work.ledger(Ledger::Step).scheduled += 1;
    let queued = shard.backlog.borrow().len();
    let idle = shard.idle.get() as usize;
    if idle > queued {
        shard.backlog.borrow_mut().push_back(at);
        shard.arrivals.notify_one();
    } else if after_stall(shard, now)
        && queued < backlog
        && users_reach_it(*spawned, queued, shard.iteration_time.get())
    {
        // Every user takes the next queued arrival when it is done (the idle ones were woken
        // for those ahead): one of them soon takes this one.
        shard.backlog.borrow_mut().push_back(at);
    } else if *spawned < pool {
        shard.backlog.borrow_mut().push_back(at);
        spawn_open_user(shard, *spawned as usize);
        *spawned += 1;
    } else if queued < backlog {
        // Every user is busy: the arrival waits, as a real client would, and its latency
        // will count from `at`.
        shard.backlog.borrow_mut().push_back(at);
    } else {
        shard.work.ledger(Ledger::Step).dropped += 1;
    }
}

/// Whether the arrivals waiting began with a stall's pile: the oldest is [`STALLED`] late. A
/// new arrival waits behind them in turn whatever it is given, so a new user would only help
/// work through the pile (and be kept for the run).
fn after_stall(shard: &Shard, now: Instant) -> bool {
    let backlog = shard.backlog.borrow();
    backlog
        .front()
        .is_some_and(|&oldest| now.saturating_duration_since(oldest) >= STALLED)
}

/// Whether the step's `users`, none of them idle, would start an arrival with `queued` ahead of
/// it within [`QUEUE_WAIT`]: one iteration until the first is free, then the queue in turns of
/// one iteration each. Not when no iteration has been timed yet: nothing says how soon.
fn users_reach_it(users: u32, queued: usize, iteration: Option<Duration>) -> bool {
    let Some(iteration) = iteration else {
        return false;
    };
    if users == 0 {
        return false;
    }
    let turns = u32::try_from(queued / users as usize)
        .unwrap_or(u32::MAX)
        .saturating_add(1);
    iteration.saturating_mul(turns) <= QUEUE_WAIT
}

/// The running estimate of how long an iteration takes, with one more timed. A sample counts
/// at most twice the estimate: the one iteration a stall held for 20 ms says nothing of how
/// soon the idle users will be free once it is over, while a target that stays slow still
/// moves the estimate by an eighth per iteration.
fn next_iteration_time(estimate: Option<Duration>, took: Duration) -> Duration {
    match estimate {
        None => took,
        Some(estimate) => {
            let took = took.min(estimate.saturating_mul(2)).as_secs_f64();
            let next = estimate.as_secs_f64() * (1.0 - ITERATION_WEIGHT) + took * ITERATION_WEIGHT;
            Duration::try_from_secs_f64(next).unwrap_or(Duration::MAX)
        }
    }
}

/// No idle user, no room for another, no room in the backlog.
fn saturated(shard: &Shard, spawned: u32, pool: u32, backlog: usize) -> bool {
    let queued = shard.backlog.borrow().len();
    shard.idle.get() as usize <= queued && spawned >= pool && queued >= backlog
}

fn spawn_open_user(shard: &Rc<Shard>, local: usize) {
    let me = shard.clone();
    super::spawn_task(shard, async move {
        let shard = me;
        let mut user = shard.take_user(local);
        user.setup(&shard.work).await;
        shard.user_started();
        loop {
            let next = shard.backlog.borrow_mut().pop_front();
            let scheduled = match next {
                Some(at) => at,
                None if shard.stopping() => break,
                None => {
                    let wake = shard.arrivals.notified();
                    if shard.stopping() {
                        break;
                    }
                    shard.idle.set(shard.idle.get() + 1);
                    wake.await;
                    shard.idle.set(shard.idle.get() - 1);
                    continue;
                }
            };
            if shard.stopping() {
                // The step is over: arrivals still waiting were never started.
                shard.work.ledger(Ledger::Step).dropped += 1;
                continue;
            }
            let late = Instant::now().saturating_duration_since(scheduled);
            if late > LATE_START {
                shard.work.ledger(Ledger::Step).late_starts += 1;
            }
            let iteration = Iteration::start(&shard.work);
            let began = Instant::now();
            user.iterate(&shard.work, Some(scheduled), Some(Think::None))
                .await;
            iteration.finish();
            let estimate = shard.iteration_time.get();
            let took = began.elapsed();
            shard
                .iteration_time
                .set(Some(next_iteration_time(estimate, took)));
        }
        shard.user_finished();
        shard.return_user(local, user);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_plans_exactly_rate_times_hold() {
        let s = Duration::from_secs;
        for (rate, hold, planned) in [
            (2000.0, s(1), 2000),
            (1500.0, s(1), 1500),
            (1999.0, s(1), 1999),
            (3.0, s(1), 3),
            (0.1, s(10), 1),
            (0.3, s(10), 3),
            (2.5, Duration::from_millis(1100), 3),
            (1e6, s(366 * 24 * 3600), 31_622_400_000_000),
        ] {
            let schedule = Schedule::new(rate, hold);
            assert_eq!(schedule.planned, planned, "{rate}/s for {hold:?}");
            assert!(
                schedule.due(planned - 1) < hold,
                "{rate}/s: the last is inside the hold"
            );
        }
        assert_eq!(Schedule::new(f64::INFINITY, s(1)).planned, 0);
        assert_eq!(Schedule::new(f64::NAN, s(1)).planned, 0);
        // Absurd rates neither panic nor overflow.
        assert_eq!(Schedule::new(1e300, s(1)).planned, u64::MAX);
        assert_eq!(Schedule::new(1e-300, s(1)).due(5), Duration::MAX);
    }

    #[test]
    fn an_arrival_waits_for_the_users_only_while_they_reach_it_within_the_bound() {
        let us = Duration::from_micros;
        // Nothing timed yet, or no user yet: a new user.
        assert!(!users_reach_it(10, 0, None));
        assert!(!users_reach_it(0, 0, Some(us(1))));
        // Ten users at 150 us an iteration: the first is free within 150 us, and 50 queued
        // ahead take five turns more (900 us in all), 60 six (1,050 us).
        assert!(users_reach_it(10, 59, Some(us(150))));
        assert!(!users_reach_it(10, 60, Some(us(150))));
        // The bound itself is inside; a slow target is not waited for at all.
        assert!(users_reach_it(1, 9, Some(us(100))));
        assert!(!users_reach_it(1, 0, Some(Duration::from_millis(50))));
        // Nothing overflows.
        assert!(!users_reach_it(1, usize::MAX, Some(us(1))));
        assert!(!users_reach_it(1, 2, Some(Duration::MAX)));
    }

    #[test]
    fn the_iteration_estimate_starts_at_the_first_and_follows_the_rest() {
        let us = Duration::from_micros;
        assert_eq!(next_iteration_time(None, us(800)), us(800));
        // One iteration a stall held counts as twice the estimate, an eighth of the way.
        assert_eq!(next_iteration_time(Some(us(160)), us(20_000)), us(180));
        assert_eq!(next_iteration_time(Some(us(100)), us(180)), us(110));
        // A target that turned slow, or fast, is followed within a few dozen iterations.
        let follow = |from: Duration, to: Duration| {
            (0..60).fold(from, |estimate, _| next_iteration_time(Some(estimate), to))
        };
        let slow = follow(us(100), us(5000));
        assert!(slow > us(4500) && slow <= us(5000), "{slow:?}");
        let fast = follow(us(5000), us(100));
        assert!(fast < us(110), "{fast:?}");
        // Nothing overflows.
        assert_eq!(
            next_iteration_time(Some(Duration::MAX), Duration::MAX),
            Duration::MAX
        );
    }

    #[test]
    fn due_counts_match_due_times() {
        let schedule = Schedule::new(1000.0, Duration::from_secs(1));
        assert_eq!(schedule.due_by(Duration::ZERO), 1);
        assert_eq!(schedule.due_by(Duration::from_micros(2500)), 3);
        assert_eq!(schedule.due_by(Duration::from_secs(5)), 1000);
        assert_eq!(schedule.due(3), Duration::from_millis(3));
    }
}
