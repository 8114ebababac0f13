//! The stampede scenarios the bench writes: one per load, every per-request feature on.
//!
//! wrk sends one fixed request and looks at nothing; stampede is measured doing what a user
//! relies on: outcome classification (`expect`), a check, and a path templated with one
//! variable on every request (nginx answers any path under `/` with `return 200`).

use std::fmt::Write as _;
use std::time::Duration;

/// The load of one run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Load {
    /// N connections (users), each sending as fast as answers come back.
    Closed { connections: u32 },
    /// A fixed arrival rate in requests per second.
    Open { rate: u32 },
    /// Closed users that each wait `think` between requests: many connections, little load.
    Thinking { users: u32, think: Duration },
    /// A fixed arrival rate as stampede's `soak` kind, built for long runs (minute buckets).
    Soak { rate: u32 },
    /// A fixed arrival rate spread over `names` differently named requests: what a request
    /// name costs in memory.
    Names { rate: u32, names: u32 },
    /// `users` users each holding one SSE stream against the demo target, paired, each
    /// posting a message to its partner every `think`: the target's fan-out makes the events.
    Streams { users: u32, think: Duration },
}

/// Connections oha and stampede may use to hold an open-model rate.
pub const OPEN_MAX_USERS: u32 = 200;

/// The credential the demo target accepts on its conversations API.
const DEMO_KEY: &str = "demo-key";

/// A stampede scenario for `load` against `url`, in the format of `scenarios/`. An `https`
/// url gets `[tls] insecure = true` (the bench's certificate is self-signed) and HTTP/1.1,
/// as wrk speaks.
pub fn toml(load: Load, duration: Duration, url: &str) -> String {
    let base = url.trim_end_matches('/');
    let secs = seconds(duration);
    let mut out = String::from("# Written by `cargo xtask bench`; rewritten on every run.\n");
    let _ = match load {
        Load::Closed { connections } => write!(
            out,
            "kind = \"smoke\"\nusers = {connections}\nduration = \"{secs}\"\n"
        ),
        Load::Thinking { users, .. } => {
            write!(
                out,
                "kind = \"smoke\"\nusers = {users}\nduration = \"{secs}\"\n"
            )
        }
        Load::Open { rate } | Load::Names { rate, .. } => write!(
            out,
            "kind = \"throughput\"\nrates = [{rate}]\nhold = \"{secs}\"\nmax-users = {OPEN_MAX_USERS}\n"
        ),
        Load::Soak { rate } => write!(
            out,
            "kind = \"soak\"\nrate = {rate}\nduration = \"{secs}\"\nmax-users = {OPEN_MAX_USERS}\n"
        ),
        Load::Streams { users, .. } => {
            // Opening thousands of streams at once would measure the accept queue; at 2,000
            // a second they are all open well before the measured part begins.
            let ramp = f64::from(users) / 2_000.0;
            let warmup = (ramp + 2.0).min(duration.as_secs_f64() / 2.0);
            write!(
                out,
                "kind = \"smoke\"\nusers = {users}\nduration = \"{secs}\"\nramp = \"{}\"\nwarmup = \"{}\"\n",
                seconds(Duration::from_secs_f64(ramp)),
                seconds(Duration::from_secs_f64(warmup))
            )
        }
    };
    let _ = writeln!(out, "base-url = \"{base}\"");
    if base.starts_with("https://") {
        out.push_str("http = \"1.1\"\n\n[tls]\ninsecure = true\n");
    }
    match load {
        Load::Names { names, .. } => {
            for n in 0..names {
                request(
                    &mut out,
                    &format!("r{n}"),
                    &format!("/?n={n}&i=${{seq}}"),
                    None,
                );
            }
        }
        Load::Thinking { think, .. } => request(&mut out, "ok", "/?i=${seq}", Some(think)),
        Load::Streams { think, .. } => streams(&mut out, think),
        _ => request(&mut out, "ok", "/?i=${seq}", None),
    }
    out
}

/// One `[[request]]` with the per-request features on.
fn request(out: &mut String, name: &str, path: &str, think: Option<Duration>) {
    let _ = write!(
        out,
        "\n[[request]]\nname = \"{name}\"\npath = \"{path}\"\nexpect = [200]\ncheck = {{ status = 200 }}\n"
    );
    if let Some(think) = think {
        let _ = writeln!(out, "think = \"{}ms\"", think.as_millis());
    }
}

/// Paired users: each holds its inbox and posts to its partner's, so every message is an
/// event on one other stream, with its end-to-end latency on one clock.
fn streams(out: &mut String, think: Duration) {
    let _ = write!(
        out,
        "\n[defaults]\nheaders = {{ Authorization = \"Bearer {DEMO_KEY}\" }}\n\n\
         [[request]]\nname = \"send\"\nmethod = \"POST\"\n\
         path = \"/conversations/u-${{partner}}/messages\"\n\
         json = {{ text = \"hi\", id = \"${{msg_id}}\" }}\nexpect = [201]\n\
         think = \"{}ms\"\n\n\
         [[stream]]\nname = \"inbox\"\nkind = \"sse\"\npath = \"/stream?conversation=u-${{vu}}\"\n\
         expect-within = \"5s\"\npairs = true\n",
        think.as_millis()
    );
}

/// `10s`, `2.5s`: humantime reads neither `10.0s` nor a bare number.
fn seconds(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "http://127.0.0.1:40123/";
    const TEN: Duration = Duration::from_secs(10);

    #[test]
    fn closed_scenario_has_every_per_request_feature() {
        let text = toml(Load::Closed { connections: 50 }, TEN, URL);
        assert!(
            text.contains("kind = \"smoke\"\nusers = 50\nduration = \"10s\"\n"),
            "{text}"
        );
        assert!(
            text.contains("base-url = \"http://127.0.0.1:40123\"\n"),
            "{text}"
        );
        assert!(
            text.ends_with(
                "[[request]]\nname = \"ok\"\npath = \"/?i=${seq}\"\nexpect = [200]\n\
                 check = { status = 200 }\n"
            ),
            "{text}"
        );
        assert!(!text.contains("[tls]"), "{text}");
    }

    #[test]
    fn https_is_insecure_http1() {
        let text = toml(
            Load::Closed { connections: 50 },
            TEN,
            "https://127.0.0.1:40124/",
        );
        assert!(
            text.contains("http = \"1.1\"\n\n[tls]\ninsecure = true\n"),
            "{text}"
        );
    }

    #[test]
    fn open_soak_and_thinking_scenarios() {
        let soak = toml(Load::Soak { rate: 2000 }, Duration::from_secs(600), URL);
        assert!(
            soak.contains("kind = \"soak\"\nrate = 2000\nduration = \"600s\"\n"),
            "{soak}"
        );
        let open = toml(Load::Open { rate: 5000 }, TEN, URL);
        assert!(
            open.contains(
                "kind = \"throughput\"\nrates = [5000]\nhold = \"10s\"\nmax-users = 200\n"
            ),
            "{open}"
        );
        let think = Duration::from_secs(1);
        let scale = toml(
            Load::Thinking {
                users: 10_000,
                think,
            },
            Duration::from_millis(2500),
            URL,
        );
        assert!(
            scale.contains("users = 10000\nduration = \"2500ms\"\n"),
            "{scale}"
        );
        assert!(scale.ends_with("think = \"1000ms\"\n"), "{scale}");
    }

    #[test]
    fn names_are_distinct_requests() {
        let text = toml(
            Load::Names {
                rate: 2000,
                names: 3,
            },
            TEN,
            URL,
        );
        assert_eq!(text.matches("[[request]]").count(), 3, "{text}");
        assert!(
            text.contains("name = \"r2\"\npath = \"/?n=2&i=${seq}\"\n"),
            "{text}"
        );
        assert!(text.contains("rates = [2000]"), "{text}");
    }

    #[test]
    fn streams_pair_users_and_ramp_in() {
        let text = toml(
            Load::Streams {
                users: 4_000,
                think: Duration::from_secs(2),
            },
            Duration::from_secs(20),
            URL,
        );
        assert!(
            text.contains("users = 4000\nduration = \"20s\"\nramp = \"2s\"\nwarmup = \"4s\"\n"),
            "{text}"
        );
        assert!(text.contains("[[stream]]\nname = \"inbox\""), "{text}");
        assert!(text.contains("pairs = true"), "{text}");
        assert!(text.contains("think = \"2000ms\""), "{text}");
        assert!(text.contains("Bearer demo-key"), "{text}");
    }
}
