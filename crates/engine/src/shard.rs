//! A shard: one thread, one current-thread runtime, a slice of the users.
//!
//! Everything a request touches lives here, in `Cell`s and `RefCell`s owned by one thread: no
//! lock and no shared atomic on the per-request path. Every shard follows the same absolute
//! timeline (steps at `start + offset`), snapshots its statistics at the same interval
//! boundaries, and sends them to the collector, which merges them exactly.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use stampede_metrics::StatsSet;
use stampede_plan::{Load, Step, Think};
use tokio::sync::{Notify, mpsc, watch};
use tokio::time::{Instant, sleep_until};

use crate::StopReason;
use crate::timeline::slots;
use crate::user::User;
use crate::workload::{Ledger, Workload};

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
        cut_short: bool,
    },
    Setup(StatsSet),
}

/// Users active across every load thread: one count for the run, and the most seen at once in
/// each step. Touched when a user starts or leaves, never per request.
pub(crate) struct UserGauge {
    active: AtomicU32,
    peaks: Vec<AtomicU32>,
}

impl UserGauge {
    pub(crate) fn new(steps: usize) -> UserGauge {
        UserGauge {
            active: AtomicU32::new(0),
            peaks: (0..steps).map(|_| AtomicU32::new(0)).collect(),
        }
    }

    fn started(&self, step: usize) {
        let now = self.active.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some(peak) = self.peaks.get(step) {
            peak.fetch_max(now, Ordering::Relaxed);
        }
    }

    fn left(&self, users: u32) {
        self.active.fetch_sub(users, Ordering::Relaxed);
    }

    /// The most users active at once during `step`, over every load thread.
    pub(crate) fn peak(&self, step: usize) -> u32 {
        self.peaks
            .get(step)
            .map_or(0, |peak| peak.load(Ordering::Relaxed))
    }
}

pub(crate) struct Shard {
    /// What users see: the plan, the connection, the statistics.
    pub(crate) work: Workload,
    gauge: Arc<UserGauge>,
    step: Cell<usize>,
    /// Users between their first request and their last in the current step.
    active: Cell<u32>,
    /// User tasks still running in the current step.
    running: Cell<u32>,
    all_done: Notify,
    stop_now: Notify,
    /// Users kept between steps, with their connections and captured state.
    pool: RefCell<Vec<Option<User>>>,
    /// Open model: scheduled start times waiting for a free user.
    backlog: RefCell<VecDeque<Instant>>,
    idle: Cell<u32>,
    arrivals: Notify,
}

impl Shard {
    pub(crate) fn new(work: Workload, gauge: Arc<UserGauge>) -> Rc<Shard> {
        Rc::new(Shard {
            work,
            gauge,
            step: Cell::new(0),
            active: Cell::new(0),
            running: Cell::new(0),
            all_done: Notify::new(),
            stop_now: Notify::new(),
            pool: RefCell::new(Vec::new()),
            backlog: RefCell::new(VecDeque::new()),
            idle: Cell::new(0),
            arrivals: Notify::new(),
        })
    }

    fn stopping(&self) -> bool {
        self.work.stopping()
    }

    fn take_user(&self, local: usize) -> User {
        let mut pool = self.pool.borrow_mut();
        if pool.len() <= local {
            pool.resize_with(local + 1, || None);
        }
        pool[local].take().unwrap_or_else(|| {
            User::new(
                self.work.share.global(local as u64),
                self.work.plan.captures.len(),
            )
        })
    }

    fn return_user(&self, local: usize, user: User) {
        self.pool.borrow_mut()[local] = Some(user);
    }

    fn user_started(&self) {
        self.active.set(self.active.get() + 1);
        self.gauge.started(self.step.get());
    }

    fn user_finished(&self) {
        self.active.set(self.active.get() - 1);
        self.gauge.left(1);
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
        self.work.set_stopping(true);
        self.stop_now.notify_waiters();
        self.arrivals.notify_waiters();
    }

    /// Tasks that outlived the grace period are cancelled: their users are gone.
    fn abandon(&self, tasks: &mut Vec<tokio::task::JoinHandle<()>>) {
        for task in tasks.drain(..) {
            task.abort();
        }
        self.running.set(0);
        self.gauge.left(self.active.get());
        self.active.set(0);
    }
}

/// Runs every step of the plan on this shard, sending snapshots to the collector.
pub(crate) async fn run(
    shard: Rc<Shard>,
    start: Instant,
    tx: mpsc::UnboundedSender<ShardMsg>,
    mut stop: watch::Receiver<Option<StopReason>>,
) {
    let plan = shard.work.plan.clone();
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
        shard.work.set_stopping(false);
        shard.step.set(index);
        shard.idle.set(0);
        shard.backlog.borrow_mut().clear();
        shard.work.take_interval();
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
                    shard.abandon(&mut tasks);
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
            cut_short,
        });
        if cut_short {
            break;
        }
    }
    let _ = tx.send(ShardMsg::Setup(shard.work.take_setup()));
}

fn send_interval(
    shard: &Shard,
    tx: &mpsc::UnboundedSender<ShardMsg>,
    step: usize,
    slot: usize,
    active_users: u32,
) {
    let _ = tx.send(ShardMsg::Interval {
        step,
        slot,
        active_users,
        stats: shard.work.take_interval(),
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
            for local in 0..shard.work.share.of(users) as usize {
                let global = shard.work.share.global(local as u64) as u32;
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
            for local in 0..shard.work.share.of(requests) as usize {
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
            let pool = shard.work.share.of(max_users).max(1);
            let backlog = shard.work.share.of(max_backlog) as usize;
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
    think: Option<Think>,
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
        user.setup(&shard.work).await;
        shard.user_started();
        let mut done = 0u64;
        while !shard.stopping() && !gone() && iterations.is_none_or(|n| done < n) {
            let think = user.iterate(&shard.work, None, think).await;
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
    let share = shard.work.share;
    let period = Duration::from_secs_f64(share.count as f64 / rate_per_s.max(1e-9));
    let first = step_start + Duration::from_secs_f64(share.index as f64 / rate_per_s.max(1e-9));
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
        shard.work.ledger(Ledger::Step).scheduled += 1;
        let queued = shard.backlog.borrow().len();
        if shard.idle.get() as usize > queued {
            shard.backlog.borrow_mut().push_back(at);
            shard.arrivals.notify_one();
        } else if spawned < pool {
            shard.backlog.borrow_mut().push_back(at);
            spawn_open_user(&shard, spawned as usize);
            spawned += 1;
        } else if queued < backlog {
            // Every user is busy: the arrival waits, as a real client would, and its latency
            // will count from `at`.
            shard.backlog.borrow_mut().push_back(at);
        } else {
            shard.work.ledger(Ledger::Step).dropped += 1;
        }
    }
}

fn spawn_open_user(shard: &Rc<Shard>, local: usize) {
    let me = shard.clone();
    spawn_task(shard, async move {
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
            user.iterate(&shard.work, Some(scheduled), Some(Think::None))
                .await;
        }
        shard.user_finished();
        shard.return_user(local, user);
    });
}
