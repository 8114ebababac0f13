//! What every connection of one target shares.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use hmac::Hmac;
use sha2::Sha256;

use crate::auth::{self, Auth};
use crate::config::{Config, Faults};
use crate::faults::Rng;
use crate::hub::Hub;
use crate::metrics::Metrics;
use crate::ratelimit::RateLimiter;
use crate::store::Store;
use crate::ws::Room;

pub(crate) struct State {
    /// Requests that reached the router, faults included.
    pub(crate) requests_served: AtomicU64,
    pub(crate) faults: Faults,
    pub(crate) auth: Auth,
    /// Keyed once with the webhook secret; cloned per request.
    pub(crate) webhook_mac: Hmac<Sha256>,
    pub(crate) limiter: RateLimiter,
    /// The bucket every request but `/metrics` shares, when `rate_limit_all_per_s` is set.
    pub(crate) limit_all: Option<RateLimiter>,
    /// Conversations and the event streams that follow them.
    pub(crate) hub: Hub,
    /// The open websockets, for broadcasts.
    pub(crate) room: Room,
    pub(crate) store: Mutex<Store>,
    pub(crate) metrics: Metrics,
    /// The simulated worker pool of the `work` fault.
    pub(crate) workers: tokio::sync::Semaphore,
    seed: u64,
    connections: AtomicU64,
}

impl State {
    pub(crate) fn new(config: &Config) -> Self {
        let seed = config.seed.unwrap_or_else(|| {
            let mut seed = [0u8; 8];
            seed.copy_from_slice(&auth::random_key()[..8]);
            u64::from_le_bytes(seed)
        });
        // The hub draws from its own stream, so its draws do not depend on how many
        // connections came first.
        let hub_seed = Rng::new(seed ^ 0x5EED_F00D_2B1C_3D4A).next_u64();
        State {
            requests_served: AtomicU64::new(0),
            faults: config.faults,
            auth: Auth::new(&config.api_keys),
            webhook_mac: auth::keyed_mac(config.webhook_secret.as_bytes()),
            limiter: RateLimiter::new(config.rate_limit_per_s),
            limit_all: config
                .rate_limit_all_per_s
                .filter(|rate| *rate > 0)
                .map(RateLimiter::new),
            hub: Hub::new(config.streams, hub_seed),
            room: Room::new(config.streams.buffer),
            store: Mutex::new(Store::new(config.store_capacity)),
            workers: tokio::sync::Semaphore::new(config.workers.max(1)),
            metrics: Metrics::new(),
            seed,
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
