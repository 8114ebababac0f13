//! Where every arrival an open-model step scheduled went: completed, abandoned or dropped.
//!
//! "Nothing is lost" is checked here, once, for every output: over all of a step's intervals,
//! warm-up included (an arrival scheduled in the warm-up may end after it), the three ends add
//! up to what was scheduled. Any difference is a defect in stampede, not in the target, and is
//! shown as such rather than hidden in a rate.

use serde::{Deserialize, Serialize};

use crate::StatsSet;

/// The ends of a step's scheduled arrivals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Arrivals {
    pub scheduled: u64,
    /// Iterations that ran to their end, whatever the target answered.
    pub completed: u64,
    /// Sent, but still waiting for an answer when the grace period ended.
    pub abandoned: u64,
    /// Never sent: every user busy and the backlog full.
    pub dropped: u64,
    /// `scheduled - completed - abandoned - dropped`: zero unless stampede lost count.
    pub unaccounted: i64,
}

impl Arrivals {
    /// The ends of one span's arrivals.
    pub fn of(stats: &StatsSet) -> Arrivals {
        let mut arrivals = Arrivals::default();
        arrivals.count(stats);
        arrivals
    }

    /// Counts one span (an interval, measured or warm-up) into the step's ends.
    pub fn count(&mut self, stats: &StatsSet) {
        self.scheduled += stats.scheduled;
        self.completed += stats.iterations;
        self.abandoned += stats.abandoned;
        self.dropped += stats.dropped;
        let ended = i128::from(self.completed) + i128::from(self.abandoned);
        let difference = i128::from(self.scheduled) - ended - i128::from(self.dropped);
        self.unaccounted = i64::try_from(difference).unwrap_or(i64::MAX);
    }

    /// Arrivals that went out: completed or abandoned. A step's schedule is kept when this and
    /// `dropped` add up to what it planned.
    pub fn sent(&self) -> u64 {
        self.completed + self.abandoned
    }

    /// The step scheduled arrivals (the open model); closed-model steps have none to account.
    pub fn is_open(&self) -> bool {
        self.scheduled > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(scheduled: u64, iterations: u64, abandoned: u64, dropped: u64) -> StatsSet {
        StatsSet {
            scheduled,
            iterations,
            abandoned,
            dropped,
            ..StatsSet::default()
        }
    }

    #[test]
    fn arrivals_ending_in_a_later_interval_balance_over_the_step() {
        let mut arrivals = Arrivals::default();
        // 100 scheduled in the warm-up, 3 of them end in the first measured interval.
        arrivals.count(&span(100, 97, 0, 0));
        assert_eq!(arrivals.unaccounted, 3);
        arrivals.count(&span(100, 95, 2, 6));
        assert_eq!(
            arrivals,
            Arrivals {
                scheduled: 200,
                completed: 192,
                abandoned: 2,
                dropped: 6,
                unaccounted: 0
            }
        );
        assert!(arrivals.is_open());
        assert_eq!(arrivals.sent() + arrivals.dropped, arrivals.scheduled);
    }

    #[test]
    fn an_arrival_lost_by_stampede_is_seen() {
        let mut arrivals = Arrivals::default();
        arrivals.count(&span(10, 8, 0, 1));
        assert_eq!(arrivals.unaccounted, 1);
        let mut over = Arrivals::default();
        over.count(&span(10, 11, 0, 0));
        assert_eq!(over.unaccounted, -1);
    }
}
