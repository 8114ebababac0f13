//! A shard: one thread, one current-thread runtime, a slice of the users.
//!
//! Everything a request touches lives here, in `Cell`s and `RefCell`s owned by one thread: no
//! lock and no shared atomic on the per-request path. Every shard follows the same absolute
//! timeline (steps at `start + offset`), snapshots its statistics at the same interval
//! boundaries, and sends them to the collector, which merges them exactly.
//!
//! A step ends in three moves: the users are told to start nothing new, in-flight requests get
//! the grace period (at most one interval when the run was stopped, and a stop during the grace
//! ends it), and what is still running then is aborted and counted as abandoned, while the
//! arrivals still queued are counted as dropped. A stop is obeyed within one interval whatever
//! the shard is doing: waiting for a step, ramping, connecting, dispatching or in the grace.

mod clock;
mod open;

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::task::Poll;
use std::time::Duration;

use futures_util::FutureExt as _;
use stampede_metrics::StatsSet;
use stampede_plan::{Load, Step, Think};
use tokio::sync::{Notify, mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep_until};

use crate::StopReason;
use crate::collect::Part;
use crate::inflight::Iteration;
use crate::ramp;
use crate::stream::{self, Leaving};
use crate::timeline::{Slot, slots};
use crate::user::User;
use crate::workload::{Ledger, Workload};

use clock::StepStarts;
use open::Schedule;

/// An open-model iteration that started later than scheduled by more than this is a late start.
const LATE_START: Duration = Duration::from_millis(10);

/// What a shard tells the collector.
#[derive(Debug)]
pub(crate) enum ShardMsg {
    Interval {
        step: usize,
        slot: usize,
        part: Part,
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
    /// Per stream, how many are open; per step and stream, the most open at once. Touched
    /// when a stream opens or closes, never per event.
    streams_open: Vec<AtomicU32>,
    stream_peaks: Vec<Vec<AtomicU32>>,
    /// When each step starts, one instant for every load thread.
    starts: StepStarts,
}

impl UserGauge {
    pub(crate) fn new(steps: usize, streams: usize) -> UserGauge {
        let counters = || (0..streams).map(|_| AtomicU32::new(0)).collect::<Vec<_>>();
        UserGauge {
            active: AtomicU32::new(0),
            peaks: (0..steps).map(|_| AtomicU32::new(0)).collect(),
            streams_open: counters(),
            stream_peaks: (0..steps).map(|_| counters()).collect(),
            starts: StepStarts::new(steps),
        }
    }

    /// Stream `index` opened (true) or closed (false) during `step`.
    fn stream(&self, step: usize, index: usize, open: bool) {
        let Some(count) = self.streams_open.get(index) else {
            return;
        };
        if !open {
            count.fetch_sub(1, Ordering::Relaxed);
            return;
        }
        let now = count.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some(peak) = self.stream_peaks.get(step).and_then(|p| p.get(index)) {
            peak.fetch_max(now, Ordering::Relaxed);
        }
    }

    /// How many of each stream are open now, over every load thread.
    pub(crate) fn streams_open(&self) -> Vec<u32> {
        self.streams_open
            .iter()
            .map(|n| n.load(Ordering::Relaxed))
            .collect()
    }

    /// The most of each stream open at once during `step`, over every load thread.
    pub(crate) fn stream_peaks(&self, step: usize) -> Vec<u32> {
        self.stream_peaks.get(step).map_or_else(Vec::new, |peaks| {
            peaks.iter().map(|p| p.load(Ordering::Relaxed)).collect()
        })
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
    /// The current step's tasks (users and the dispatcher), to abort at the end of the grace.
    tasks: RefCell<Vec<JoinHandle<()>>>,
    /// Users kept between steps, with their connections and captured state.
    pool: RefCell<Vec<Option<User>>>,
    /// Open model: scheduled start times waiting for a free user.
    backlog: RefCell<VecDeque<Instant>>,
    idle: Cell<u32>,
    arrivals: Notify,
    /// Open model: how long an iteration has lately taken here (none yet: unknown).
    iteration_time: Cell<Option<Duration>>,
    /// Open model: the dispatcher has arrivals left to schedule in the current step.
    dispatching: Cell<bool>,
    dispatch_done: Notify,
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
            tasks: RefCell::new(Vec::new()),
            pool: RefCell::new(Vec::new()),
            backlog: RefCell::new(VecDeque::new()),
            idle: Cell::new(0),
            arrivals: Notify::new(),
            iteration_time: Cell::new(None),
            dispatching: Cell::new(false),
            dispatch_done: Notify::new(),
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
            User::new(self.work.user_number(local), self.work.plan.captures.len())
        })
    }

    fn return_user(&self, local: usize, user: User) {
        if let Some(slot) = self.pool.borrow_mut().get_mut(local) {
            *slot = Some(user);
        }
    }

    fn user_started(&self) {
        self.active.set(self.active.get() + 1);
        self.gauge.started(self.step.get());
    }

    fn user_finished(&self) {
        self.active.set(self.active.get().saturating_sub(1));
        self.gauge.left(1);
    }

    fn task_finished(&self) {
        self.running.set(self.running.get().saturating_sub(1));
        if self.running.get() == 0 {
            self.all_done.notify_waiters();
        }
    }

    fn dispatched(&self) {
        self.dispatching.set(false);
        self.dispatch_done.notify_waiters();
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

    /// Waits until the dispatcher has scheduled every arrival of the step.
    async fn wait_dispatch(&self) {
        loop {
            let done = self.dispatch_done.notified();
            if !self.dispatching.get() {
                return;
            }
            done.await;
        }
    }

    fn end_step(&self) {
        self.work.set_stopping(true);
        self.stop_now.notify_waiters();
        self.arrivals.notify_waiters();
    }

    /// Tasks that outlived the grace period are cancelled: their users are gone. Awaiting them
    /// drops their futures here, so their guards count what was cut off in this step's last
    /// interval; arrivals still queued were never sent and are dropped.
    async fn abandon(&self) {
        let tasks = std::mem::take(&mut *self.tasks.borrow_mut());
        for task in &tasks {
            task.abort();
        }
        for task in tasks {
            let _ = task.await;
        }
        self.running.set(0);
        self.gauge.left(self.active.get());
        self.active.set(0);
        self.idle.set(0);
        self.dispatching.set(false);
    }

    /// The warm-up requests measured since the last call, if any. Statistics are taken only
    /// when there was something, so a plan without a warm-up by count never sends a warm-up
    /// part (nor makes the collector merge and return one).
    fn warmup_part(&self) -> Option<StatsSet> {
        let used = {
            let warmup = self.work.ledger(Ledger::Warmup);
            warmup.iterations > 0
                || warmup.abandoned > 0
                || warmup.requests.iter().any(|r| r.requests() > 0)
        };
        used.then(|| self.work.take_warmup())
    }

    /// Arrivals left in the backlog when the step is over were never sent.
    fn drop_backlog(&self) {
        let left = self.backlog.borrow_mut().drain(..).count() as u64;
        self.work.ledger(Ledger::Step).dropped += left;
    }
}

/// Lets the tasks already woken run first: this one wakes itself and so joins the back of the
/// run queue, where `yield_now` would wait for the reactor to be polled too.
async fn after_woken_tasks() {
    let mut queued = false;
    std::future::poll_fn(|cx| {
        if queued {
            return Poll::Ready(());
        }
        queued = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    })
    .await;
}

/// `start + offset`, or a moment no run reaches when that is past what an `Instant` holds.
fn later(start: Instant, offset: Duration) -> Instant {
    start
        .checked_add(offset)
        .unwrap_or_else(|| start + Duration::from_secs(100 * 365 * 24 * 3600))
}

/// How the step's slot loop ended.
struct Ending {
    cut_short: bool,
    finished_early: bool,
}

/// Runs every step of the plan on this shard, sending snapshots to the collector.
pub(crate) async fn run(
    shard: Rc<Shard>,
    start: Instant,
    tx: mpsc::UnboundedSender<ShardMsg>,
    mut stop: watch::Receiver<Option<StopReason>>,
) {
    let plan = shard.work.plan.clone();
    for (index, (step, offset)) in plan.steps.iter().zip(plan.offsets()).enumerate() {
        let step_start = shard.gauge.starts.agree(index, start, later(start, offset));
        if stop.borrow().is_some() {
            break;
        }
        tokio::select! {
            () = sleep_until(step_start) => {}
            _ = stop.changed() => break,
        }
        let ending = run_step(&shard, index, step, step_start, &tx, &mut stop).await;
        let _ = tx.send(ShardMsg::StepDone {
            step: index,
            ended: Instant::now().saturating_duration_since(step_start),
            cut_short: ending.cut_short,
        });
        if ending.cut_short || stop.borrow().is_some() {
            break;
        }
    }
    let _ = tx.send(ShardMsg::Setup(shard.work.take_setup()));
}

/// One step on this shard: its load, its intervals, its grace.
async fn run_step(
    shard: &Rc<Shard>,
    index: usize,
    step: &Step,
    step_start: Instant,
    tx: &mpsc::UnboundedSender<ShardMsg>,
    stop: &mut watch::Receiver<Option<StopReason>>,
) -> Ending {
    let plan = shard.work.plan.clone();
    shard.work.set_stopping(false);
    shard.work.mailbox.forget();
    shard.step.set(index);
    shard.idle.set(0);
    shard.backlog.borrow_mut().clear();
    shard.work.take_interval();
    shard.warmup_part();
    let share = shard.work.share;
    let warmup = plan.warmup_requests(index);
    let (count, at) = (share.count as u64, share.index as u64);
    shard
        .work
        .start_warmup(warmup / count + u64::from(at < warmup % count));
    let limited = spawn_load(shard, step, step_start);

    let mut ending = Ending {
        cut_short: false,
        finished_early: false,
    };
    for (n, slot) in slots(step.hold, step.warmup, plan.interval).enumerate() {
        let boundary = later(step_start, slot.end);
        tokio::select! {
            () = sleep_until(boundary) => {}
            _ = stop.changed() => ending.cut_short = true,
            true = shard.wait_users(None), if limited => ending.finished_early = true,
        }
        let last = slot.end >= step.hold;
        if !(last || ending.cut_short || ending.finished_early) {
            send_interval(shard, tx, index, n, slot, shard.active.get());
            continue;
        }
        if !ending.cut_short && !ending.finished_early {
            // The hold is over, so every arrival is due: let the dispatcher schedule the last
            // of them (a stop still wins), and let woken users take theirs before the end.
            tokio::select! {
                () = shard.wait_dispatch() => {}
                _ = stop.changed() => ending.cut_short = true,
            }
            tokio::task::yield_now().await;
        }
        // Let in-flight requests finish, bounded by the grace period (one interval at most
        // after a stop, and a stop during it ends it), so that what the server saw and what we
        // report agree; then close the step's last interval, with the users that were active
        // when it ended, not the none left after.
        let active_at_end = shard.active.get();
        shard.end_step();
        let grace = if ending.cut_short {
            plan.grace.min(plan.interval)
        } else {
            plan.grace
        };
        let deadline = later(Instant::now(), grace);
        let finished = tokio::select! {
            done = shard.wait_users(Some(deadline)) => done,
            _ = stop.changed() => false,
        };
        if !finished {
            shard.abandon().await;
        }
        shard.tasks.borrow_mut().clear();
        shard.drop_backlog();
        send_interval(shard, tx, index, n, slot, active_at_end);
        return ending;
    }
    // A step without a slot (no hold) still ends: nothing it started may outlive it.
    shard.end_step();
    shard.abandon().await;
    shard.drop_backlog();
    ending
}

/// Sends this shard's part of one slot: with a warm-up by count, the requests it left out, and
/// everything while it is still warming up, go to the warm-up part.
fn send_interval(
    shard: &Shard,
    tx: &mpsc::UnboundedSender<ShardMsg>,
    step: usize,
    slot: usize,
    bounds: Slot,
    active_users: u32,
) {
    let stats = shard.work.take_interval();
    let (warmup, measured) = if shard.work.warming() {
        let mut warmup = shard
            .warmup_part()
            .unwrap_or_else(|| StatsSet::new(stats.requests.len()));
        warmup.add(&stats);
        (Some(warmup), None)
    } else {
        (shard.warmup_part(), Some(stats))
    };
    let part = Part {
        bounds,
        active_users,
        warmup,
        measured,
        home: shard.work.home(),
    };
    let _ = tx.send(ShardMsg::Interval { step, slot, part });
}

/// Starts the step's users on this shard. True when they stop by themselves (an iteration
/// limit), so the step may end before its hold.
fn spawn_load(shard: &Rc<Shard>, step: &Step, step_start: Instant) -> bool {
    match step.load {
        Load::Closed { users } => {
            for local in 0..shard.work.users_here(ramp::closed_users(step)) as usize {
                let global = shard.work.user_number(local) as u32;
                let timing = ramp::closed_timing(step, users, global);
                let timing = Timing {
                    at: later(step_start, timing.arrive),
                    leave: timing.leave.map(|at| later(step_start, at)),
                };
                spawn_closed(shard, local, timing, step.think, step.iterations_per_user);
            }
            step.iterations_per_user.is_some()
        }
        Load::Burst { requests } => {
            for local in 0..shard.work.share.of(requests) as usize {
                let timing = Timing {
                    at: step_start,
                    leave: None,
                };
                spawn_closed(shard, local, timing, step.think, Some(1));
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
            let schedule = Schedule::new(rate_per_s, step.hold);
            shard.dispatching.set(true);
            let dispatcher = open::dispatch(shard.clone(), schedule, step_start, pool, backlog);
            spawn_task(shard, dispatcher);
            false
        }
    }
}

/// Spawns one of the step's tasks, counted in `running` and kept for the end of the grace.
fn spawn_task(shard: &Rc<Shard>, future: impl Future<Output = ()> + 'static) {
    shard.running.set(shard.running.get() + 1);
    let me = shard.clone();
    // A combinator, not `async { future.await; .. }`: that block would keep the future twice,
    // once captured and once being awaited, and a user's task is mostly its future.
    let handle = tokio::task::spawn_local(future.map(move |()| me.task_finished()));
    shard.tasks.borrow_mut().push(handle);
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
) {
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
        let leaving = Rc::new(Leaving::default());
        for index in 0..shard.work.plan.streams.len() {
            spawn_stream(&shard, index, &user, &leaving);
        }
        let mut done = 0u64;
        while !shard.stopping() && !gone() && iterations.is_none_or(|n| done < n) {
            let iteration = Iteration::start(&shard.work);
            let think = user.iterate(&shard.work, None, think).await;
            iteration.finish();
            done += 1;
            if shard.stopping() {
                continue;
            }
            if think.is_zero() {
                // Send after the users whose responses are already in hand have read them, as
                // an event loop like wrk's does: a response that has arrived is not left unread
                // (and its latency growing) while this user builds and sends its next request.
                after_woken_tasks().await;
                continue;
            }
            let wake = shard.stop_now.notified();
            if shard.stopping() {
                break;
            }
            // A user due to leave during its think time leaves then, not after it.
            let until = leave.map_or(later(Instant::now(), think), |t| {
                t.min(later(Instant::now(), think))
            });
            tokio::select! {
                () = sleep_until(until) => {}
                () = wake => break,
            }
        }
        leaving.leave();
        shard.user_finished();
        shard.return_user(local, user);
    });
}

/// Starts one of a user's stream holders, a task of the step beside the user's own: the end
/// of the grace period aborts it like any other.
fn spawn_stream(shard: &Rc<Shard>, index: usize, user: &User, leaving: &Rc<Leaving>) {
    let me = shard.clone();
    let (id, captures, leaving) = (user.id, user.captures().to_vec(), leaving.clone());
    let step = shard.step.get();
    spawn_task(shard, async move {
        let open = |open: bool| me.gauge.stream(step, index, open);
        stream::hold(&me.work, index, id, captures, &leaving, &open).await;
    });
}
