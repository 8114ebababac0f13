//! Guards that count what the end of a grace period cuts off, so nothing sent is lost.
//!
//! When a step's grace period ends, the user tasks still running are aborted, which drops their
//! futures where they stand. A guard armed before a request (or an iteration) and landed when
//! its outcome is recorded notices the drop: an unlanded guard records the request as
//! [`Outcome::Abandoned`] (a failure, measured up to the moment it was cut off) and the
//! iteration in `StatsSet::abandoned`. The shard awaits the aborted tasks before it closes the
//! step's last interval, so the guards write into that interval.
//!
//! A guard never panics: no borrow of the statistics is held across an await, so a cancelled
//! future holds none when its guard runs.

use stampede_metrics::{FailureKey, Outcome};
use tokio::time::Instant;

use crate::workload::{Ledger, Workload};

/// One request between being started and its outcome being recorded.
pub(crate) struct InFlight<'a> {
    work: &'a Workload,
    id: usize,
    ledger: Ledger,
    started: Instant,
    scheduled: Option<Instant>,
    landed: bool,
}

impl<'a> InFlight<'a> {
    pub(crate) fn new(
        work: &'a Workload,
        id: usize,
        ledger: Ledger,
        scheduled: Option<Instant>,
    ) -> InFlight<'a> {
        InFlight {
            work,
            id,
            ledger,
            started: Instant::now(),
            scheduled,
            landed: false,
        }
    }

    /// The request's outcome is about to be recorded: nothing left for the guard to do.
    pub(crate) fn land(mut self) {
        self.landed = true;
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if self.landed {
            return;
        }
        let now = Instant::now();
        let mut stats = self.work.ledger(self.ledger);
        let Some(entry) = stats.requests.get_mut(self.id) else {
            return;
        };
        entry.outcomes.bump(Outcome::Abandoned);
        entry.failed += 1;
        entry
            .failures
            .bump(FailureKey::Transport(Outcome::Abandoned));
        entry
            .latency
            .record(now.saturating_duration_since(self.started));
        if let Some(at) = self.scheduled {
            entry.corrected.record(now.saturating_duration_since(at));
        }
    }
}

/// One iteration of a user, from its start to its end.
pub(crate) struct Iteration<'a> {
    work: &'a Workload,
    finished: bool,
}

impl<'a> Iteration<'a> {
    pub(crate) fn start(work: &'a Workload) -> Iteration<'a> {
        Iteration {
            work,
            finished: false,
        }
    }

    /// The iteration ended on its own (and counted itself in `iterations`).
    pub(crate) fn finish(mut self) {
        self.finished = true;
    }
}

impl Drop for Iteration<'_> {
    fn drop(&mut self) {
        if !self.finished {
            self.work.ledger(Ledger::Step).abandoned += 1;
        }
    }
}
