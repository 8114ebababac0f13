//! `[monitor]` or `[[monitor]]`: where the target's CPU and memory are read, and the limits
//! that warn or stop.
//!
//! Only checked and lowered here; the CLI samples. A `metrics-url` is held to loopback like
//! `base-url`, because scraping is traffic too. A pid-file is resolved now but read when the run
//! starts, since the server writes it when it starts.

use std::ops::Range;

use crate::file::{MonitorFile, MonitorLimitFile, MonitorTables};
use crate::spanned::Spanned;
use stampede_plan::{BaseUrl, MetricsUrl, Monitor, MonitorLimit, MonitorProcess};

use super::Lowerer;
use super::url::{LOOPBACK_HINT, is_loopback, split_url};

const CPU_EXAMPLE: &str = "cpu = { warn = \"70%\", stop = \"80%\" } (100% is one core)";
const RSS_EXAMPLE: &str = "rss = { warn = \"1.6GB\", stop = \"1.8GB\" }";

/// `"80%"` -> 80.0: percent of one core, so more than 100 is fine on a multi-core target.
pub(crate) fn parse_cpu(text: &str) -> Result<f64, String> {
    text.trim()
        .strip_suffix('%')
        .and_then(|n| n.trim().parse::<f64>().ok())
        .filter(|v| v.is_finite() && *v > 0.0)
        .ok_or_else(|| {
            format!("invalid CPU limit \"{text}\": expected a percentage above 0, like \"80%\"")
        })
}

/// `"1.8GB"` -> 1.8e9 bytes. kB, MB, GB, TB are powers of 1000 and KiB, MiB, GiB, TiB powers of
/// 1024; units are case-insensitive and a bare number is bytes.
pub(crate) fn parse_size(text: &str) -> Result<f64, String> {
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let factor = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => Some(1.0),
        "kb" => Some(1e3),
        "mb" => Some(1e6),
        "gb" => Some(1e9),
        "tb" => Some(1e12),
        "kib" => Some(1024.0),
        "mib" => Some(1024.0 * 1024.0),
        "gib" => Some(1024.0 * 1024.0 * 1024.0),
        "tib" => Some(1024.0 * 1024.0 * 1024.0 * 1024.0),
        _ => None,
    };
    factor
        .zip(number.parse::<f64>().ok())
        .map(|(factor, n)| n * factor)
        .filter(|v| v.is_finite() && *v >= 1.0)
        .ok_or_else(|| {
            format!("invalid memory size \"{text}\": expected a size like \"1.8GB\" or \"512MiB\"")
        })
}

/// A `[[monitor]]` name: it becomes part of CSV column names and messages.
fn valid_name(name: &str) -> bool {
    name.len() <= 32
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

impl Lowerer<'_> {
    /// Every monitor, in file order (a sample's `source` is its index).
    pub(super) fn monitors(
        &mut self,
        tables: &Spanned<MonitorTables>,
        allow_remote: bool,
    ) -> Vec<Monitor> {
        let files: Vec<(&MonitorFile, Range<usize>)> = match &tables.value {
            MonitorTables::One(file) => vec![(&**file, tables.span.clone())],
            MonitorTables::Many(files) => {
                files.iter().map(|f| (&f.value, f.span.clone())).collect()
            }
        };
        let several = matches!(tables.value, MonitorTables::Many(_));
        let mut names: Vec<String> = Vec::new();
        let mut monitors = Vec::new();
        let mut watches_builtin = false;
        for (file, span) in files {
            let mut monitor = self.monitor(file, span.clone(), allow_remote);
            match &file.name {
                Some(name) if !valid_name(name.trim()) => self.sink.hint(
                    name.span.clone(),
                    format!("`{}` is not a monitor name", name.value),
                    "up to 32 letters, digits, `-` and `_`, like name = \"redis\"",
                ),
                Some(name) if names.iter().any(|n| n == name.trim()) => self.sink.error(
                    name.span.clone(),
                    format!("two monitors are called `{}`", name.trim()),
                ),
                Some(name) => {
                    names.push(name.trim().to_owned());
                    monitor.name = Some(name.trim().to_owned());
                }
                None if several => self.sink.hint(
                    span.clone(),
                    "each [[monitor]] needs a `name`",
                    "name = \"api\"",
                ),
                None => {}
            }
            // With the builtin target, one [[monitor]] without a source watches it (plan 004
            // watches the API beside Redis); any other needs a process or a URL.
            let sourceless = monitor.process.is_none() && monitor.metrics.is_none();
            if several && sourceless {
                if self.base_url == BaseUrl::Builtin && !watches_builtin {
                    watches_builtin = true;
                } else {
                    self.sink.hint(
                        span,
                        "each [[monitor]] needs `pid`, `pid-file` or `metrics-url`",
                        "with base-url = \"builtin\", one [[monitor]] without them watches the \
                         builtin target",
                    );
                }
            }
            monitors.push(monitor);
        }
        monitors
    }

    fn monitor(&mut self, file: &MonitorFile, span: Range<usize>, allow_remote: bool) -> Monitor {
        let process = match (&file.pid, &file.pid_file) {
            (Some(_), Some(pid_file)) => {
                self.sink.hint(
                    pid_file.span.clone(),
                    "`pid` and `pid-file` both name the process to watch",
                    "keep one of them",
                );
                None
            }
            (Some(pid), None) => Some(MonitorProcess::Pid(pid.0)),
            (None, Some(pid_file)) if pid_file.trim().is_empty() => {
                self.sink
                    .error(pid_file.span.clone(), "`pid-file` is empty");
                None
            }
            (None, Some(pid_file)) => Some(MonitorProcess::PidFile(
                self.base_dir.join(pid_file.value.trim()),
            )),
            (None, None) => None,
        };
        let mut monitor = Monitor {
            process,
            ..Monitor::default()
        };
        if let Some(url) = &file.metrics_url {
            monitor.metrics = self.metrics_url(url, allow_remote);
        }
        if let Some(series) = &file.series {
            if file.metrics_url.is_none() {
                self.sink.hint(
                    series.span.clone(),
                    "`series` names what to read from `metrics-url`, which is not set",
                    "metrics-url = \"http://127.0.0.1:9100/metrics\"",
                );
            }
            for (name, target) in [
                (&series.rss, &mut monitor.rss_series),
                (&series.cpu_seconds, &mut monitor.cpu_seconds_series),
            ] {
                if let Some(name) = name {
                    if name.trim().is_empty() || name.trim().contains(char::is_whitespace) {
                        self.sink.error(
                            name.span.clone(),
                            format!("`{}` is not a series name", name.value),
                        );
                    } else {
                        *target = name.trim().to_owned();
                    }
                }
            }
        }
        if let Some(cpu) = &file.cpu {
            monitor.cpu_percent =
                self.limit(cpu, "cpu", parse_cpu, CPU_EXAMPLE, |v| format!("{v}%"));
        }
        if let Some(rss) = &file.rss {
            monitor.rss_bytes = self.limit(rss, "rss", parse_size, RSS_EXAMPLE, |v| {
                stampede_metrics::format::bytes(v)
            });
        }
        monitor.required = file.required.as_ref().map_or(
            monitor.cpu_percent.is_set() || monitor.rss_bytes.is_set(),
            |required| required.value,
        );
        let watched = monitor.process.is_some()
            || monitor.metrics.is_some()
            || self.base_url == BaseUrl::Builtin;
        if !watched && file.pid.is_none() && file.pid_file.is_none() && file.metrics_url.is_none() {
            self.sink.hint(
                span,
                "[monitor] watches nothing: give `pid`, `pid-file` or `metrics-url`",
                "pid-file = \"/run/app.pid\" or metrics-url = \"http://127.0.0.1:9100/metrics\" \
                 (the builtin target is watched without them)",
            );
        }
        monitor
    }

    fn metrics_url(&mut self, url: &Spanned<String>, allow_remote: bool) -> Option<MetricsUrl> {
        let (server, path) = match split_url(url.trim()) {
            Ok(split) => split,
            Err(message) => {
                self.sink.hint(
                    url.span.clone(),
                    message,
                    "metrics-url = \"http://127.0.0.1:9100/metrics\"",
                );
                return None;
            }
        };
        if !allow_remote && !is_loopback(&server.host) {
            self.sink.hint(
                url.span.clone(),
                format!(
                    "metrics-url host `{}` is not a loopback address",
                    server.host
                ),
                LOOPBACK_HINT,
            );
            return None;
        }
        if path.contains('#') {
            self.sink.error(
                url.span.clone(),
                format!("metrics-url `{}` cannot have a fragment", url.value),
            );
            return None;
        }
        let path = if path.is_empty() {
            "/".to_owned()
        } else {
            path
        };
        Some(MetricsUrl { server, path })
    }

    /// One `{ warn, stop }` table: each level parsed, and a warning that comes before the stop.
    fn limit(
        &mut self,
        table: &Spanned<MonitorLimitFile>,
        key: &str,
        parse: fn(&str) -> Result<f64, String>,
        example: &str,
        show: impl Fn(f64) -> String,
    ) -> MonitorLimit {
        let mut level = |text: &Option<Spanned<String>>| {
            let text = text.as_ref()?;
            match parse(&text.value) {
                Ok(value) => Some(value),
                Err(message) => {
                    self.sink.hint(text.span.clone(), message, example);
                    None
                }
            }
        };
        let limit = MonitorLimit {
            warn: level(&table.warn),
            stop: level(&table.stop),
        };
        if table.warn.is_none() && table.stop.is_none() {
            self.sink.hint(
                table.span.clone(),
                format!("`{key}` has neither `warn` nor `stop`"),
                example,
            );
        }
        if let (Some(warn), Some(stop), Some(span)) = (
            limit.warn,
            limit.stop,
            table.warn.as_ref().map(|w| w.span.clone()),
        ) && warn >= stop
        {
            self.sink.hint(
                span,
                format!(
                    "`{key}` warns at {} but stops at {}: the warning would never come first",
                    show(warn),
                    show(stop)
                ),
                "make `warn` lower than `stop`",
            );
        }
        limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_in_decimal_and_binary_units() {
        assert_eq!(parse_size("1.8GB"), Ok(1.8e9));
        assert_eq!(parse_size("1.8 gb"), Ok(1.8e9));
        assert_eq!(parse_size("512MiB"), Ok(512.0 * 1024.0 * 1024.0));
        assert_eq!(parse_size("100kB"), Ok(100_000.0));
        assert_eq!(parse_size("4096"), Ok(4096.0));
        for bad in ["", "GB", "1.8 GBs", "-1GB", "0", "1..2GB", "1.8 G"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cpu_is_a_percentage_of_one_core() {
        assert_eq!(parse_cpu("80%"), Ok(80.0));
        assert_eq!(parse_cpu(" 250 % "), Ok(250.0));
        for bad in ["80", "0%", "-5%", "x%", "inf%"] {
            assert!(parse_cpu(bad).is_err(), "{bad}");
        }
    }
}
