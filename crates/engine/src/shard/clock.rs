//! The open model's clock: one start instant per step shared by every load thread, and an
//! alarm that wakes the dispatcher within microseconds of an arrival's due time.
//!
//! tokio's timer counts whole milliseconds and rounds every deadline up, so a dispatcher woken
//! by it alone sends up to a millisecond late, and the latency from the scheduled send charges
//! that lag to the server. On Linux the alarm also arms a `timerfd`, which the kernel fires on
//! its high-resolution clock and which wakes the runtime's poll like any socket: no thread of
//! its own and no spinning, so the users on the same thread run undisturbed. Whichever of the
//! two fires first ends the wait; under tokio's paused clock (tests) that is always tokio's,
//! as the paused clock jumps straight to its deadline. Elsewhere, or when no timerfd can be
//! made, the tokio timer alone is used.

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
}

impl Alarm {
    pub(super) fn new() -> Alarm {
        Alarm {
            #[cfg(any(target_os = "linux", target_os = "android"))]
            fine: precise::TimerFd::new(),
        }
    }

    /// Returns once `at` has come (by tokio's clock, paused or not).
    pub(super) async fn until(&mut self, at: Instant) {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        if let Some(fine) = &self.fine {
            let now = Instant::now();
            if now >= at {
                return;
            }
            if fine.arm(at - now).is_err() {
                self.fine = None;
            } else {
                tokio::select! {
                    biased;
                    fired = fine.fired() => if fired.is_err() {
                        self.fine = None;
                    },
                    () = sleep_until(at) => return,
                }
            }
        }
        // On the real clock the timerfd's time is tokio's, so this is done; a paused clock
        // is behind the kernel's, and is waited for here rather than by re-arming the timerfd
        // (whose every expiry would keep the paused clock from jumping ahead).
        if Instant::now() < at {
            sleep_until(at).await;
        }
    }
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

        /// Resolves when the armed time has passed. A readiness left from an earlier arming
        /// reads nothing (`WouldBlock`) and is waited past.
        pub(super) async fn fired(&self) -> io::Result<()> {
            loop {
                let mut ready = self.fd.readable().await?;
                let read = ready.try_io(|fd| {
                    let mut expirations = [0u8; 8];
                    rustix::io::read(fd.get_ref(), &mut expirations)?;
                    Ok(())
                });
                match read {
                    Ok(result) => {
                        // A one-shot timer read once has nothing more until it is armed
                        // again: forgetting the readiness now saves the next wait a read
                        // that could only say `WouldBlock`.
                        ready.clear_ready();
                        return result;
                    }
                    Err(_would_block) => continue,
                }
            }
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
    async fn the_alarm_wakes_at_its_time_on_the_real_clock() {
        let mut alarm = Alarm::new();
        for micros in [1, 250, 1200] {
            let at = Instant::now() + Duration::from_micros(micros);
            alarm.until(at).await;
            assert!(Instant::now() >= at, "{micros} us");
        }
    }
}
