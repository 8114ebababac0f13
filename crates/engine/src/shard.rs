//! A shard: one thread, one current-thread runtime, a slice of the users.
//!
//! Everything a request touches lives here, in `Cell`s and `RefCell`s owned by one thread: no
//! lock and no shared atomic on the per-request path. Every shard follows the same absolute
//! timeline (steps at `start + offset`), snapshots its statistics at the same interval
//! boundaries, and sends them to the collector, which merges them exactly.

use std::cell::{Cell, RefCell, RefMut};
use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use stampede_metrics::StatsSet;
use stampede_scenario::{Load, Plan, Step};
use tokio::sync::{Notify, mpsc, watch};
use tokio::time::{Instant, sleep_until};

use crate::StopReason;
use crate::conn::Connector;
use crate::prepare::Prepared;
use crate::timeline::slots;
use crate::user::{Ledger, User};

/// An open-model iteration that started later than scheduled by more than this is a late start.
const LATE_START: Duration = Duration::from_millis(10);

/// What a shard tells the collector.
#[derive(Debug)]
pub(crate) enum ShardMsg {
    Interval {
        step: usize,
        slot: usize,
        active_users: u32,
        stats: StatsSet,
    },
    StepDone {
        step: usize,
        /// When the shard's last request of the step finished, from the step's start.
        ended: Duration,
        peak_users: u32,
        cut_short: bool,
    },
    Setup(StatsSet),
}

/// Picks an index by weight: requests when the plan has no flows, flows otherwise.
pub(crate) struct Picker {
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
    pub(crate) fn pick(&self, rng: &mut crate::rng::Rng) -> usize {
        let total = *self.cumulative.last().unwrap_or(&1);
        let ticket = rng.below(total);
        self.cumulative.partition_point(|&c| c <= ticket)
    }
}

pub(crate) struct Shard {
    pub(crate) plan: Arc<Plan>,
    pub(crate) prepared: Arc<Vec<Prepared>>,
    pub(crate) connector: Connector,
    pub(crate) prefix: Arc<str>,
    pub(crate) index: usize,
    pub(crate) count: usize,
    pub(crate) picker: Picker,
    pub(crate) stats: RefCell<StatsSet>,
    setup_stats: RefCell<StatsSet>,
    pub(crate) seq: Cell<u64>,
    data_seq: Cell<u64>,
    /// Users between their first request and their last in the current step.
    active: Cell<u32>,
    peak: Cell<u32>,
    /// User tasks still running in the current step.
    running: Cell<u32>,
    all_done: Notify,
    /// Set when the current step ends: users start nothing new.
    stopping: Cell<bool>,
    stop_now: Notify,
    /// Users kept between steps, with their connections and captured state.
    pool: RefCell<Vec<Option<User>>>,
    /// Open model: scheduled start times waiting for a free user.
    backlog: RefCell<VecDeque<Instant>>,
    idle: Cell<u32>,
    work: Notify,
}

pub(crate) struct ShardConfig {
    pub(crate) plan: Arc<Plan>,
    pub(crate) prepared: Arc<Vec<Prepared>>,
    pub(crate) connector: Connector,
    pub(crate) prefix: Arc<str>,
    pub(crate) index: usize,
    pub(crate) count: usize,
}

impl Shard {
    pub(crate) fn new(config: ShardConfig) -> Rc<Shard> {
        let n = config.plan.requests.len();
        let picker = if config.plan.flows.is_empty() {
            Picker::new(config.plan.requests.iter().map(|r| r.weight))
        } else {
            Picker::new(config.plan.flows.iter().map(|f| f.weight))
        };
        Rc::new(Shard {
            plan: config.plan,
            prepared: config.prepared,
            connector: config.connector,
            prefix: config.prefix,
            index: config.index,
            count: config.count,
            picker,
            stats: RefCell::new(StatsSet::new(n)),
            setup_stats: RefCell::new(StatsSet::new(n)),
            seq: Cell::new(0),
            data_seq: Cell::new(0),
            active: Cell::new(0),
            peak: Cell::new(0),
            running: Cell::new(0),
            all_done: Notify::new(),
            stopping: Cell::new(false),
            stop_now: Notify::new(),
            pool: RefCell::new(Vec::new()),
            backlog: RefCell::new(VecDeque::new()),
            idle: Cell::new(0),
            work: Notify::new(),
        })
    }

    pub(crate) fn ledger(&self, ledger: Ledger) -> RefMut<'_, StatsSet> {
        match ledger {
            Ledger::Step => self.stats.borrow_mut(),
            Ledger::Setup => self.setup_stats.borrow_mut(),
        }
    }

    /// The next number of a run-wide sequence without a shared counter: shard k of n hands out
    /// k, k+n, k+2n, ...
    pub(crate) fn next_data_seq(&self) -> u64 {
        let local = self.data_seq.get();
        self.data_seq.set(local + 1);
        local * self.count as u64 + self.index as u64
    }

    pub(crate) fn stopping(&self) -> bool {
        self.stopping.get()
    }

    /// This shard's share of `total`: users are dealt round-robin, user g to shard g % count.
    fn share(&self, total: u32) -> u32 {
        let (total, count, index) = (total as usize, self.count, self.index);
        (total / count + usize::from(index < total % count)) as u32
    }

    fn take_user(&self, local: usize) -> User {
        let mut pool = self.pool.borrow_mut();
        if pool.len() <= local {
            pool.resize_with(local + 1, || None);
        }
        pool[local].take().unwrap_or_else(|| {
            User::new(
                (local * self.count + self.index) as u64,
                self.plan.captures.len(),
            )
        })
    }

    fn return_user(&self, local: usize, user: User) {
        self.pool.borrow_mut()[local] = Some(user);
    }

    fn user_started(&self) {
        self.active.set(self.active.get() + 1);
        self.peak.set(self.peak.get().max(self.active.get()));
    }

    fn user_finished(&self) {
        self.active.set(self.active.get() - 1);
    }

    fn task_finished(&self) {
        self.running.set(self.running.get() - 1);
        if self.running.get() == 0 {
            self.all_done.notify_waiters();
        }
    }

    /// Waits while user tasks run, until `deadline`. True when they all finished.
    async fn wait_users(&self, deadline: Option<Instant>) -> bool {
        loop {
            if self.running.get() == 0 {
                return true;
            }
            let done = self.all_done.notified();
            if self.running.get() == 0 {
                return true;
            }
            match deadline {
                Some(at) => {
                    tokio::select! {
                        () = done => {}
                        () = sleep_until(at) => return self.running.get() == 0,
                    }
                }
                None => done.await,
            }
        }
    }

    fn end_step(&self) {
        self.stopping.set(true);
        self.stop_now.notify_waiters();
        self.work.notify_waiters();
    }
}

/// Runs every step of the plan on this shard, sending snapshots to the collector.
pub(crate) async fn run(
    shard: Rc<Shard>,
    start: Instant,
    tx: mpsc::UnboundedSender<ShardMsg>,
    mut stop: watch::Receiver<Option<StopReason>>,
) {
    let plan = shard.plan.clone();
    let offsets = plan.step_offsets();
    let mut tasks = Vec::new();
    for (index, step) in plan.steps.iter().enumerate() {
        let step_start = (start + offsets[index]).max(Instant::now());
        if stop.borrow().is_some() {
            break;
        }
        tokio::select! {
            () = sleep_until(step_start) => {}
            _ = stop.changed() => break,
        }
        shard.stopping.set(false);
        shard.peak.set(0);
        shard.idle.set(0);
        shard.backlog.borrow_mut().clear();
        shard.stats.borrow_mut().clear();
        let limited = spawn_load(&shard, step, step_start, &mut tasks);

        let mut cut_short = false;
        let mut finished_early = false;
        let slots = slots(step.hold, step.warmup, plan.interval);
        let last = slots.len().saturating_sub(1);
        for (n, slot) in slots.iter().enumerate() {
            let boundary = step_start + slot.end;
            if !finished_early && !cut_short {
                tokio::select! {
                    () = sleep_until(boundary) => {}
                    _ = stop.changed() => cut_short = true,
                    true = shard.wait_users(None), if limited => finished_early = true,
                }
            }
            if n == last || cut_short || finished_early {
                // Let in-flight requests finish (bounded by the grace period), so that what the
                // server saw and what we report agree, then close the step's last interval,
                // with the users that were active when it ended, not the none left after.
                let active_at_end = shard.active.get();
                shard.end_step();
                if !shard.wait_users(Some(Instant::now() + plan.grace)).await {
                    for task in tasks.drain(..) {
                        tokio::task::JoinHandle::abort(&task);
                    }
                    shard.running.set(0);
                    shard.active.set(0);
                }
                tasks.clear();
                send_interval(&shard, &tx, index, n, active_at_end);
                break;
            }
            send_interval(&shard, &tx, index, n, shard.active.get());
        }
        let _ = tx.send(ShardMsg::StepDone {
            step: index,
            ended: Instant::now().saturating_duration_since(step_start),
            peak_users: shard.peak.get(),
            cut_short,
        });
        if cut_short {
            break;
        }
    }
    let setup = std::mem::take(&mut *shard.setup_stats.borrow_mut());
    let _ = tx.send(ShardMsg::Setup(setup));
}

fn send_interval(
    shard: &Shard,
    tx: &mpsc::UnboundedSender<ShardMsg>,
    step: usize,
    slot: usize,
    active_users: u32,
) {
    let fresh = StatsSet::new(shard.plan.requests.len());
    let stats = std::mem::replace(&mut *shard.stats.borrow_mut(), fresh);
    let _ = tx.send(ShardMsg::Interval {
        step,
        slot,
        active_users,
        stats,
    });
}

/// Starts the step's users on this shard. True when they stop by themselves (an iteration
/// limit), so the step may end before its hold.
fn spawn_load(
    shard: &Rc<Shard>,
    step: &Step,
    step_start: Instant,
    tasks: &mut Vec<tokio::task::JoinHandle<()>>,
) -> bool {
    match step.load {
        Load::Closed { users } => {
            let total = users.max(1);
            for local in 0..shard.share(users) as usize {
                let global = (local * shard.count + shard.index) as u32;
                // Users arrive evenly over the ramp: user g of n at ramp * g / n; with a
                // ramp-down they leave evenly over its span, the last to arrive first, so the
                // count falls linearly to zero at the end of the hold.
                let delay = step.ramp.mul_f64(f64::from(global) / f64::from(total));
                let leave = (!step.ramp_down.is_zero()).then(|| {
                    let early = step
                        .ramp_down
                        .mul_f64(f64::from(global + 1) / f64::from(total));
                    step_start + step.hold - early
                });
                let timing = Timing {
                    at: step_start + delay,
                    leave,
                };
                tasks.push(spawn_closed(
                    shard,
                    local,
                    timing,
                    step.think,
                    step.iterations_per_user,
                ));
            }
            step.iterations_per_user.is_some()
        }
        Load::Burst { requests } => {
            for local in 0..shard.share(requests) as usize {
                let timing = Timing {
                    at: step_start,
                    leave: None,
                };
                tasks.push(spawn_closed(shard, local, timing, step.think, Some(1)));
            }
            true
        }
        Load::Open {
            rate_per_s,
            max_users,
            max_backlog,
        } => {
            let pool = shard.share(max_users).max(1);
            let backlog = shard.share(max_backlog) as usize;
            let hold_end = step_start + step.hold;
            tasks.push(spawn_task(
                shard,
                dispatch(
                    shard.clone(),
                    rate_per_s,
                    step_start,
                    hold_end,
                    pool,
                    backlog,
                ),
            ));
            false
        }
    }
}

fn spawn_task(
    shard: &Rc<Shard>,
    future: impl Future<Output = ()> + 'static,
) -> tokio::task::JoinHandle<()> {
    shard.running.set(shard.running.get() + 1);
    let shard = shard.clone();
    tokio::task::spawn_local(async move {
        future.await;
        shard.task_finished();
    })
}

/// When a closed-model user starts, and when it leaves before the end of the step.
struct Timing {
    at: Instant,
    leave: Option<Instant>,
}

fn spawn_closed(
    shard: &Rc<Shard>,
    local: usize,
    timing: Timing,
    think: Option<stampede_scenario::Think>,
    iterations: Option<u64>,
) -> tokio::task::JoinHandle<()> {
    let me = shard.clone();
    let Timing { at, leave } = timing;
    spawn_task(shard, async move {
        let shard = me;
        tokio::select! {
            () = sleep_until(at) => {}
            () = shard.stop_now.notified() => return,
        }
        let gone = || leave.is_some_and(|t| Instant::now() >= t);
        if shard.stopping() {
            return;
        }
        let mut user = shard.take_user(local);
        user.setup(&shard).await;
        shard.user_started();
        let mut done = 0u64;
        while !shard.stopping() && !gone() && iterations.is_none_or(|n| done < n) {
            let think = user.iterate(&shard, None, think).await;
            done += 1;
            if think.is_zero() || shard.stopping() {
                continue;
            }
            let wake = shard.stop_now.notified();
            if shard.stopping() {
                break;
            }
            // A user due to leave during its think time leaves then, not after it.
            let until = leave.map_or(Instant::now() + think, |t| t.min(Instant::now() + think));
            tokio::select! {
                () = sleep_until(until) => {}
                () = wake => break,
            }
        }
        shard.user_finished();
        shard.return_user(local, user);
    })
}

/// The open model: iterations scheduled at a fixed rate whatever the responses. This shard
/// takes every `count`-th arrival, offset by its index, so the shards together are evenly
/// spread rather than bursting together.
async fn dispatch(
    shard: Rc<Shard>,
    rate_per_s: f64,
    step_start: Instant,
    hold_end: Instant,
    pool: u32,
    backlog: usize,
) {
    let period = Duration::from_secs_f64(shard.count as f64 / rate_per_s.max(1e-9));
    let first = step_start + Duration::from_secs_f64(shard.index as f64 / rate_per_s.max(1e-9));
    let mut spawned = 0u32;
    let mut n = 0u32;
    loop {
        let at = first + period * n;
        if at >= hold_end || shard.stopping() {
            break;
        }
        if at > Instant::now() {
            tokio::select! {
                () = sleep_until(at) => {}
                () = shard.stop_now.notified() => break,
            }
        }
        n += 1;
        shard.stats.borrow_mut().scheduled += 1;
        let queued = shard.backlog.borrow().len();
        if shard.idle.get() as usize > queued {
            shard.backlog.borrow_mut().push_back(at);
            shard.work.notify_one();
        } else if spawned < pool {
            shard.backlog.borrow_mut().push_back(at);
            spawn_open_user(&shard, spawned as usize);
            spawned += 1;
        } else if queued < backlog {
            // Every user is busy: the arrival waits, as a real client would, and its latency
            // will count from `at`.
            shard.backlog.borrow_mut().push_back(at);
        } else {
            shard.stats.borrow_mut().dropped += 1;
        }
    }
}

fn spawn_open_user(shard: &Rc<Shard>, local: usize) {
    let me = shard.clone();
    spawn_task(shard, async move {
        let shard = me;
        let mut user = shard.take_user(local);
        user.setup(&shard).await;
        shard.user_started();
        loop {
            let next = shard.backlog.borrow_mut().pop_front();
            let scheduled = match next {
                Some(at) => at,
                None if shard.stopping() => break,
                None => {
                    let wake = shard.work.notified();
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
                shard.stats.borrow_mut().dropped += 1;
                continue;
            }
            let late = Instant::now().saturating_duration_since(scheduled);
            if late > LATE_START {
                shard.stats.borrow_mut().late_starts += 1;
            }
            user.iterate(
                &shard,
                Some(scheduled),
                Some(stampede_scenario::Think::None),
            )
            .await;
        }
        shard.user_finished();
        shard.return_user(local, user);
    });
}
