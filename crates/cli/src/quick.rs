//! `stampede run URL -u 50 -d 30s [--rate R]`: a run against one URL without a scenario file,
//! for people used to `wrk -c50 -d30s URL` or `oha -c 50 -z 30s URL`.
//!
//! The flags are written into an ordinary scenario's TOML, which is then loaded like any file:
//! the same validation (loopback guard included), the same reports, and `--print-scenario`
//! shows that TOML so a quick test can become a file in `scenarios/`. Nothing here runs load.

use stampede_scenario::toml_string as quoted;

/// The scenario key quick runs are stored under: `results/quick/`.
pub const QUICK_KEY: &str = "quick";

/// Flags that only mean something with a URL in place of a scenario.
#[derive(Debug, Default, clap::Args)]
pub struct QuickArgs {
    /// With a URL: concurrent users (closed model), or the most users in flight with --rate.
    #[arg(short = 'u', long, value_name = "N")]
    users: Option<u32>,
    /// With a URL: how long to run (`30s`, `2m`).
    #[arg(short = 'd', long, value_name = "DURATION")]
    duration: Option<String>,
    /// With a URL: requests started per second (the open model: latency from the scheduled
    /// send, as wrk2 and oha -q measure it) instead of users sending back to back.
    #[arg(long, value_name = "PER_SECOND")]
    rate: Option<f64>,
    /// With a URL: the HTTP method.
    #[arg(long, value_name = "METHOD", default_value = "GET")]
    method: String,
    /// Print the scenario TOML the flags make, and exit without running it.
    #[arg(long)]
    print_scenario: bool,
}

/// Users and duration when none are given: wrk's defaults (10 connections, 10 s).
const DEFAULT_USERS: u32 = 10;
const DEFAULT_DURATION: &str = "10s";

/// Whether the scenario argument is a URL rather than a scenario name or file.
pub fn is_url(scenario: &str) -> bool {
    let lower = scenario.to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

impl QuickArgs {
    /// Whether `--print-scenario` asks for the TOML instead of a run.
    pub fn print_only(&self) -> bool {
        self.print_scenario
    }

    /// The flags that were given, by name, so that using them with a scenario file is refused
    /// instead of ignored.
    pub fn given(&self) -> Vec<&'static str> {
        let mut given = Vec::new();
        given.extend(self.users.map(|_| "--users"));
        given.extend(self.duration.as_ref().map(|_| "--duration"));
        given.extend(self.rate.map(|_| "--rate"));
        given.extend((self.method != "GET").then_some("--method"));
        given.extend(self.print_scenario.then_some("--print-scenario"));
        given
    }

    /// The scenario TOML for `url`; `Err` says what is wrong with the URL.
    pub fn scenario(&self, url: &str) -> Result<String, String> {
        let (base, path) = split(url)?;
        let users = self.users.unwrap_or(DEFAULT_USERS);
        let duration = self.duration.as_deref().unwrap_or(DEFAULT_DURATION);
        // Quoted even in the comment: a line break in the URL must not start a key.
        let mut toml = format!(
            "# Made by `stampede run {}`: save it under scenarios/ to run it by name.\n",
            quoted(url)
        );
        match self.rate {
            None => toml.push_str(&format!(
                "kind = \"smoke\"\nusers = {users}\nduration = {}\n",
                quoted(duration)
            )),
            Some(rate) => toml.push_str(&format!(
                "kind = \"throughput\"\nrates = [{rate}]\nhold = {}\nmax-users = {users}\n\
                 warmup = \"0s\"\ncooldown = \"0s\"\n",
                quoted(duration)
            )),
        }
        toml.push_str(&format!(
            "name = \"{QUICK_KEY}\"\nbase-url = {}\n\n[[request]]\nname = {}\nmethod = {}\n\
             path = {}\n",
            quoted(base),
            quoted(&format!("{} {path}", self.method)),
            quoted(&self.method),
            quoted(&path)
        ));
        Ok(toml)
    }
}

/// `http://host:port/path?q` as base-url (`http://host:port`) and path (`/path?q`, or `/`).
fn split(url: &str) -> Result<(&str, String), String> {
    let after_scheme = url.find("://").map(|at| at + 3).ok_or("not a URL")?;
    let path_at = url[after_scheme..]
        .find(['/', '?'])
        .map_or(url.len(), |at| after_scheme + at);
    if path_at == after_scheme {
        return Err(format!("`{url}` names no host"));
    }
    let (base, path) = url.split_at(path_at);
    let path = if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("/{path}")
    };
    Ok((base, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_splits_into_base_and_path() {
        assert_eq!(
            split("http://127.0.0.1:8080/a/b?c=1"),
            Ok(("http://127.0.0.1:8080", "/a/b?c=1".to_owned()))
        );
        assert_eq!(
            split("https://localhost"),
            Ok(("https://localhost", "/".to_owned()))
        );
        assert_eq!(
            split("http://[::1]:9?x=1"),
            Ok(("http://[::1]:9", "/?x=1".to_owned()))
        );
        assert!(split("http:///path").is_err());
    }

    #[test]
    fn the_flags_become_a_smoke_or_an_open_model_scenario() {
        let quick = QuickArgs {
            users: Some(50),
            duration: Some("30s".to_owned()),
            method: "GET".to_owned(),
            ..QuickArgs::default()
        };
        let toml = quick.scenario("http://127.0.0.1:8080/health").unwrap();
        assert!(
            toml.contains("kind = \"smoke\"\nusers = 50\nduration = \"30s\"\n"),
            "{toml}"
        );
        assert!(
            toml.contains("base-url = \"http://127.0.0.1:8080\""),
            "{toml}"
        );
        assert!(toml.contains("path = \"/health\""), "{toml}");
        let open = QuickArgs {
            rate: Some(200.0),
            ..quick
        };
        let toml = open.scenario("http://127.0.0.1:8080/").unwrap();
        assert!(
            toml.contains("kind = \"throughput\"\nrates = [200]\nhold = \"30s\""),
            "{toml}"
        );
        assert!(toml.contains("max-users = 50"), "{toml}");
    }

    #[test]
    fn a_quote_in_the_url_cannot_escape_its_string() {
        let quick = QuickArgs {
            method: "GET".to_owned(),
            ..QuickArgs::default()
        };
        let toml = quick.scenario("http://127.0.0.1/a\"\nusers = 9").unwrap();
        // The line feed stays inside the path's string, where validation refuses it; it
        // never becomes a `users` key of its own.
        let problems = stampede_scenario::load_str(
            &toml,
            "quick",
            std::path::Path::new("."),
            &stampede_scenario::Overrides::default(),
        )
        .expect_err("a path with a line feed is refused")
        .to_string();
        assert!(problems.contains("holds a line feed"), "{problems}");
        assert_eq!(problems.matches("error").count(), 1, "{problems}");
        assert!(toml.contains(r#"path = "/a\"\u000Ausers = 9""#), "{toml}");
    }
}
