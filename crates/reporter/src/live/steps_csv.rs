//! steps.csv: per step, one row per request name and an `Aggregated` row, in the layout of
//! Locust's `_stats.csv` with `Step` and `Users` in front, so scripts written for Locust (grep
//! the name, cut a column) keep working after moving the column index by two.
//!
//! Numbers are `Figures` written by `stampede_metrics::format`: times in ms with up to 3
//! decimals (the microsecond the histograms resolve), rates and the average content size in
//! bytes with up to 3 decimals, all with trailing zeros trimmed. Latency is the headline of
//! `Figures`: from the scheduled send in open-model steps, as the column after Locust's,
//! `Latency From`, says. `Users` is the most users active at once in the step. Then:
//! `Successes/s`, `Rate Limited` (the share of 429s, a fraction), `Checks Passed` and
//! `Checks Failed` (evaluations), and the p95 of each request phase in ms as k6 names them
//! (`Connecting`, `TLS Handshaking`, `Waiting`, `Receiving`; empty when the phase never
//! happened in the step). `Step` counts from 1, as the console and the report do. A request
//! with no requests in a step has no row for it (as in Locust), so a gate on its p95 cannot pass
//! on an empty row.

use std::io::Write;

use stampede_metrics::format::{ms, trim};
use stampede_metrics::{
    Figures, LatencyMs, PhaseMs, RequestStats, StreamFigures, StreamStats, headline, quantile_ms,
};

use crate::live::timeseries::latency_from;
use crate::render::escape::csv_text;

pub(crate) const HEADER: [&str; 33] = [
    "Step",
    "Users",
    "Type",
    "Name",
    "Request Count",
    "Failure Count",
    "Median Response Time",
    "Average Response Time",
    "Min Response Time",
    "Max Response Time",
    "Average Content Size",
    "Requests/s",
    "Failures/s",
    "50%",
    "66%",
    "75%",
    "80%",
    "90%",
    "95%",
    "98%",
    "99%",
    "99.9%",
    "99.99%",
    "100%",
    "Latency From",
    "Successes/s",
    "Rate Limited",
    "Checks Passed",
    "Checks Failed",
    "Connecting p95",
    "TLS Handshaking p95",
    "Waiting p95",
    "Receiving p95",
];

const QUANTILES: [f64; 11] = [
    0.50, 0.66, 0.75, 0.80, 0.90, 0.95, 0.98, 0.99, 0.999, 0.9999, 1.0,
];

/// One row, computed when its step ends so the step's histograms can be dropped.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct StepRow {
    fields: Vec<String>,
}

impl StepRow {
    /// The row of `stats` in step `number` (from 1), measured over `seconds`. `method` is empty
    /// for the `Aggregated` row.
    pub(crate) fn of(
        number: usize,
        users: u32,
        method: &str,
        name: &str,
        stats: &RequestStats,
        seconds: f64,
    ) -> StepRow {
        let figures = Figures::of(stats, seconds);
        let latency = &figures.latency_ms;
        let (histogram, _) = headline(stats);
        let mut fields = vec![
            number.to_string(),
            users.to_string(),
            method.to_owned(),
            csv_text(name).into_owned(),
            figures.requests.to_string(),
            figures.failed.to_string(),
            ms(latency.p50),
            ms(latency.mean),
            ms(latency.min),
            ms(latency.max),
            trim(figures.body_bytes_mean, 3),
            trim(figures.rps, 3),
            trim(figures.failed_rps, 3),
        ];
        fields.extend(QUANTILES.iter().map(|&q| ms(quantile_ms(histogram, q))));
        fields.push(latency_from(&figures).to_owned());
        fields.extend([
            trim(figures.success_rps, 3),
            trim(figures.rate_limited, 6),
            figures.checks_passed.to_string(),
            figures.checks_failed.to_string(),
        ]);
        let phases = figures.phases.unwrap_or_default();
        for phase in [
            phases.connecting,
            phases.tls_handshaking,
            phases.waiting,
            phases.receiving,
        ] {
            fields.push(phase.map(|p| ms(p.p95)).unwrap_or_default());
        }
        StepRow { fields }
    }
}

impl StepRow {
    /// A stream's row: `Type` is its protocol (`SSE`, `WS`); `Request Count` is events (or
    /// messages) received, `Failure Count` messages lost plus unexpected disconnects; the
    /// response times and percentiles are the round trip of its own messages when it sent any
    /// (a WebSocket), else the end-to-end latency of paired messages (empty when there were
    /// none); `Requests/s` is events per second; `Connecting p95` is the stream's connect time
    /// and `Waiting p95` its time to first event. The columns a stream has no figure for are
    /// empty.
    pub(crate) fn of_stream(
        number: usize,
        users: u32,
        (kind, name): (&str, &str),
        stats: &StreamStats,
        seconds: f64,
    ) -> StepRow {
        let f = StreamFigures::of(stats, seconds);
        let times = if stats.rtt.is_empty() {
            &stats.e2e
        } else {
            &stats.rtt
        };
        let e2e = (!times.is_empty()).then(|| LatencyMs::of(times));
        let time =
            |pick: fn(&LatencyMs) -> f64| e2e.as_ref().map(|l| ms(pick(l))).unwrap_or_default();
        let failed = f.lost + f.disconnects;
        let mut fields = vec![
            number.to_string(),
            users.to_string(),
            kind.to_owned(),
            name.to_owned(),
            f.events.to_string(),
            failed.to_string(),
            time(|l| l.p50),
            time(|l| l.mean),
            time(|l| l.min),
            time(|l| l.max),
            String::new(),
            trim(f.events_per_s, 3),
            trim(
                if seconds > 0.0 {
                    failed as f64 / seconds
                } else {
                    0.0
                },
                3,
            ),
        ];
        fields.extend(QUANTILES.iter().map(|&q| {
            e2e.as_ref()
                .map(|_| ms(quantile_ms(times, q)))
                .unwrap_or_default()
        }));
        // Latency From, Successes/s, Rate Limited, Checks Passed, Checks Failed.
        fields.extend(std::iter::repeat_n(String::new(), 5));
        let p95 = |phase: Option<PhaseMs>| phase.map(|p| ms(p.p95)).unwrap_or_default();
        fields.extend([
            p95(f.connect_ms),
            String::new(),
            p95(f.first_event_ms),
            String::new(),
        ]);
        StepRow { fields }
    }
}

pub(crate) fn write(out: &mut impl Write, rows: &[StepRow]) -> csv::Result<()> {
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(HEADER)?;
    for row in rows {
        writer.write_record(&row.fields)?;
    }
    writer.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use stampede_metrics::{FailureKey, Outcome, StatsSet};

    /// Two requests with known latencies: `GET /health` 1..=100 ms (each once), `POST /events`
    /// 10 ms x 3 and 2 failed with 500 at 250 ms.
    fn known() -> StatsSet {
        let mut set = StatsSet::new(2);
        let health = &mut set.requests[0];
        health.succeeded = 100;
        for ms in 1..=100 {
            health.outcomes.bump(Outcome::Status2xx);
            health.latency.record_us(ms * 1000);
            health.body_bytes += 15;
        }
        let events = &mut set.requests[1];
        events.succeeded = 3;
        for _ in 0..3 {
            events.outcomes.bump(Outcome::Status2xx);
            events.latency.record_us(10_000);
            events.body_bytes += 100;
        }
        for _ in 0..2 {
            events.outcomes.bump(Outcome::Status5xx);
            events.failed += 1;
            events.failures.bump(FailureKey::Status(500));
            events.latency.record_us(250_000);
        }
        set
    }

    #[test]
    fn golden_rows_from_known_histograms() {
        let set = known();
        let rows = vec![
            StepRow::of(1, 10, "GET", "/health", &set.requests[0], 10.0),
            StepRow::of(1, 10, "POST", "POST /events", &set.requests[1], 10.0),
            StepRow::of(1, 10, "", "Aggregated", &set.aggregate(), 10.0),
        ];
        let mut out = Vec::new();
        write(&mut out, &rows).unwrap();
        let want = "\
Step,Users,Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%,Latency From,Successes/s,Rate Limited,Checks Passed,Checks Failed,Connecting p95,TLS Handshaking p95,Waiting p95,Receiving p95
1,10,GET,/health,100,0,50.015,50.504,1,100.031,15,10,0,50.015,66.047,75.007,80.063,90.047,95.039,98.047,99.007,100.031,100.031,100.031,sent,10,0,0,0,,,,
1,10,POST,POST /events,5,2,10.007,106.022,10,250.111,60,0.5,0.2,10.007,250.111,250.111,250.111,250.111,250.111,250.111,250.111,250.111,250.111,250.111,sent,0.3,0,0,0,,,,
1,10,,Aggregated,105,2,50.015,53.147,1,250.111,17.143,10.5,0.2,50.015,67.007,76.031,81.023,92.031,97.023,100.031,250.111,250.111,250.111,250.111,sent,10.3,0,0,0,,,,
";
        assert_eq!(String::from_utf8(out).unwrap(), want);
    }

    #[test]
    fn names_with_commas_and_quotes_are_quoted() {
        let mut stats = RequestStats::default();
        stats.outcomes.bump(Outcome::Status2xx);
        stats.latency.record_us(1500);
        let rows = vec![StepRow::of(2, 5, "GET", "search \"a,b\"", &stats, 0.0)];
        let mut out = Vec::new();
        write(&mut out, &rows).unwrap();
        let text = String::from_utf8(out).unwrap();
        let line = text.lines().nth(1).unwrap();
        assert_eq!(
            line,
            "2,5,GET,\"search \"\"a,b\"\"\",1,0,1.5,1.5,1.5,1.5,0,0,0,1.5,1.5,1.5,1.5,1.5,1.5,1.5,1.5,1.5,1.5,1.5,sent,0,0,0,0,,,,"
        );
    }
}
