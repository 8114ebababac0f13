//! The Markdown report printed to stdout and pasted into docs/performance.md.

use std::fmt::Write as _;

use super::goals::{self, Ratio};
use super::results::Results;
use super::stats::Spread;

pub fn render(results: &Results) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Machine: {}, load average {:.2} at start. Date: {}. {} s runs, {} repetition(s), \
         interleaved; nginx (1 worker) on CPU 0, generator on CPU 1.\n",
        results.machine, results.load_average, results.date, results.duration_s, results.reps
    );
    closed(&mut out, results);
    ratios(&mut out, &goals::ratios(results));
    open(&mut out, results);
    if let Some(s) = &results.scale {
        let _ = writeln!(out, "### Scale\n");
        let _ = writeln!(
            out,
            "| users | connected | peak rss_mb | KiB per user | rps |"
        );
        let _ = writeln!(out, "|---:|---:|---:|---:|---:|");
        let rss_mb = s.peak_rss_kib as f64 / 1024.0;
        let _ = writeln!(
            out,
            "| {} | {} | {rss_mb:.1} | {:.1} | {:.0} |\n",
            s.users,
            s.connected,
            s.kib_per_user(),
            s.rps
        );
    }
    if let Some(s) = &results.soak {
        let slope = s
            .slope_mib_per_hour
            .map_or("-".to_owned(), |x| format!("{x:+.2} MiB/h"));
        let last = s.points.last().map_or(0.0, |p| p.1);
        let _ = writeln!(
            out,
            "### Soak\n\n{} samples at {}/s, last RSS {last:.1} MiB, slope {slope}\n",
            s.points.len(),
            s.rate
        );
    }
    let _ = writeln!(
        out,
        "### Goals\n\n| goal | measured | status |\n|---|---|---|"
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

fn closed(out: &mut String, results: &Results) {
    let _ = writeln!(out, "### Closed model\n");
    let _ = writeln!(
        out,
        "| tool | connections | rps (min / median / max) | cpu_us_per_req | rss_mb | p50_ms | p99_ms |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|");
    for s in results.closed_summaries() {
        let rps = s.rps.map_or("-".to_owned(), |r| {
            format!(
                "{} / {} / {}",
                thousands(r.min),
                thousands(r.median),
                thousands(r.max)
            )
        });
        let _ = writeln!(
            out,
            "| {} | {} | {rps} | {} | {} | {} | {} |",
            s.tool.name(),
            s.connections,
            median(s.cpu_us_per_req, 2),
            median(s.rss_mb, 1),
            median(s.p50_ms, 3),
            median(s.p99_ms, 3)
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
            "| {} | stampede/{} | {} | {} |",
            r.connections,
            r.versus.name(),
            ratio(r.rps),
            ratio(r.cpu_per_req)
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
        "| tool | target rps | achieved rps (nginx) | off target | tool's own rate | cpu_us_per_req | rss_mb | p99_ms (from scheduled send) |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|");
    for (tool, rate, rows) in groups {
        let of = |f: &dyn Fn(&super::results::OpenRow) -> Option<f64>| {
            Spread::of(&rows.iter().filter_map(|r| f(r)).collect::<Vec<_>>())
        };
        let achieved = of(&|r| Some(r.achieved_rps));
        let off = achieved.map_or("-".to_owned(), |a| {
            format!("{:+.2} %", (a.median / f64::from(rate) - 1.0) * 100.0)
        });
        let _ = writeln!(
            out,
            "| {} | {rate} | {} | {off} | {} | {} | {} | {} |",
            tool.name(),
            median(achieved, 0),
            median(of(&|r| r.own_rate), 0),
            median(of(&|r| Some(r.cpu_us_per_req)), 2),
            median(of(&|r| Some(r.rss_mb)), 1),
            median(of(&|r| Some(r.p99_ms)), 3)
        );
    }
    out.push('\n');
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
| tool | connections | rps (min / median / max) | cpu_us_per_req | rss_mb | p50_ms | p99_ms |
|---|---:|---:|---:|---:|---:|---:|
| stampede | 50 | 90,000 / 95,000 / 100,000 | 9.50 | 4.0 | 0.500 | 2.000 |
| wrk | 50 | 100,000 / 100,000 / 100,000 | 8.00 | 4.0 | 0.500 | 2.000 |
| wrk | 500 | 95,000 / 95,000 / 95,000 | 8.50 | 4.0 | 0.500 | 2.000 |
";
        assert!(text.contains(expected), "{text}");
        assert!(
            text.contains("| 50 | stampede/wrk | 0.95x (0.90-1.00) | 1.19x (1.12-1.25) |"),
            "{text}"
        );
        assert!(
            text.contains("| RPS >= 1.0x wrk at 50 connections | 0.95x | not met |"),
            "{text}"
        );
        assert!(
            text.contains("| RPS >= 1.0x wrk at 500 connections | - | not measured |"),
            "{text}"
        );
    }
}
