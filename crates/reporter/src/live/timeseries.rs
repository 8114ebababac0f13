//! timeseries.csv: one row per interval and request name, plus an `Aggregated` row, streamed as
//! intervals arrive. Every figure is for that interval alone, never cumulative (unlike Locust's
//! `_stats_history.csv`), so a row can be plotted without differencing.
//!
//! Columns: `Timestamp` (Unix seconds at the interval's start), `Offset` (seconds from the start
//! of the run), `Step` (from 1), `Warmup` (`true`/`false`), `Active Users` (at the interval's
//! end), `Name`, `Requests/s`, `Failures/s`, `p50`, `p95`, `p99` (ms, the headline latency of
//! `Figures`), then the count of each outcome, then `Target CPU %` and `Target RSS MB` (the
//! monitor's latest sample, on `Aggregated` rows only; empty without a monitor or when it could
//! not read; with several `[[monitor]]`s, `<name> CPU %` and `<name> RSS MB` for each), then `Latency
//! From` (`sent`, or `scheduled` where the percentiles count from the scheduled send), then, for
//! each `[[stream]]` (none without), `<stream> Open` (open as the row's last interval was
//! collected), `<stream> Events/s`, `<stream> e2e p95`, `<stream> rtt p95` (ms, empty when none
//! happened) and `<stream> Lost`, on `Aggregated` rows only, every figure from `StreamFigures`.
//! A request with no requests in an interval has no row there; the `Aggregated` row is always
//! written, so an idle interval still shows. Numbers are written by `stampede_metrics::format`.
//! With a series interval, rows merge that many engine intervals.

use std::io::Write;

use crate::live::window::Window;
use crate::render::escape::csv_text;
use stampede_metrics::format::{ms, trim};
use stampede_metrics::{Figures, MonitorSample, Outcome, RequestStats, StatsSet, StreamFigures};

/// The columns each stream adds, after its name.
const STREAM_COLUMNS: [&str; 5] = ["Open", "Events/s", "e2e p95", "rtt p95", "Lost"];

pub(crate) fn header(monitors: &[String], streams: &[String]) -> Vec<String> {
    let mut header: Vec<String> = [
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
    ]
    .map(str::to_owned)
    .to_vec();
    header.extend(Outcome::ALL.iter().map(|o| o.key().to_owned()));
    if monitors.is_empty() {
        header.extend(["Target CPU %".to_owned(), "Target RSS MB".to_owned()]);
    }
    for name in monitors {
        header.extend([format!("{name} CPU %"), format!("{name} RSS MB")]);
    }
    header.push("Latency From".to_owned());
    for name in streams {
        header.extend(STREAM_COLUMNS.iter().map(|c| format!("{name} {c}")));
    }
    header
}

pub(crate) fn write_header(
    out: &mut impl Write,
    monitors: &[String],
    streams: &[String],
) -> csv::Result<()> {
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(header(monitors, streams))?;
    writer.flush()?;
    Ok(())
}

/// Writes the rows of one window. `started_unix` is the run's start in Unix seconds;
/// `(monitors, streams)` count the column groups after the outcomes.
pub(crate) fn write_rows(
    out: &mut impl Write,
    (window, stats): (&Window, &StatsSet),
    started_unix: f64,
    names: &[String],
    (monitors, streams): (usize, usize),
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
    // One pair of columns for the target, or one per monitor when there are several.
    let samples: Vec<Option<&MonitorSample>> = if monitors == 0 {
        vec![window.monitor.as_ref()]
    } else {
        (0..monitors)
            .map(|n| window.samples.get(n).and_then(Option::as_ref))
            .collect()
    };
    let set = stats;
    let mut row = |name: &str, stats: &RequestStats, aggregated: bool| -> csv::Result<()> {
        let figures = Figures::of(stats, seconds);
        let latency = &figures.latency_ms;
        let mut fields: Vec<String> = lead.to_vec();
        fields.extend([
            csv_text(name).into_owned(),
            trim(figures.rps, 3),
            trim(figures.failed_rps, 3),
            ms(latency.p50),
            ms(latency.p95),
            ms(latency.p99),
        ]);
        fields.extend(stats.outcomes.iter().map(|(_, n)| n.to_string()));
        for sample in &samples {
            fields.extend(target(sample.filter(|_| aggregated)));
        }
        fields.push(latency_from(&figures).to_owned());
        for index in 0..streams {
            if aggregated {
                fields.extend(stream_fields((window, set), index, seconds));
            } else {
                fields.extend(std::iter::repeat_n(String::new(), STREAM_COLUMNS.len()));
            }
        }
        writer.write_record(&fields)
    };
    for (name, request) in names.iter().zip(&stats.requests) {
        if request.requests() > 0 {
            row(name, request, false)?;
        }
    }
    row("Aggregated", &stats.aggregate(), true)?;
    writer.flush()?;
    Ok(())
}

/// Stream `index`'s columns over `window`.
fn stream_fields((window, stats): (&Window, &StatsSet), index: usize, seconds: f64) -> [String; 5] {
    let figures = stats
        .streams
        .get(index)
        .map(|stats| StreamFigures::of(stats, seconds))
        .unwrap_or_default();
    let open = window.streams_open.get(index).copied().unwrap_or(0);
    [
        open.to_string(),
        trim(figures.events_per_s, 3),
        figures.e2e_ms.map(|e| ms(e.p95)).unwrap_or_default(),
        figures.rtt_ms.map(|r| ms(r.p95)).unwrap_or_default(),
        figures.lost.to_string(),
    ]
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
    use stampede_metrics::IntervalSnapshot;
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
            streams_open: Vec::new(),
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
        write_header(&mut out, &[], &[]).unwrap();
        let mut window = Window::new(1);
        for snap in &snaps {
            window.push(snap, &snap.stats, |w, stats| {
                write_rows(&mut out, (w, stats), 1_700_000_000.5, &names, (0, 0)).unwrap()
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

    #[test]
    fn several_monitors_have_a_column_pair_each_on_aggregated_rows() {
        let names = vec!["health".to_owned()];
        let sample = |source: u16, cpu: Option<f64>, rss: Option<u64>| MonitorSample {
            source,
            offset: Duration::from_secs(1),
            cpu_percent: cpu,
            rss_bytes: rss,
            failed: cpu.is_none() && rss.is_none(),
        };
        let snap = IntervalSnapshot {
            monitor: vec![
                sample(0, Some(50.0), Some(120_000_000)),
                sample(1, None, None),
                sample(2, Some(3.25), Some(9_000_000)),
            ],
            ..snapshot(0, 0, false, |s| {
                s.requests[0].outcomes.bump(Outcome::Status2xx);
                s.requests[0].latency.record_us(1000);
            })
        };
        let monitors = ["api".to_owned(), "redis".to_owned(), "worker".to_owned()];
        let mut out = Vec::new();
        write_header(&mut out, &monitors, &[]).unwrap();
        let mut window = Window::new(1);
        window.push(&snap, &snap.stats, |w, stats| {
            write_rows(
                &mut out,
                (w, stats),
                1_700_000_000.0,
                &names,
                (monitors.len(), 0),
            )
            .unwrap()
        });
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].ends_with(
                "abandoned,api CPU %,api RSS MB,redis CPU %,redis RSS MB,worker CPU %,\
                 worker RSS MB,Latency From"
            ),
            "{text}"
        );
        // The request's own row leaves them empty; the unreadable redis stays empty too.
        assert!(lines[1].ends_with(",0,,,,,,,sent"), "{text}");
        assert!(
            lines[2].starts_with("1700000000,0,1,false,4,Aggregated,"),
            "{text}"
        );
        assert!(lines[2].ends_with(",0,50,120,,,3.2,9,sent"), "{text}");
    }
}
