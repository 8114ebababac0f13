//! report.html: one self-contained page for a capacity review. Inline CSS, inline SVG charts
//! drawn in Rust, the chart data inline as JSON; no script runs and nothing is fetched, so the
//! file opens the same from a laptop, a CI artifact or an air-gapped network.
//!
//! Top to bottom: the verdict and thresholds, the analysis in numbers (knee and safe ceiling,
//! elbow, drift, burst recovery), latency and throughput over time with steps, warm-ups and
//! cooldowns shaded, the kind's own charts (p95, throughput and errors against load, or the
//! trend lines of a soak), then the per-step, per-request and failure tables.

mod charts;
mod svg;
mod tables;

use std::fmt::Write;

use serde::Serialize;

use crate::summary::analysis::Analysis;
use crate::summary::series::Series;
use crate::summary::{Summary, Verdict, words};
use charts::{by_kind, over_time};
use stampede_metrics::format::{grouped, percent, short};
use tables::{failures_table, requests_table, steps_table};

pub(crate) const STYLE: &str = include_str!("style.css");

/// HTML-escapes text. `://` is written with an entity so that no URL appears literally in the
/// file: the report must never look like it loads anything, even when a description or the
/// target names one.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out.replace("://", ":&#47;&#47;")
}

/// The data the charts are drawn from, embedded for anyone who wants to re-plot it.
#[derive(Serialize)]
struct Data<'a> {
    scenario: &'a str,
    run_id: &'a str,
    steps: Vec<StepSpan<'a>>,
    series: &'a Series,
    analysis: &'a Analysis,
}

#[derive(Serialize)]
struct StepSpan<'a> {
    index: usize,
    label: &'a str,
    offset_s: f64,
    warmup_s: f64,
    hold_s: f64,
    cooldown_s: f64,
}

pub(crate) fn render(summary: &Summary) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{} {} {}: {}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n<main>\n",
        escape(&summary.scenario),
        escape(&summary.kind),
        escape(&summary.run_id),
        summary.verdict.as_str().to_uppercase()
    );
    header(&mut out, summary);
    findings(&mut out, summary);
    callouts(&mut out, summary);
    thresholds(&mut out, summary);
    over_time(&mut out, summary);
    by_kind(&mut out, summary);
    steps_table(&mut out, summary);
    requests_table(&mut out, summary);
    failures_table(&mut out, summary);
    let _ = write!(
        out,
        "<footer>stampede report, schema {}. Figures from summary.json; latency distributions \
         in histograms.hlog.</footer>\n</main>\n",
        summary.schema_version
    );
    let data = Data {
        scenario: &summary.scenario,
        run_id: &summary.run_id,
        steps: summary
            .steps
            .iter()
            .map(|s| StepSpan {
                index: s.index,
                label: &s.label,
                offset_s: s.offset_s,
                warmup_s: s.warmup_s,
                hold_s: s.hold_s,
                cooldown_s: s.cooldown_s,
            })
            .collect(),
        series: &summary.series,
        analysis: &summary.analysis,
    };
    let json = serde_json::to_string(&data).expect("chart data always serialises");
    // `</` would end the script element and `://` would put a URL in the file; both have
    // equivalent JSON escapes.
    let json = json.replace("</", "<\\/").replace("://", ":\\/\\/");
    let _ = write!(
        out,
        "<script type=\"application/json\" id=\"stampede-data\">{json}</script>\n</body>\n</html>\n"
    );
    out
}

fn header(out: &mut String, s: &Summary) {
    let class = match s.verdict {
        Verdict::Passed => "passed",
        Verdict::Failed => "failed",
        Verdict::Interrupted => "interrupted",
    };
    let _ = write!(
        out,
        "<header class=\"verdict {class}\">\n<span class=\"badge\">{}</span>\n\
         <h1>{} <span class=\"kind\">{}</span></h1>\n",
        s.verdict.as_str().to_uppercase(),
        escape(&s.scenario),
        escape(&s.kind)
    );
    let _ = writeln!(
        out,
        "<p class=\"meta\">run {}{} · started {} · {} s · target {}</p>",
        escape(&s.run_id),
        s.tag
            .as_ref()
            .map(|t| format!(" ({})", escape(t)))
            .unwrap_or_default(),
        escape(&s.started_at),
        short(s.elapsed_s),
        escape(&s.base_url)
    );
    if !s.description.is_empty() {
        let _ = writeln!(out, "<p>{}</p>", escape(&s.description));
    }
    let _ = write!(
        out,
        "<p class=\"verdict-line\">{}</p>\n</header>\n",
        escape(&s.verdict_line())
    );
}

/// Why the run stopped early, the notes and the alerts, right under the verdict.
fn findings(out: &mut String, s: &Summary) {
    let mut items: Vec<String> = Vec::new();
    if let Some(reason) = &s.stopped {
        items.push(format!("stopped early: {reason}"));
    }
    items.extend(s.notes.iter().cloned());
    items.extend(words::phases_line(s.total.figures.phases.as_ref()));
    items.extend(s.checks.iter().map(words::check_line));
    items.extend(
        s.alerts
            .iter()
            .map(|a| format!("at {} s: {}", short(a.at.as_secs_f64()), a.message)),
    );
    if items.is_empty() {
        return;
    }
    out.push_str("<section class=\"notes\">\n<h2>Notes</h2>\n<ul>\n");
    for item in items {
        let _ = writeln!(out, "<li>{}</li>", escape(&item));
    }
    out.push_str("</ul>\n</section>\n");
}

fn callout(out: &mut String, title: &str, big: &str, why: &str) {
    let _ = writeln!(
        out,
        "<div class=\"callout-box\">{}<span class=\"big\">{}</span><span class=\"why\">{}</span></div>",
        escape(title),
        escape(big),
        escape(why)
    );
}

fn callouts(out: &mut String, s: &Summary) {
    let t = &s.total.figures;
    out.push_str("<section class=\"callouts\">\n");
    callout(
        out,
        "Requests",
        &grouped(t.requests),
        &format!("{} failed ({})", grouped(t.failed), percent(t.error_rate)),
    );
    callout(
        out,
        "Throughput",
        &format!("{}/s", short(t.rps)),
        "requests per second over the measured time",
    );
    callout(
        out,
        "p95 latency",
        &format!("{} ms", short(t.latency_ms.p95)),
        &format!(
            "p50 {} ms · p99 {} ms",
            short(t.latency_ms.p50),
            short(t.latency_ms.p99)
        ),
    );
    let a = &s.analysis;
    if let Some(knee) = &a.knee {
        match (knee.users, knee.ceiling_users) {
            (Some(users), Some(ceiling)) => callout(
                out,
                "Safe ceiling",
                &format!("{ceiling} users"),
                &format!(
                    "knee ({}) at {users} users x {}. {}",
                    knee.rule(),
                    short(knee.ceiling_factor),
                    knee.why
                ),
            ),
            _ => callout(
                out,
                "Safe ceiling",
                "not found",
                &format!("knee ({}): {}", knee.rule(), knee.why),
            ),
        }
    }
    if let Some(elbow) = &a.elbow {
        let big = match (elbow.found, elbow.rate_under_limit) {
            (true, Some(rate)) => format!("{}/s", short(rate)),
            _ => "not found".to_owned(),
        };
        callout(
            out,
            "Elbow",
            &big,
            &format!("limit: {}. {}", elbow.limit_source, elbow.why),
        );
    }
    if let Some(drift) = &a.drift {
        callout(out, "Drift", drift.verdict.as_str(), &drift.why);
    }
    if let Some(burst) = &a.burst {
        let big = burst
            .recovery_s
            .map_or("not recovered".to_owned(), |r| format!("{} s", short(r)));
        callout(out, "Recovery after the burst", &big, &burst.why);
    }
    for monitor in &s.monitors {
        target_callout(out, monitor);
    }
    out.push_str("</section>\n");
}

/// The target's resources as the monitor saw them: the peak memory, and how it moved.
fn target_callout(out: &mut String, m: &stampede_metrics::MonitorFigures) {
    let big = m
        .peak_rss_mb
        .map_or("-".to_owned(), |rss| format!("{} MB", short(rss)));
    let mut why = Vec::new();
    if let Some(cpu) = m.peak_cpu_percent {
        why.push(format!("peak CPU {} % of a core", short(cpu)));
    }
    if let (Some(first), Some(last)) = (m.first_rss_mb, m.last_rss_mb) {
        why.push(format!("RSS {} → {} MB", short(first), short(last)));
    }
    match m.rss_slope_mb_per_hour {
        Some(slope) => why.push(format!("trend {} MB/h", short(slope))),
        None if m.peak_rss_mb.is_some() => why.push("trend: too short a run".to_owned()),
        None => {}
    }
    why.push(format!("{} samples", m.samples));
    if m.unavailable() {
        why.push("unavailable: no sample could be read".to_owned());
    } else if m.failed_samples > 0 {
        why.push(format!("{} failed", m.failed_samples));
    }
    let title = format!("Peak memory of {}", m.name);
    callout(out, &title, &big, &why.join(" · "));
}

fn thresholds(out: &mut String, s: &Summary) {
    if s.thresholds.is_empty() {
        return;
    }
    out.push_str(
        "<h2>Thresholds</h2>\n<table>\n<tr><th></th><th class=\"text\">threshold</th>\
         <th class=\"text\">scope</th><th>observed</th><th class=\"text\">warning</th></tr>\n",
    );
    for t in &s.thresholds {
        let (class, mark) = match (t.passed, t.warned) {
            (false, _) => ("mark-fail", "✗"),
            (true, true) => ("mark-warn", "!"),
            (true, false) => ("mark-pass", "✓"),
        };
        let _ = writeln!(
            out,
            "<tr><td class=\"{class}\">{mark}</td><td class=\"text\">{} {}</td><td class=\"text\">{}</td>\
             <td>{}</td><td class=\"text\">{}</td></tr>",
            escape(&t.metric),
            escape(&t.condition),
            escape(&t.scope_text()),
            escape(&t.observed_text()),
            t.warn_condition
                .as_ref()
                .map(|w| format!("{}{}", escape(w), if t.warned { ", exceeded" } else { "" }))
                .unwrap_or_default()
        );
    }
    out.push_str("</table>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata;

    fn data_block(html: &str) -> serde_json::Value {
        let start = html.find("id=\"stampede-data\">").unwrap() + "id=\"stampede-data\">".len();
        let end = start + html[start..].find("</script>").unwrap();
        serde_json::from_str(&html[start..end]).unwrap()
    }

    #[test]
    fn the_report_has_no_url_and_no_external_resource() {
        let html = render(&testdata::summary());
        for needle in ["http://", "https://", "src=", "href=", "@import", "url("] {
            assert!(!html.contains(needle), "{needle} found in the report");
        }
        // The description and the target are shown, with `://` as an entity.
        assert!(html.contains("https:&#47;&#47;example.com/runbook"));
        assert!(html.contains("Checkout &lt;capacity&gt; sweep"));
    }

    #[test]
    fn embedded_chart_data_matches_the_summary() {
        let summary = testdata::summary();
        let data = data_block(&render(&summary));
        let json = serde_json::to_value(&summary).unwrap();
        assert_eq!(data["series"], json["series"]);
        assert_eq!(data["analysis"], json["analysis"]);
        assert_eq!(data["steps"][1]["offset_s"], json["steps"][1]["offset_s"]);
        let points = data["analysis"]["knee"]["points"].as_array().unwrap();
        assert_eq!(points.len(), summary.steps.len());
    }

    #[test]
    fn verdict_thresholds_and_charts_are_there() {
        let html = render(&testdata::summary());
        let verdict = html.find("FAILED: 1 of 3 thresholds failed").unwrap();
        let table = html.find("<h2>Thresholds</h2>").unwrap();
        let chart = html.find("<svg").unwrap();
        assert!(
            verdict < table && table < chart,
            "verdict, then thresholds, then charts"
        );
        assert!(
            html.contains("<span class=\"big\">40 users</span>"),
            "the safe ceiling"
        );
        assert!(html.contains("aria-label=\"Latency percentiles over time\""));
        assert!(html.contains("aria-label=\"p95 against users\""));
        assert!(html.contains("time since start (s)"));
        assert!(html.contains("class=\"cooldown\""));
        assert!(html.contains("knee 50"));
        assert!(
            !html.contains("Peak memory of"),
            "no monitor, no target callout"
        );
    }

    #[test]
    fn the_monitor_summary_shows_as_the_target_callout() {
        let mut summary = testdata::summary();
        summary.monitors = vec![stampede_metrics::MonitorFigures {
            name: "the demo target".to_owned(),
            samples: 60,
            failed_samples: 3,
            peak_cpu_percent: Some(81.5),
            mean_cpu_percent: Some(40.0),
            mean_rss_mb: Some(450.0),
            peak_rss_mb: Some(512.0),
            first_rss_mb: Some(400.0),
            last_rss_mb: Some(512.0),
            rss_slope_mb_per_hour: Some(112.0),
        }];
        let html = render(&summary);
        assert!(html.contains("Peak memory of the demo target"), "{html}");
        assert!(html.contains("<span class=\"big\">512 MB</span>"), "{html}");
        assert!(html.contains("peak CPU 81.5 % of a core"));
        assert!(html.contains("RSS 400 → 512 MB"));
        assert!(html.contains("trend 112 MB/h"));
        assert!(html.contains("60 samples · 3 failed"), "{html}");
        // Too short a run for a slope, and a monitor that never read anything.
        summary.monitors[0].rss_slope_mb_per_hour = None;
        summary.monitors.push(stampede_metrics::MonitorFigures {
            name: "PID 4242".to_owned(),
            samples: 60,
            failed_samples: 60,
            ..Default::default()
        });
        let html = render(&summary);
        assert!(html.contains("trend: too short a run"), "{html}");
        assert!(
            html.contains("60 samples · unavailable: no sample could be read"),
            "{html}"
        );
    }

    #[test]
    fn each_monitor_has_a_line_in_the_cpu_and_memory_charts() {
        use crate::summary::series::MonitorPoint;
        use stampede_metrics::MonitorFigures;
        let mut summary = testdata::summary();
        let html = render(&summary);
        assert!(
            !html.contains("CPU of the watched processes"),
            "no monitor, no chart"
        );
        summary.monitors = ["api", "redis"]
            .map(|name| MonitorFigures {
                name: name.to_owned(),
                samples: 3,
                ..MonitorFigures::default()
            })
            .to_vec();
        let reading = |cpu: f64, rss: f64| MonitorPoint {
            cpu_percent: Some(cpu),
            rss_mb: Some(rss),
        };
        summary.series.monitors = summary
            .series
            .points
            .iter()
            .enumerate()
            .map(|(n, _)| vec![reading(10.0 + n as f64, 100.0), reading(90.0, 7.5)])
            .collect();
        let html = render(&summary);
        assert!(
            html.contains("CPU of the watched processes over time"),
            "{html}"
        );
        assert!(
            html.contains("Resident memory of the watched processes"),
            "{html}"
        );
        // A line per monitor in each of the two charts.
        assert_eq!(html.matches("<title>api</title>").count(), 2, "{html}");
        assert_eq!(html.matches("<title>redis</title>").count(), 2, "{html}");
    }

    #[test]
    fn escaping_keeps_markup_and_urls_out() {
        assert_eq!(escape("<a href='x'>&"), "&lt;a href=&#39;x&#39;&gt;&amp;");
        assert_eq!(escape("http://h:1/p"), "http:&#47;&#47;h:1/p");
    }
}
