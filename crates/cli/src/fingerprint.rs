//! A run's configuration fingerprint: the scenario's hash, the overrides applied, the target,
//! threads, this stampede's version, the host and its CPUs. Only the CLI sees all of them; the
//! reporter stores it and `history` groups runs by it, so a trend never mixes configurations.

use stampede_plan::BaseUrl;
use stampede_reporter::Fingerprint;
use stampede_scenario::Overrides;

use crate::scenarios::Loaded;

/// What a redacted override value reads as.
const REDACTED: &str = "<redacted>";

/// Parts of an override's key that mark its value as a possible secret: a header (an
/// Authorization), a signing key, a token. Such values never reach a result file.
const SECRET_KEY_PARTS: [&str; 9] = [
    "auth",
    "token",
    "secret",
    "password",
    "key",
    "cookie",
    "header",
    "sign",
    "credential",
];

/// The fingerprint of `loaded` run with `threads` load threads.
pub fn of(loaded: &Loaded, threads: usize) -> Fingerprint {
    let plan = &loaded.plan;
    Fingerprint {
        scenario_sha256: loaded.sha256.clone(),
        overrides: loaded.overrides.clone(),
        target: match &plan.base_url {
            // The embedded target listens on a new port each run; it is the same target.
            BaseUrl::Builtin => "builtin".to_owned(),
            BaseUrl::Http(base) => base.url_for(plan.tls.is_some()),
        },
        threads,
        version: env!("CARGO_PKG_VERSION").to_owned(),
        host: host(),
        cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
    }
}

/// The overrides as a reader would retype them, in layering order, secret-looking values
/// redacted.
pub fn shown(overrides: &Overrides) -> Vec<String> {
    let mut env: Vec<&(String, String)> = overrides.env.iter().collect();
    env.sort();
    let mut out: Vec<String> = env
        .into_iter()
        .map(|(name, value)| format!("{name}={}", redact(name, value)))
        .collect();
    for set in &overrides.set {
        out.push(match set.split_once('=') {
            Some((key, value)) => format!("--set {key}={}", redact(key, value)),
            None => format!("--set {set}"),
        });
    }
    out.extend(overrides.target.iter().map(|t| format!("--target {t}")));
    out
}

fn redact<'a>(key: &str, value: &'a str) -> &'a str {
    let key = key.to_ascii_lowercase();
    if SECRET_KEY_PARTS.iter().any(|part| key.contains(part)) || value.contains("${env:") {
        REDACTED
    } else {
        value
    }
}

/// The host's name as the kernel has it, or `unknown` where it cannot be read.
fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_are_shown_with_secret_values_redacted() {
        let overrides = Overrides {
            set: vec![
                "users=[1, 2]".to_owned(),
                "defaults.headers.Authorization=Bearer abc".to_owned(),
                "request.0.sign.hmac-sha256.secret=s3cr3t".to_owned(),
            ],
            env: vec![
                ("STAMPEDE_HOLD".to_owned(), "10s".to_owned()),
                ("STAMPEDE_API_TOKEN".to_owned(), "t0k3n".to_owned()),
            ],
            target: Some("http://127.0.0.1:9".to_owned()),
            allow_remote: false,
        };
        assert_eq!(
            shown(&overrides),
            [
                "STAMPEDE_API_TOKEN=<redacted>",
                "STAMPEDE_HOLD=10s",
                "--set users=[1, 2]",
                "--set defaults.headers.Authorization=<redacted>",
                "--set request.0.sign.hmac-sha256.secret=<redacted>",
                "--target http://127.0.0.1:9",
            ]
        );
    }
}
