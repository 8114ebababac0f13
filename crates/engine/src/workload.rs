//! What a virtual user needs from its load thread, and nothing more: the plan made ready, where
//! to connect, where to count, the run-wide sequences, whether the step is over (and a way to
//! wait for it), and whether someone asked to see the first exchanges.
//!
//! The shard owns the scheduling (when users start, stop, and take arrivals); a user only sees
//! this narrow environment, so a user can run more than one activity without knowing the shard.

use std::cell::{Cell, RefCell, RefMut};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender};

use http::uri::{Authority, Scheme};
use stampede_metrics::StatsSet;
use stampede_plan::Plan;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::conn::Connector;
use crate::debug::HttpDebug;
use crate::mailbox::Mailbox;
use crate::prepare::Prepared;
use crate::rng::Rng;
use crate::share::Share;

/// Where a request's measurements go.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ledger {
    /// The step's statistics.
    Step,
    /// Per-user setup (a login): reported apart, never mixed into the step's percentiles.
    Setup,
    /// A step's first requests, under a warm-up by count: reported apart as warm-up.
    Warmup,
}

/// Where requests go, as an HTTP/2 request names it (`:scheme` and `:authority`); HTTP/1.1
/// sends a `Host` header and a relative path instead.
#[derive(Clone)]
pub(crate) struct Origin {
    pub(crate) scheme: Scheme,
    pub(crate) authority: Authority,
}

pub(crate) struct Workload {
    pub(crate) plan: Arc<Plan>,
    pub(crate) prepared: Arc<Vec<Prepared>>,
    pub(crate) connector: Connector,
    /// Prepended to every rendered path.
    pub(crate) prefix: Arc<str>,
    pub(crate) origin: Origin,
    /// `--http-debug`: the first exchanges, handed to a listener.
    pub(crate) debug: Option<HttpDebug>,
    /// This load thread's share of the run.
    pub(crate) share: Share,
    picker: Picker,
    stats: RefCell<StatsSet>,
    /// Interval statistics the collector has merged, read, cleared and handed back (`home`
    /// is their way back): the next interval fills them again instead of allocating a set of
    /// histograms per request name each interval.
    recycled: Receiver<StatsSet>,
    home: Sender<StatsSet>,
    setup_stats: RefCell<StatsSet>,
    warmup_stats: RefCell<StatsSet>,
    /// Step requests still to be sent as warm-up (warm-up by count).
    warmup_left: Cell<u64>,
    seq: Cell<u64>,
    data_seq: Cell<u64>,
    /// Set when the current step ends: users start nothing new.
    stopping: Cell<bool>,
    /// Wakes users waiting out a 429's Retry-After when the step ends.
    stop_wake: Notify,
    /// Messages between paired users, sent and not yet seen.
    pub(crate) mailbox: Mailbox,
}

/// How a workload reaches the target, beside the plan.
pub(crate) struct Route {
    pub(crate) connector: Connector,
    pub(crate) prefix: Arc<str>,
    pub(crate) origin: Origin,
    pub(crate) debug: Option<HttpDebug>,
}

impl Workload {
    pub(crate) fn new(
        plan: Arc<Plan>,
        prepared: Arc<Vec<Prepared>>,
        route: Route,
        share: Share,
    ) -> Workload {
        let n = plan.requests.len();
        let picker = if plan.flows.is_empty() {
            Picker::new(plan.requests.iter().map(|r| r.weight))
        } else {
            Picker::new(plan.flows.iter().map(|f| f.weight))
        };
        let (home, recycled) = std::sync::mpsc::channel();
        Workload {
            prepared,
            connector: route.connector,
            prefix: route.prefix,
            origin: route.origin,
            debug: route.debug,
            share,
            picker,
            stats: RefCell::new(fresh(&plan)),
            recycled,
            home,
            setup_stats: RefCell::new(StatsSet::new(n)),
            warmup_stats: RefCell::new(fresh(&plan)),
            warmup_left: Cell::new(0),
            seq: Cell::new(0),
            data_seq: Cell::new(0),
            stopping: Cell::new(false),
            stop_wake: Notify::new(),
            mailbox: Mailbox::new(&plan),
            plan,
        }
    }

    /// The statistics a request's outcome goes to.
    pub(crate) fn ledger(&self, ledger: Ledger) -> RefMut<'_, StatsSet> {
        match ledger {
            Ledger::Step => self.stats.borrow_mut(),
            Ledger::Setup => self.setup_stats.borrow_mut(),
            Ledger::Warmup => self.warmup_stats.borrow_mut(),
        }
    }

    /// Where a request about to be sent is measured: a step's first requests go to the
    /// warm-up while a warm-up by count lasts.
    pub(crate) fn route(&self, ledger: Ledger) -> Ledger {
        let left = self.warmup_left.get();
        if ledger == Ledger::Step && left > 0 {
            self.warmup_left.set(left - 1);
            Ledger::Warmup
        } else {
            ledger
        }
    }

    /// Starts a step's warm-up by count: its next `requests` requests are warm-up.
    pub(crate) fn start_warmup(&self, requests: u64) {
        self.warmup_left.set(requests);
    }

    /// Whether requests are still being sent as warm-up.
    pub(crate) fn warming(&self) -> bool {
        self.warmup_left.get() > 0
    }

    /// The warm-up requests measured so far, replaced by empty statistics.
    pub(crate) fn take_warmup(&self) -> StatsSet {
        std::mem::replace(&mut *self.warmup_stats.borrow_mut(), self.spare())
    }

    /// The step's statistics so far, replaced by empty ones: one interval's snapshot. Messages
    /// whose `expect-within` has passed are counted lost in it first.
    pub(crate) fn take_interval(&self) -> StatsSet {
        self.mailbox
            .sweep(Instant::now(), &mut self.stats.borrow_mut());
        std::mem::replace(&mut *self.stats.borrow_mut(), self.spare())
    }

    /// Empty statistics: handed back ones when there are, new ones otherwise.
    fn spare(&self) -> StatsSet {
        self.recycled
            .try_recv()
            .unwrap_or_else(|_| fresh(&self.plan))
    }

    /// Where the collector sends this thread's statistics back once it is done with them.
    pub(crate) fn home(&self) -> Sender<StatsSet> {
        self.home.clone()
    }

    pub(crate) fn take_setup(&self) -> StatsSet {
        std::mem::take(&mut *self.setup_stats.borrow_mut())
    }

    /// A request or a flow, by weight.
    pub(crate) fn pick(&self, rng: &mut Rng) -> usize {
        self.picker.pick(rng)
    }

    /// The next number of `${run_seq}`, unique over the run without a shared counter.
    pub(crate) fn next_run_seq(&self) -> u64 {
        self.share.global(bump(&self.seq))
    }

    /// The run-wide number of this thread's `local`-th user: users are dealt two by two
    /// when a stream pairs them, so partners share this thread (and its clock).
    pub(crate) fn user_number(&self, local: usize) -> u64 {
        if self.mailbox.paired().is_some() {
            self.share.global_paired(local as u64)
        } else {
            self.share.global(local as u64)
        }
    }

    /// How many of a step's `total` users run on this thread.
    pub(crate) fn users_here(&self, total: u32) -> u32 {
        if self.mailbox.paired().is_some() {
            self.share.of_paired(total)
        } else {
            self.share.of(total)
        }
    }

    /// The next number of the run-wide `[data]` row sequence.
    pub(crate) fn next_data_seq(&self) -> u64 {
        self.share.global(bump(&self.data_seq))
    }

    pub(crate) fn stopping(&self) -> bool {
        self.stopping.get()
    }

    pub(crate) fn set_stopping(&self, stopping: bool) {
        self.stopping.set(stopping);
        if stopping {
            self.stop_wake.notify_waiters();
        }
    }

    /// Resolves once the current step is ending (at once if it is).
    pub(crate) async fn stopped(&self) {
        // A `Notified` hears every `notify_waiters` from its creation on, so the flag is
        // checked after it exists and no wake-up can fall in between.
        let wake = self.stop_wake.notified();
        if self.stopping() {
            return;
        }
        wake.await;
    }
}

/// Empty step statistics for `plan`: its requests and its streams.
fn fresh(plan: &Plan) -> StatsSet {
    StatsSet::with_streams(plan.requests.len(), plan.streams.len())
}

fn bump(cell: &Cell<u64>) -> u64 {
    let value = cell.get();
    cell.set(value + 1);
    value
}

/// Picks an index by weight: requests when the plan has no flows, flows otherwise.
struct Picker {
    cumulative: Vec<u64>,
}

impl Picker {
    /// Weight 0 means "never picked" (a login used only in setup); if every weight is 0 the
    /// choice is uniform.
    fn new(weights: impl Iterator<Item = u32>) -> Picker {
        let weights: Vec<u64> = weights.map(u64::from).collect();
        let all_zero = weights.iter().all(|&w| w == 0);
        let mut total = 0u64;
        let cumulative = weights
            .into_iter()
            .map(|w| {
                total += if all_zero { 1 } else { w };
                total
            })
            .collect();
        Picker { cumulative }
    }

    #[inline]
    fn pick(&self, rng: &mut Rng) -> usize {
        let total = *self.cumulative.last().unwrap_or(&1);
        let ticket = rng.below(total);
        self.cumulative.partition_point(|&c| c <= ticket)
    }
}
