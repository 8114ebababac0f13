//! A Prometheus endpoint scraped once per sample: a gauge of resident bytes and the rate of a
//! counter of CPU seconds.

use std::time::Duration;

use http_body_util::{BodyExt as _, Empty, Limited};
use hyper::body::Bytes;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use stampede_metrics::format;
use stampede_plan::MetricsUrl;
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::Error;

/// A metrics page larger than this is not a metrics page.
const MAX_SCRAPE_BYTES: usize = 4 << 20;
/// The start check waits longer than a sample does: a target just started may be slow once.
const CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// The URL as messages, logs and results may show it: a query can carry a token, so it is
/// replaced by `?...` (user info never gets this far: the scenario refuses it).
pub(crate) fn redacted(url: &MetricsUrl) -> String {
    match url.path.split_once('?') {
        Some((path, _)) => format!("{}{path}?...", url.server.url()),
        None => url.url(),
    }
}

/// Why `text` is not the Prometheus text format, or `None` when it is: at least one sample,
/// and every line a comment or `name[{labels}] value [timestamp]`.
pub(crate) fn prometheus_problem(text: &str) -> Option<String> {
    let mut samples = 0;
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if !is_sample_line(line) {
            let shown: String = line.chars().take(40).collect();
            return Some(format!("line {} is `{shown}`", number + 1));
        }
        samples += 1;
    }
    (samples == 0).then(|| "it holds no series".to_owned())
}

fn is_sample_line(line: &str) -> bool {
    let name_end = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(line.len());
    let (name, mut rest) = line.split_at(name_end);
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        return false;
    }
    if rest.starts_with('{') {
        match rest.rfind('}') {
            Some(close) => rest = &rest[close + 1..],
            None => return false,
        }
    }
    let mut fields = rest.split_whitespace();
    let value_ok = fields
        .next()
        .is_some_and(|v| v.parse::<f64>().is_ok() || matches!(v, "NaN" | "+Inf" | "-Inf"));
    let timestamp_ok = fields.next().is_none_or(|t| t.parse::<i64>().is_ok());
    value_ok && timestamp_ok && fields.next().is_none()
}

/// A Prometheus endpoint, scraped once per sample.
pub(crate) struct Scrape {
    pub(crate) url: MetricsUrl,
    rss_series: String,
    cpu_series: Option<String>,
    timeout: Duration,
    last_cpu: Option<(Instant, f64)>,
    failing: bool,
    /// The last read had no resident memory: the scrape failed or lost its series.
    missed: bool,
}

impl Scrape {
    pub(crate) fn new(
        url: MetricsUrl,
        rss_series: &str,
        cpu_series: Option<&str>,
        interval: Duration,
    ) -> Scrape {
        Scrape {
            url,
            rss_series: rss_series.to_owned(),
            cpu_series: cpu_series.map(str::to_owned),
            // Short, so a stuck endpoint cannot hold samples back for long, and under the
            // engine's one-second wait for a sample, so a stuck scrape is a counted failure
            // rather than a lost sample of every monitor.
            timeout: interval.clamp(Duration::from_millis(250), Duration::from_millis(800)),
            last_cpu: None,
            failing: false,
            missed: false,
        }
    }

    /// Whether the last read failed, or found no resident memory.
    pub(crate) fn missed(&self) -> bool {
        self.missed
    }

    /// One scrape as the run will make it, but every shortfall an error: no answer, not
    /// Prometheus text, the RSS series (and the CPU one when `cpu` is read from here) absent.
    pub(crate) async fn check(&mut self, cpu: bool) -> Result<(), Error> {
        let url = redacted(&self.url);
        let text = match tokio::time::timeout(CHECK_TIMEOUT, get(&self.url)).await {
            Ok(Ok(text)) => text,
            Ok(Err(why)) => return Err(Error::Scrape { url, why }),
            Err(_) => {
                let why = format!("no answer within {}", format::seconds(CHECK_TIMEOUT));
                return Err(Error::Scrape { url, why });
            }
        };
        if let Some(why) = prometheus_problem(&text) {
            return Err(Error::NotPrometheus { url, why });
        }
        let mut wanted = vec![(&self.rss_series, "resident memory in bytes, `rss`")];
        if let Some(series) = self.cpu_series.as_ref().filter(|_| cpu) {
            wanted.push((series, "CPU seconds counter, `cpu-seconds`"));
        }
        for (series, what) in wanted {
            if series_value(&text, series).is_none() {
                return Err(Error::MissingSeries {
                    url,
                    series: series.clone(),
                    what,
                });
            }
        }
        Ok(())
    }

    pub(crate) async fn read(&mut self) -> (Option<f64>, Option<u64>) {
        self.missed = true;
        let text = match tokio::time::timeout(self.timeout, get(&self.url)).await {
            Ok(Ok(text)) => text,
            Ok(Err(err)) => return self.failed(&err),
            Err(_) => {
                let why = format!("no answer within {}", format::seconds(self.timeout));
                return self.failed(&why);
            }
        };
        if self.failing {
            tracing::info!("scraping {} works again", redacted(&self.url));
            self.failing = false;
        }
        let now = Instant::now();
        let rss = series_value(&text, &self.rss_series)
            .filter(|v| *v >= 0.0)
            .map(|v| v as u64);
        self.missed = rss.is_none();
        let cpu = self.cpu_series.as_deref().and_then(|series| {
            let seconds = series_value(&text, series)?;
            let previous = self.last_cpu.replace((now, seconds));
            let (then, before) = previous?;
            let wall = now.saturating_duration_since(then).as_secs_f64();
            // A counter that went down means the target restarted: no rate this time.
            (wall > 0.0 && seconds >= before).then(|| (seconds - before) / wall * 100.0)
        });
        (cpu, rss)
    }

    /// Logs the first failure of a streak at warn level and the rest at debug, so a cron mail
    /// is not a page of the same line.
    fn failed(&mut self, why: &str) -> (Option<f64>, Option<u64>) {
        if self.failing {
            tracing::debug!("cannot scrape {}: {why}", redacted(&self.url));
        } else {
            tracing::warn!(
                "cannot scrape {}: {why}; trying again each interval",
                redacted(&self.url)
            );
            self.failing = true;
        }
        self.last_cpu = None;
        (None, None)
    }
}

/// One GET over a fresh HTTP/1.1 connection; the body as text, or why not.
pub(crate) async fn get(url: &MetricsUrl) -> Result<String, String> {
    let stream = TcpStream::connect((url.server.host.as_str(), url.server.port))
        .await
        .map_err(|err| format!("cannot connect: {err}"))?;
    let (mut sender, connection) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|err| err.to_string())?;
    // Aborted when this function returns or is dropped by the timeout.
    let driver = AbortOnDrop(tokio::spawn(async move {
        let _ = connection.await;
    }));
    let request = hyper::Request::get(url.path.as_str())
        .header(hyper::header::HOST, url.server.authority())
        .header(hyper::header::ACCEPT, "text/plain")
        .header(hyper::header::CONNECTION, "close")
        .body(Empty::<Bytes>::new())
        .map_err(|err| err.to_string())?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|err| err.to_string())?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("status {status}"));
    }
    let body = Limited::new(response.into_body(), MAX_SCRAPE_BYTES)
        .collect()
        .await
        .map_err(|err| format!("cannot read the body: {err}"))?
        .to_bytes();
    drop(driver);
    Ok(String::from_utf8_lossy(&body).into_owned())
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The value of a series in Prometheus text: a bare name matches its first series, a name with
/// labels (`name{pod="a"}`) matches exactly that series as written.
pub(crate) fn series_value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .find_map(|line| {
            let (key, rest) = match line.find('{') {
                Some(open) => {
                    let close = open + line[open..].find('}')?;
                    line.split_at(close + 1)
                }
                None => line.split_once(char::is_whitespace)?,
            };
            let name = key.split('{').next().unwrap_or(key);
            let matches = if series.contains('{') {
                key == series
            } else {
                name == series
            };
            if !matches {
                return None;
            }
            rest.split_whitespace()
                .next()?
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_series_by_name_or_with_labels() {
        let text = "# HELP process_resident_memory_bytes Resident memory.\n\
                    # TYPE process_resident_memory_bytes gauge\n\
                    process_resident_memory_bytes 1.5e+09\n\
                    app_cpu_seconds_total{pod=\"a\"} 12.5 1700000000\n\
                    app_cpu_seconds_total{pod=\"b\"} 7\n\
                    process_resident_memory_bytes_max 9\n\
                    bad NaN\n";
        assert_eq!(
            series_value(text, "process_resident_memory_bytes"),
            Some(1.5e9)
        );
        assert_eq!(series_value(text, "app_cpu_seconds_total"), Some(12.5));
        assert_eq!(
            series_value(text, "app_cpu_seconds_total{pod=\"b\"}"),
            Some(7.0)
        );
        assert_eq!(series_value(text, "bad"), None);
        assert_eq!(series_value(text, "missing"), None);
    }
}
