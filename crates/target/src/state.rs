//! What every connection of one target shares.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use hmac::Hmac;
use sha2::Sha256;

use crate::auth::{self, Auth};
use crate::config::{Config, Faults};
use crate::faults::Rng;
use crate::metrics::Metrics;
use crate::ratelimit::RateLimiter;
use crate::store::Store;

pub(crate) struct State {
    /// Requests that reached the router, faults included.
    pub(crate) requests_served: AtomicU64,
    pub(crate) faults: Faults,
    pub(crate) auth: Auth,
    /// Keyed once with the webhook secret; cloned per request.
    pub(crate) webhook_mac: Hmac<Sha256>,
    pub(crate) limiter: RateLimiter,
    pub(crate) store: Mutex<Store>,
    pub(crate) metrics: Metrics,
    /// The simulated worker pool of the `work` fault.
    pub(crate) workers: tokio::sync::Semaphore,
    seed: u64,
    connections: AtomicU64,
}

impl State {
    pub(crate) fn new(config: &Config) -> Self {
        let seed_bytes = auth::random_key();
        let mut seed = [0u8; 8];
        seed.copy_from_slice(&seed_bytes[..8]);
        State {
            requests_served: AtomicU64::new(0),
            faults: config.faults,
            auth: Auth::new(&config.api_keys),
            webhook_mac: auth::keyed_mac(config.webhook_secret.as_bytes()),
            limiter: RateLimiter::new(config.rate_limit_per_s),
            store: Mutex::new(Store::new(config.store_capacity)),
            workers: tokio::sync::Semaphore::new(config.workers.max(1)),
            metrics: Metrics::new(),
            seed: u64::from_le_bytes(seed),
            connections: AtomicU64::new(0),
        }
    }

    /// A PRNG for a new connection: each connection draws its own stream, so fault coin
    /// flips need no shared state.
    pub(crate) fn connection_rng(&self) -> Rng {
        let n = self.connections.fetch_add(1, Ordering::Relaxed);
        let mut mixer = Rng::new(self.seed ^ n.wrapping_mul(0xD1B5_4A32_D192_ED03));
        Rng::new(mixer.next_u64())
    }
}

/// Locks `mutex`, carrying on after a panic elsewhere: every value guarded here stays
/// consistent between statements, so a poisoned lock holds nothing half-written that matters.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
