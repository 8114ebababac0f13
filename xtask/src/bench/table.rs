//! The Markdown report printed to stdout and pasted into docs/performance.md.

use std::fmt::Write as _;

use super::goals::{self, Ratio};
use super::results::{OpenRow, Results};
use super::stats::Spread;

pub fn render(results: &Results) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Machine: {}, load average {:.2} at start. Date: {}. {} s runs, {} repetition(s), \
         interleaved; nginx (1 worker) on CPU 0, generator on CPU 1.\n",
        results.machine, results.load_average, results.date, results.duration_s, results.reps
    );
    closed(&mut out, results, false);
    ratios(&mut out, &goals::ratios(results));
    overhead(&mut out, results);
    closed(&mut out, results, true);
    open(&mut out, results);
    memory(&mut out, results);
    streams(&mut out, results);
    let _ = writeln!(
        out,
        "### Goals (issue 17)\n\n| goal | measured | status |\n|---|---|---|"
    );
    for goal in goals::evaluate(results) {
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            goal.name,
            goal.measured,
            goal.status.label()
        );
    }
    out
}

fn closed(out: &mut String, results: &Results, tls: bool) {
    let rows: Vec<_> = results
        .closed_summaries()
        .into_iter()
        .filter(|s| s.tls == tls)
        .collect();
    if rows.is_empty() {
        return;
    }
    let title = if tls {
        "https (nginx with TLS, keep-alive)"
    } else {
        "Closed model"
    };
    let _ = writeln!(out, "### {title}\n");
    let _ = writeln!(
        out,
        "| tool | connections | rps (min / median / max) | cpu_us_per_req | nginx busy | rss_mb | p50_ms | p99_ms | TLS handshake p50_ms |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for s in rows {
        let rps = s.rps.map_or("-".to_owned(), |r| {
            format!(
                "{} / {} / {}",
                thousands(r.min),
                thousands(r.median),
                thousands(r.max)
            )
        });
        let busy = s
            .nginx_busy
            .map_or("-".to_owned(), |b| format!("{:.0} %", b.median * 100.0));
        let _ = writeln!(
            out,
            "| {} | {} | {rps} | {} | {busy} | {} | {} | {} | {} |",
            s.tool.name(),
            s.connections,
            median(s.cpu_us_per_req, 2),
            median(s.rss_mb, 1),
            median(s.p50_ms, 3),
            median(s.p99_ms, 3),
            median(s.tls_handshake_ms, 3)
        );
    }
    out.push('\n');
}

fn ratios(out: &mut String, ratios: &[Ratio]) {
    if ratios.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "### Ratios (median of per-repetition ratios, min-max)\n"
    );
    let _ = writeln!(
        out,
        "| connections | versus | rps | cpu_us_per_req |\n|---:|---|---:|---:|"
    );
    let ratio = |s: Option<Spread>| {
        s.map_or("-".to_owned(), |s| {
            format!("{:.2}x ({:.2}-{:.2})", s.median, s.min, s.max)
        })
    };
    for r in ratios {
        let _ = writeln!(
            out,
            "| {}{} | stampede/{} | {} | {} |",
            r.connections,
            if r.tls { " https" } else { "" },
            r.versus.name(),
            ratio(r.rps),
            ratio(r.cpu_per_req)
        );
    }
    out.push('\n');
}

/// stampede's p50 beside wrk's: what stampede adds to a request on the wire.
fn overhead(out: &mut String, results: &Results) {
    let counts: Vec<u32> = results
        .connection_counts()
        .into_iter()
        .filter(|(tls, c)| !tls && *c <= 50)
        .map(|(_, c)| c)
        .collect();
    let rows: Vec<(u32, Spread)> = counts
        .into_iter()
        .filter_map(|c| Some((c, goals::client_overhead_us(results, c)?)))
        .collect();
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "### Client overhead (stampede p50 - wrk p50, per repetition)\n\n\
         | connections | difference, median (min / max) |\n|---:|---:|"
    );
    for (connections, d) in rows {
        let _ = writeln!(
            out,
            "| {connections} | {:+.0} us ({:+.0} / {:+.0}) |",
            d.median, d.min, d.max
        );
    }
    out.push('\n');
}
fn open(out: &mut String, results: &Results) {
    let groups = results.open_groups();
    if groups.is_empty() {
        return;
    }
    let _ = writeln!(out, "### Open model\n");
    let _ = writeln!(
        out,
        "| tool | target rps | achieved rps (nginx) | off target | tool's own rate | cpu_us_per_req | rss_mb | p50_ms (scheduled) | p50_ms (sent) | corrected - raw p50 | p99_ms (scheduled) | dropped |"
    );
    let _ = writeln!(
        out,
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for (tool, rate, rows) in groups {
        let of = |f: &dyn Fn(&OpenRow) -> Option<f64>| {
            Spread::of(&rows.iter().filter_map(|r| f(r)).collect::<Vec<_>>())
        };
        let achieved = of(&|r| Some(r.achieved_rps));
        let off = achieved.map_or("-".to_owned(), |a| {
            format!("{:+.2} %", (a.median / f64::from(rate) - 1.0) * 100.0)
        });
        let lag = of(&|r| Some((r.p50_ms - r.p50_sent_ms?) * 1000.0))
            .map_or("-".to_owned(), |s| format!("{:.0} us", s.median));
        let _ = writeln!(
            out,
            "| {} | {rate} | {} | {off} | {} | {} | {} | {} | {} | {lag} | {} | {} |",
            tool.name(),
            median(achieved, 0),
            median(of(&|r| r.own_rate), 0),
            median(of(&|r| Some(r.cpu_us_per_req)), 2),
            median(of(&|r| Some(r.rss_mb)), 1),
            median(of(&|r| Some(r.p50_ms)), 3),
            median(of(&|r| r.p50_sent_ms), 3),
            median(of(&|r| Some(r.p99_ms)), 3),
            median(of(&|r| Some(r.dropped as f64)), 0)
        );
    }
    out.push('\n');
}

fn memory(out: &mut String, results: &Results) {
    let mut rows = Vec::new();
    if let Some(s) = &results.scale {
        rows.push(format!(
            "| {} users thinking 1 s | {}/{} connected, peak RSS {:.1} MiB, {:.0} rps | {:.1} KiB per user |",
            s.users,
            s.connected,
            s.users,
            s.peak_rss_kib as f64 / 1024.0,
            s.rps,
            s.kib_per_user()
        ));
    }
    if let Some(n) = &results.names {
        let [(few, few_kib), (many, many_kib)] = n.runs;
        rows.push(format!(
            "| {}/s over {few} and over {many} request names | peak RSS {:.1} and {:.1} MiB | {:.1} KiB per name |",
            n.rate,
            few_kib as f64 / 1024.0,
            many_kib as f64 / 1024.0,
            n.kib_per_name()
        ));
    }
    for s in &results.soak {
        let first = s
            .points
            .iter()
            .find(|p| p.0 >= s.settle_s)
            .map_or(0.0, |p| p.1);
        let last = s.points.last().map_or(0.0, |p| p.1);
        let slope = s
            .slope_mib_per_hour
            .map_or("-".to_owned(), |x| format!("{x:+.2} MiB/h"));
        rows.push(format!(
            "| soak, `{}` kind, {}/s, {} samples | RSS {first:.1} MiB at {:.0} s, {last:.1} MiB at the end{} | slope {slope} |",
            s.kind,
            s.rate,
            s.points.len(),
            s.settle_s,
            s.pool_growth()
        ));
    }
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "### Memory\n\n| run | measured | per unit |\n|---|---|---:|"
    );
    for row in rows {
        let _ = writeln!(out, "{row}");
    }
    out.push('\n');
}

fn streams(out: &mut String, results: &Results) {
    if results.streams.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "### Streams (issue 15): paired SSE users against `stampede target` on CPU 0\n\n\
         | users | open (peak) | holds | failed opens | disconnects | lost / expected | events/s | e2e p50_ms | peak rss_mb | KiB per stream | CPU us per event |\n\
         |---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for r in &results.streams {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} / {} | {:.0} | {} | {:.1} | {:.1} | {:.1} |",
            r.users,
            r.peak_open,
            if r.holds() { "yes" } else { "no" },
            r.failed_opens,
            r.disconnects,
            r.lost,
            r.expected,
            r.events_per_s,
            r.e2e_p50_ms.map_or("-".to_owned(), |e| format!("{e:.3}")),
            r.peak_rss_kib as f64 / 1024.0,
            r.kib_per_stream(),
            r.cpu_us_per_event
        );
    }
    let held = results
        .streams
        .iter()
        .filter(|r| r.holds())
        .map(|r| r.users)
        .max();
    let ceiling = results
        .streams_ceiling
        .as_ref()
        .map_or(String::new(), |(n, why)| {
            format!(
                "; this machine allows at most {} ({why})",
                thousands(f64::from(*n))
            )
        });
    let _ = writeln!(
        out,
        "\nLargest count held: {}{ceiling}.\n",
        held.map_or("none".to_owned(), |n| thousands(f64::from(n)))
    );
}

fn median(spread: Option<Spread>, decimals: usize) -> String {
    spread.map_or("-".to_owned(), |s| format!("{:.*}", decimals, s.median))
}

/// `117456.3` as `117,456`: rates are easier to compare with separators.
pub fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value.abs());
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    if value < -0.5 {
        format!("-{grouped}")
    } else {
        grouped
    }
}

#[cfg(test)]
mod tests {
    use super::super::results::tests::sample;
    use super::*;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(117_456.3), "117,456");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(thousands(1_000.0), "1,000");
        assert_eq!(thousands(-12_345.0), "-12,345");
    }

    #[test]
    fn table_has_a_row_per_tool_and_connection_count() {
        let text = render(&sample());
        let expected = "\
| tool | connections | rps (min / median / max) | cpu_us_per_req | nginx busy | rss_mb | p50_ms | p99_ms | TLS handshake p50_ms |
|---|---:|---:|---:|---:|---:|---:|---:|---:|
| stampede | 50 | 90,000 / 95,000 / 100,000 | 9.50 | 50 % | 4.0 | 0.500 | 2.000 | - |
| wrk | 50 | 100,000 / 100,000 / 100,000 | 8.00 | 50 % | 4.0 | 0.500 | 2.000 | - |
| wrk | 500 | 95,000 / 95,000 / 95,000 | 8.50 | 50 % | 4.0 | 0.500 | 2.000 | - |
";
        assert!(text.contains(expected), "{text}");
        assert!(
            text.contains("| 50 | stampede/wrk | 0.95x (0.90-1.00) | 1.19x (1.12-1.25) |"),
            "{text}"
        );
        assert!(
            text.contains("| CPU/request <= 1.1x wrk at 50 connections | 1.19x | not met |"),
            "{text}"
        );
        assert!(
            text.contains("| CPU/request <= 1.1x wrk at 500 connections | - | not measured |"),
            "{text}"
        );
        assert!(text.contains("| 50 | +0 us (+0 / +0) |"), "{text}");
    }
}
