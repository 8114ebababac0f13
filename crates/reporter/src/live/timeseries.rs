//! timeseries.csv: one row per interval and request name, plus an `Aggregated` row, streamed as
//! intervals arrive. Every figure is for that interval alone, never cumulative (unlike Locust's
//! `_stats_history.csv`), so a row can be plotted without differencing.
//!
//! Columns: `Timestamp` (Unix seconds at the interval's start), `Offset` (seconds from the start
//! of the run), `Step` (from 1), `Warmup` (`true`/`false`), `Active Users` (at the interval's
//! end), `Name`, `Requests/s`, `Failures/s`, `p50`, `p95`, `p99` (ms, the headline latency of
//! `Figures`), then the count of each outcome, then `Target CPU %` and `Target RSS MB` (the
//! monitor's latest sample, on `Aggregated` rows only; empty without a monitor), then `Latency
//! From` (`sent`, or `scheduled` where the percentiles count from the scheduled send). A request
//! with no requests in an interval has no row there; the `Aggregated` row is always written, so
//! an idle interval still shows. Numbers are written by `stampede_metrics::format`. With a series
//! interval, rows merge that many engine intervals.

use std::io::Write;

use crate::live::window::Window;
use stampede_metrics::format::{ms, trim};
use stampede_metrics::{Figures, MonitorSample, Outcome, RequestStats};

pub(crate) fn header() -> Vec<&'static str> {
    let mut header = vec![
        "Timestamp",
        "Offset",
        "Step",
        "Warmup",
        "Active Users",
        "Name",
        "Requests/s",
        "Failures/s",
        "p50",
        "p95",
        "p99",
    ];
    header.extend(Outcome::ALL.iter().map(|o| o.key()));
    header.extend(["Target CPU %", "Target RSS MB", "Latency From"]);
    header
}

pub(crate) fn write_header(out: &mut impl Write) -> csv::Result<()> {
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(header())?;
    writer.flush()?;
    Ok(())
}

/// Writes the rows of one window. `started_unix` is the run's start in Unix seconds.
pub(crate) fn write_rows(
    out: &mut impl Write,
    window: &Window,
    started_unix: f64,
    names: &[String],
) -> csv::Result<()> {
    let mut writer = csv::Writer::from_writer(out);
    let offset = window.start.as_secs_f64();
    let seconds = window.length().as_secs_f64();
    let lead = [
        trim(started_unix + offset, 3),
        trim(offset, 3),
        (window.step + 1).to_string(),
        window.warmup.to_string(),
        window.users.to_string(),
    ];
    let target = |sample: Option<&MonitorSample>| -> [String; 2] {
        let cpu = sample.and_then(|s| s.cpu_percent).map(|c| trim(c, 1));
        let rss = sample
            .and_then(|s| s.rss_bytes)
            .map(|b| trim(b as f64 / 1e6, 1));
        [cpu.unwrap_or_default(), rss.unwrap_or_default()]
    };
    let mut row = |name: &str, stats: &RequestStats, sample| -> csv::Result<()> {
        let figures = Figures::of(stats, seconds);
        let latency = &figures.latency_ms;
        let mut fields: Vec<String> = lead.to_vec();
        fields.extend([
            name.to_owned(),
            trim(figures.rps, 3),
            trim(figures.failed_rps, 3),
            ms(latency.p50),
            ms(latency.p95),
            ms(latency.p99),
        ]);
        fields.extend(stats.outcomes.iter().map(|(_, n)| n.to_string()));
        fields.extend(target(sample));
        fields.push(latency_from(&figures).to_owned());
        writer.write_record(&fields)
    };
    for (name, stats) in names.iter().zip(&window.stats.requests) {
        if stats.requests() > 0 {
            row(name, stats, None)?;
        }
    }
    row(
        "Aggregated",
        &window.stats.aggregate(),
        window.monitor.as_ref(),
    )?;
    writer.flush()?;
    Ok(())
}

/// `sent` or `scheduled`: what a row's latency counts from.
pub(crate) fn latency_from(figures: &Figures) -> &'static str {
    match figures.latency_from {
        stampede_metrics::LatencyFrom::Sent => "sent",
        stampede_metrics::LatencyFrom::Scheduled => "scheduled",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stampede_metrics::{IntervalSnapshot, StatsSet};
    use std::time::Duration;

    fn snapshot(
        seq: u64,
        step: usize,
        warmup: bool,
        fill: impl Fn(&mut StatsSet),
    ) -> IntervalSnapshot {
        let mut stats = StatsSet::new(2);
        fill(&mut stats);
        IntervalSnapshot {
            step,
            seq,
            start: Duration::from_secs(seq),
            length: Duration::from_secs(1),
            warmup,
            active_users: 4,
            stats,
            monitor: Vec::new(),
        }
    }

    #[test]
    fn golden_rows_are_per_interval_not_cumulative() {
        let names = vec!["login".to_owned(), "GET /items".to_owned()];
        let snaps = [
            snapshot(0, 0, true, |s| {
                s.requests[0].outcomes.bump(Outcome::Status2xx);
                s.requests[0].latency.record_us(2000);
            }),
            snapshot(1, 0, false, |s| {
                for us in [1000, 2000, 3000, 4000] {
                    s.requests[1].outcomes.bump(Outcome::Status2xx);
                    s.requests[1].latency.record_us(us);
                }
                s.requests[1].outcomes.bump(Outcome::Timeout);
                s.requests[1].failed += 1;
                s.requests[1].latency.record_us(30_000);
            }),
            // The monitor's first sample arrives with the last interval.
            IntervalSnapshot {
                monitor: vec![MonitorSample {
                    source: 0,
                    offset: Duration::from_secs(2),
                    cpu_percent: Some(12.34),
                    rss_bytes: Some(52_400_000),
                    failed: false,
                }],
                ..snapshot(2, 0, false, |_| {})
            },
        ];
        let mut out = Vec::new();
        write_header(&mut out).unwrap();
        let mut window = Window::new(1);
        for snap in &snaps {
            window.push(snap, &snap.stats, |w| {
                write_rows(&mut out, w, 1_700_000_000.5, &names).unwrap()
            });
        }
        let want = "\
Timestamp,Offset,Step,Warmup,Active Users,Name,Requests/s,Failures/s,p50,p95,p99,2xx,3xx,4xx,429,5xx,timeout,refused,reset,other,abandoned,Target CPU %,Target RSS MB,Latency From
1700000000.5,0,1,true,4,login,1,0,2,2,2,1,0,0,0,0,0,0,0,0,0,,,sent
1700000000.5,0,1,true,4,Aggregated,1,0,2,2,2,1,0,0,0,0,0,0,0,0,0,,,sent
1700000001.5,1,1,false,4,GET /items,5,1,3.001,30.015,30.015,4,0,0,0,0,1,0,0,0,0,,,sent
1700000001.5,1,1,false,4,Aggregated,5,1,3.001,30.015,30.015,4,0,0,0,0,1,0,0,0,0,,,sent
1700000002.5,2,1,false,4,Aggregated,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,12.3,52.4,sent
";
        assert_eq!(String::from_utf8(out).unwrap(), want);
    }
}
