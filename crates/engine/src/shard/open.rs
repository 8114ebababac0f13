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
            arrive(&shard, at, &mut spawned, pool, backlog);
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

/// One arrival: to an idle user, to a new user, into the backlog, or dropped.
fn arrive(shard: &Rc<Shard>, at: Instant, spawned: &mut u32, pool: u32, backlog: usize) {
    shard.work.ledger(Ledger::Step).scheduled += 1;
    let queued = shard.backlog.borrow().len();
    if shard.idle.get() as usize > queued {
        shard.backlog.borrow_mut().push_back(at);
        shard.arrivals.notify_one();
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
            user.iterate(&shard.work, Some(scheduled), Some(Think::None))
                .await;
            iteration.finish();
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
    fn due_counts_match_due_times() {
        let schedule = Schedule::new(1000.0, Duration::from_secs(1));
        assert_eq!(schedule.due_by(Duration::ZERO), 1);
        assert_eq!(schedule.due_by(Duration::from_micros(2500)), 3);
        assert_eq!(schedule.due_by(Duration::from_secs(5)), 1000);
        assert_eq!(schedule.due(3), Duration::from_millis(3));
    }
}
