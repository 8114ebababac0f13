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

/// A metrics page larger than this is not a metrics page.
const MAX_SCRAPE_BYTES: usize = 4 << 20;

/// A Prometheus endpoint, scraped once per sample.
pub(crate) struct Scrape {
    pub(crate) url: MetricsUrl,
    rss_series: String,
    cpu_series: Option<String>,
    timeout: Duration,
    last_cpu: Option<(Instant, f64)>,
    failing: bool,
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
            // Short, so a stuck endpoint cannot hold samples back for long.
            timeout: interval.clamp(Duration::from_millis(250), Duration::from_secs(2)),
            last_cpu: None,
            failing: false,
        }
    }

    pub(crate) async fn read(&mut self) -> (Option<f64>, Option<u64>) {
        let text = match tokio::time::timeout(self.timeout, get(&self.url)).await {
            Ok(Ok(text)) => text,
            Ok(Err(err)) => return self.failed(&err),
            Err(_) => {
                let why = format!("no answer within {}", format::seconds(self.timeout));
                return self.failed(&why);
            }
        };
        if self.failing {
            tracing::info!("scraping {} works again", self.url.url());
            self.failing = false;
        }
        let now = Instant::now();
        let rss = series_value(&text, &self.rss_series)
            .filter(|v| *v >= 0.0)
            .map(|v| v as u64);
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
            tracing::debug!("cannot scrape {}: {why}", self.url.url());
        } else {
            tracing::warn!(
                "cannot scrape {}: {why}; trying again each interval",
                self.url.url()
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
