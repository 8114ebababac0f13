//! What the engine can do, as numbers every scenario is checked against.
//!
//! A scenario that validates must run: no value may overflow a duration, spin a load thread, or
//! allocate in proportion to something a typo can make huge. Each limit is far above what a
//! real test needs and far below what breaks, and docs/scenarios.md lists them all ("Limits").

use std::time::Duration;

const DAY: u64 = 24 * 3600;

/// The longest any duration may be, and the longest planned run (every step and cooldown).
pub const MAX_DURATION: Duration = Duration::from_secs(366 * DAY);
/// The longest planned run, every step and cooldown included.
pub const MAX_RUN: Duration = MAX_DURATION;
/// The shortest snapshot interval (and soak bucket): finer only costs memory and CPU.
pub const MIN_INTERVAL: Duration = Duration::from_millis(10);
/// The most steps a plan may have (a capacity sweep's `users`, a throughput sweep's `rates`
/// or `think`).
pub const MAX_STEPS: usize = 10_000;
/// The highest arrival rate: one arrival per microsecond. Faster, the period of one load
/// thread rounds towards nothing and no generator keeps up.
pub const MAX_RATE_PER_S: f64 = 1_000_000.0;
/// The lowest arrival rate: one arrival per 1,000 seconds.
pub const MIN_RATE_PER_S: f64 = 0.001;
/// The most users (and open-model `max-users`, burst `burst-requests`): each is a connection.
pub const MAX_USERS: u32 = 1_000_000;
/// The most open-model iterations waiting for a free user.
pub const MAX_BACKLOG: u32 = 1_000_000;
/// The largest warm-up by count, in requests.
pub const MAX_WARMUP_REQUESTS: u64 = 1_000_000_000;
/// The most requests (names), flows, and steps of one flow or of `[setup]`.
pub const MAX_REQUESTS: usize = 1_000;
/// The most headers of one request, `[defaults]` included.
pub const MAX_HEADERS: usize = 100;
/// The longest path or header value, rendered.
pub const MAX_LINE_BYTES: usize = 8 * 1024;
/// The largest request body, rendered.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
/// The largest scenario file.
pub const MAX_SCENARIO_BYTES: u64 = 16 * 1024 * 1024;
/// The largest `[data]` file.
pub const MAX_DATA_BYTES: u64 = 64 * 1024 * 1024;
/// The most rows of a `[data]` file.
pub const MAX_DATA_ROWS: usize = 1_000_000;
/// The most values (rows times columns) of a `[data]` file: each is a string in memory.
pub const MAX_DATA_VALUES: usize = 10_000_000;
/// The longest scenario `name`, in characters.
pub const MAX_NAME_CHARS: usize = 100;

/// `366 days`, as limits are written in messages (humantime would say `1year 18h`, its
/// year being 365.25 days).
pub fn show(duration: Duration) -> String {
    let secs = duration.as_secs();
    if duration.subsec_nanos() == 0 && secs >= DAY && secs.is_multiple_of(DAY) {
        format!("{} days", secs / DAY)
    } else {
        humantime::format_duration(duration).to_string()
    }
}

/// `16 MiB`.
pub fn show_bytes(bytes: u64) -> String {
    format!("{} MiB", bytes / (1024 * 1024))
}
