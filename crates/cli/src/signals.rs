//! Ctrl-C, SIGTERM and SIGHUP, obeyed in every phase of a run.
//!
//! The handlers are installed before the scenario is even read, on a thread of their own
//! (signal-hook's iterator), so a signal never kills the process by its default action and is
//! seen whether the run is starting, loading, running, cooling down or writing. The first
//! signal stops the run: the engine lets in-flight requests finish (bounded by the grace
//! period) and the partial results are written, exit 105. A signal before anything was written
//! ends the command at the next phase boundary, exit 130. A second signal exits at once with
//! 130, after emptying the lock and removing half-written files; what was measured stays in the
//! run record, from which `stampede report` writes the results.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use stampede_engine::StopReason;
use tokio::sync::watch;

use crate::{exit, progress};

type Cleanup = Box<dyn FnOnce() + Send>;

#[derive(Default)]
struct Shared {
    signals: AtomicU32,
    stop: Mutex<Option<watch::Sender<Option<StopReason>>>>,
    cleanup: Mutex<Vec<Cleanup>>,
}

/// The signals a run obeys.
#[derive(Clone)]
pub struct Interrupts {
    shared: Arc<Shared>,
}

impl Interrupts {
    /// Installs the handlers. Call before anything else of a run.
    pub fn install() -> std::io::Result<Interrupts> {
        let shared = Arc::new(Shared::default());
        let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])?;
        let seen = shared.clone();
        std::thread::Builder::new()
            .name("stampede-signals".to_owned())
            .spawn(move || {
                for signal in signals.forever() {
                    on_signal(&seen, signal);
                }
            })?;
        Ok(Interrupts { shared })
    }

    /// True once a signal asked the run to stop.
    pub fn interrupted(&self) -> bool {
        self.shared.signals.load(Ordering::SeqCst) > 0
    }

    /// From now on a signal stops the engine through `stop`; one that came already does so
    /// at once.
    pub fn connect(&self, stop: watch::Sender<Option<StopReason>>) {
        if self.interrupted() {
            stop_engine(&stop);
        }
        *lock(&self.shared.stop) = Some(stop);
    }

    /// Something to do before a second signal ends the process without running destructors.
    pub fn on_hard_exit(&self, cleanup: impl FnOnce() + Send + 'static) {
        lock(&self.shared.cleanup).push(Box::new(cleanup));
    }
}

fn on_signal(shared: &Shared, signal: i32) {
    let name = match signal {
        SIGINT => "Ctrl-C",
        SIGTERM => "SIGTERM",
        _ => "SIGHUP",
    };
    if shared.signals.fetch_add(1, Ordering::SeqCst) == 0 {
        tracing::warn!(
            "{name}: finishing in-flight requests, then writing partial results (again to quit now)"
        );
        if let Some(stop) = lock(&shared.stop).as_ref() {
            stop_engine(stop);
        }
        return;
    }
    progress::clear();
    tracing::warn!("{name} again: exiting without writing results (the run record keeps them)");
    for cleanup in std::mem::take(&mut *lock(&shared.cleanup)) {
        cleanup();
    }
    std::process::exit(i32::from(exit::INTERRUPTED_AGAIN));
}

fn stop_engine(stop: &watch::Sender<Option<StopReason>>) {
    stop.send_if_modified(|current| {
        let first = current.is_none();
        if first {
            *current = Some(StopReason::Interrupted);
        }
        first
    });
}

/// A poisoned lock only means another thread panicked while holding it; the data is a list and
/// an option, still usable.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
