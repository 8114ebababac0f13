//! The open model's clock: one start instant per step shared by every load thread, and an
//! alarm that wakes the dispatcher within microseconds of an arrival's due time.
//!
//! tokio's timer counts whole milliseconds and rounds every deadline up, so a dispatcher woken
//! by it alone sends up to a millisecond late, and the latency from the scheduled send charges
//! that lag to the server. On Linux the alarm arms a `timerfd` instead, which the kernel fires
//! on its high-resolution clock and which wakes the runtime's poll like any socket: no thread
//! of its own and no spinning, so the users on the same thread run undisturbed.
//!
//! Each wait arms that one timer and nothing else, at most once per deadline, and its expiry
//! is never read (re-arming resets it): one `timerfd_settime` per wait is the only system call
//! the alarm adds, because a tokio sleep beside it cost a timer-wheel entry and an eventfd
//! write to wake the runtime's own poll, and the read a second call, per arrival. tokio's timer
//! alone serves when its clock is paused (tests: the paused clock jumps straight to its
//! deadlines, which a kernel timer would not see) and where no timerfd can be made.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::{Instant, sleep_until};

/// How far ahead the first load thread to reach a late step sets its start, so that threads
/// arriving a moment after it still start with it instead of catching up on due arrivals.
const LATE_LEAD: Duration = Duration::from_millis(2);

/// When each step starts, agreed by every load thread: shard `i` of `n` takes arrivals
/// `i, i + n, ...` of one schedule, so they interleave only if they count from one instant.
pub(crate) struct StepStarts {
    /// Per step, nanoseconds after the run's start plus one; zero until a thread agrees it.
    after_run_start: Vec<AtomicU64>,
}

impl StepStarts {
    pub(crate) fn new(steps: usize) -> StepStarts {
        StepStarts {
            after_run_start: (0..steps).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// When step `index`, planned at `planned`, starts on this thread: the planned instant, or
    /// when the first thread got there late (threads still starting, a previous step's grace
    /// run over), shortly after that thread arrived. Every thread gets the same instant.
    pub(crate) fn agree(&self, index: usize, run_start: Instant, planned: Instant) -> Instant {
        let now = Instant::now();
        let proposal = if planned >= now {
            planned
        } else {
            now + LATE_LEAD
        };
        let Some(slot) = self.after_run_start.get(index) else {
            return proposal;
        };
        let nanos = proposal.saturating_duration_since(run_start).as_nanos();
        let encoded = u64::try_from(nanos).unwrap_or(u64::MAX - 1) + 1;
        match slot.compare_exchange(0, encoded, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => proposal,
            Err(agreed) => super::later(run_start, Duration::from_nanos(agreed - 1)),
        }
    }
}

/// Wakes the dispatcher when an arrival is due.
pub(super) struct Alarm {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    fine: Option<precise::TimerFd>,
    /// The deadline the timerfd is armed for and has not yet been seen to fire.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    armed: Option<Instant>,
}

impl Alarm {
    /// Must be made inside the runtime whose clock it follows.
    pub(super) fn new() -> Alarm {
        Alarm {
            #[cfg(any(target_os = "linux", target_os = "android"))]
            fine: precise::TimerFd::new().filter(|_| on_the_kernels_clock()),
            #[cfg(any(target_os = "linux", target_os = "android"))]
            armed: None,
        }
    }

    /// Returns once `at` has come (by tokio's clock, paused or not).
    pub(super) async fn until(&mut self, at: Instant) {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        while let Some(fine) = &self.fine {
            let now = Instant::now();
            if now >= at {
                return;
            }
            // A wait cut short (the dispatcher stopped) leaves the timer armed for its
            // deadline; waiting for that deadline again needs no new call.
            if self.armed != Some(at) {
                if fine.arm(at - now).is_err() {
                    self.fine = None;
                    break;
                }
                self.armed = Some(at);
            }
            let fired = fine.fired().await;
            self.armed = None;
            // Fired, so `at` has come on the kernel's clock; if not on tokio's, either the
            // readiness was left from an earlier arming (the loop re-arms) or tokio's clock
            // has been paused since (its own timer waits for the rest).
            if fired.is_err() || (Instant::now() < at && !on_the_kernels_clock()) {
                self.fine = None;
            }
        }
        sleep_until(at).await;
    }
}

/// Whether tokio's clock is the kernel's monotonic one, which a `timerfd` counts: tokio reads
/// it unchanged unless its clock is paused (or was, which leaves it offset), and then an
/// instant read between two of the kernel's is theirs only by a coincidence of nanoseconds.
/// A paused clock the check misses costs only time: the alarm waits the kernel's time first.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn on_the_kernels_clock() -> bool {
    let before = std::time::Instant::now();
    let tokio_now = Instant::now().into_std();
    let after = std::time::Instant::now();
    before <= tokio_now && tokio_now <= after
}

#[cfg(any(target_os = "linux", target_os = "android"))]
mod precise {
    //! A non-blocking `timerfd` on the monotonic clock (the one `Instant` reads), polled by
    //! the runtime's reactor.

    use std::io;
    use std::os::fd::OwnedFd;
    use std::time::Duration;

    use rustix::time::{
        Itimerspec, TimerfdClockId, TimerfdFlags, TimerfdTimerFlags, Timespec, timerfd_create,
        timerfd_settime,
    };
    use tokio::io::unix::AsyncFd;

    pub(super) struct TimerFd {
        fd: AsyncFd<OwnedFd>,
    }

    impl TimerFd {
        /// `None` when the kernel or the runtime refuses one (no reactor, no file descriptor
        /// left): the tokio timer then does the work alone.
        pub(super) fn new() -> Option<TimerFd> {
            let flags = TimerfdFlags::NONBLOCK | TimerfdFlags::CLOEXEC;
            let fd = timerfd_create(TimerfdClockId::Monotonic, flags).ok()?;
            // tokio 1.54 deprecates `new` for `unsafe fn register`, whose one condition (the
            // descriptor stays open and the same while registered) an `OwnedFd` moved into the
            // `AsyncFd` meets by construction; this crate forbids unsafe code.
            #[allow(deprecated)]
            let fd = AsyncFd::new(fd).ok()?;
            Some(TimerFd { fd })
        }

        /// Fires once, `after` from now (which is never zero: a zero time disarms the timer).
        /// Re-arming also forgets an expiry not yet read.
        pub(super) fn arm(&self, after: Duration) -> io::Result<()> {
            let after = after.max(Duration::from_nanos(1));
            let zero = Timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            let value = Timespec {
                tv_sec: after.as_secs().try_into().unwrap_or(i64::MAX),
                tv_nsec: after.subsec_nanos().into(),
            };
            let spec = Itimerspec {
                it_interval: zero,
                it_value: value,
            };
            timerfd_settime(self.fd.get_ref(), TimerfdTimerFlags::empty(), &spec)?;
            Ok(())
        }

        /// Resolves at the next expiry, or at once on a readiness left from an earlier one
        /// (the caller looks at the clock). The expiry count is never read: re-arming resets
        /// it, and the reactor's edge-triggered poll reports every expiry anew all the same.
        pub(super) async fn fired(&self) -> io::Result<()> {
            let mut ready = self.fd.readable().await?;
            ready.clear_ready();
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn every_thread_gets_the_first_threads_start() {
        let starts = StepStarts::new(2);
        let run_start = Instant::now();
        let planned = run_start + Duration::from_secs(1);
        assert_eq!(starts.agree(0, run_start, planned), planned);
        tokio::time::advance(Duration::from_secs(2)).await;
        // A late thread takes the start already agreed, whatever its own clock says.
        assert_eq!(starts.agree(0, run_start, planned), planned);
        // The first to reach a late step sets it a little ahead, and the others follow it.
        let late = starts.agree(1, run_start, planned);
        assert_eq!(late, Instant::now() + LATE_LEAD);
        tokio::time::advance(Duration::from_millis(1)).await;
        assert_eq!(starts.agree(1, run_start, planned), late);
        // A step the table does not know still gets a start.
        assert!(starts.agree(7, run_start, planned) >= Instant::now());
    }

    #[tokio::test(start_paused = true)]
    async fn the_alarm_wakes_at_its_time_on_the_paused_clock() {
        let mut alarm = Alarm::new();
        let at = Instant::now() + Duration::from_micros(1500);
        alarm.until(at).await;
        assert!(Instant::now() >= at);
        // Already due: at once.
        let now = Instant::now();
        alarm.until(now).await;
        assert_eq!(Instant::now(), now);
    }

    #[tokio::test]
    async fn the_kernels_clock_is_told_from_a_paused_one() {
        assert!(on_the_kernels_clock());
        tokio::time::pause();
        tokio::time::advance(Duration::from_millis(5)).await;
        assert!(!on_the_kernels_clock());
    }

    #[tokio::test]
    async fn a_wait_cut_short_never_wakes_the_next_one_early() {
        let mut alarm = Alarm::new();
        let first = Instant::now() + Duration::from_micros(300);
        // Cut short once armed, then waited for again: the armed timer serves.
        tokio::select! {
            biased;
            () = alarm.until(first) => panic!("due already"),
            () = std::future::ready(()) => {}
        }
        alarm.until(first).await;
        assert!(Instant::now() >= first);
        // Cut short, and its expiry left unseen while another alarm passes it: the readiness
        // it leaves does not end the wait for a later deadline.
        let second = Instant::now() + Duration::from_micros(300);
        tokio::select! {
            biased;
            () = alarm.until(second) => panic!("due already"),
            () = std::future::ready(()) => {}
        }
        Alarm::new()
            .until(second + Duration::from_micros(200))
            .await;
        tokio::task::yield_now().await;
        let third = Instant::now() + Duration::from_micros(700);
        alarm.until(third).await;
        assert!(Instant::now() >= third);
    }

    #[tokio::test]
    async fn the_alarm_wakes_at_its_time_on_the_real_clock() {
        let mut alarm = Alarm::new();
        for micros in [1, 250, 1200] {
            let at = Instant::now() + Duration::from_micros(micros);
            alarm.until(at).await;
            assert!(Instant::now() >= at, "{micros} us");
        }
    }
}
