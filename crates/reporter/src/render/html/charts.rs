//! The report's charts: latency, throughput and users over time with steps, warm-ups and
//! cooldowns shaded, the watched processes' CPU and memory over time, open streams and their
//! latency over time, and per kind the load curves (knee, elbow) or a soak's trend lines.

use std::fmt::Write;

use super::escape;
use super::svg::{Chart, Line, NARROW, Shade};
use crate::summary::Summary;
use crate::summary::analysis::{CurvePoint, Drift, Elbow, Knee};
use crate::summary::series::{SeriesPoint, StreamPoint};
use stampede_metrics::format::{self, percent, short, trim};
use stampede_plan::Metric;

/// Reads one figure off a point of a load curve.
type Pick = fn(&CurvePoint) -> f64;

const P50: &str = "#4c78a8";
const P95: &str = "#f58518";
const P99: &str = "#e45756";
const RPS: &str = "#54a24b";
const FAIL: &str = "#b42318";
const USERS: &str = "#7b61a8";
const TREND: &str = "#1f2328";
/// One colour per monitor, in turn.
const MONITORS: [&str; 6] = [
    "#4c78a8", "#f58518", "#54a24b", "#b279a2", "#e45756", "#9d755d",
];

/// The time unit that keeps axis labels short: seconds, minutes or hours.
fn time_unit(end_s: f64) -> (f64, &'static str) {
    if end_s <= 600.0 {
        (1.0, "s")
    } else if end_s <= 10.0 * 3600.0 {
        (60.0, "min")
    } else {
        (3600.0, "h")
    }
}

/// Each point at its middle, so a line reads as "during this interval".
fn at(p: &SeriesPoint, unit: f64) -> f64 {
    (p.offset_s + p.length_s / 2.0) / unit
}

fn time_chart(s: &Summary, label: &str, y_label: &str) -> (Chart, f64) {
    let end = s
        .steps
        .iter()
        .map(|st| st.offset_s + st.hold_s + st.cooldown_s)
        .fold(
            s.series
                .points
                .last()
                .map_or(0.0, |p| p.offset_s + p.length_s),
            f64::max,
        );
    let (unit, name) = time_unit(end);
    let mut chart = Chart::new(label, &format!("time since start ({name})"), y_label);
    chart.x_range = Some((0.0, (end / unit).max(f64::EPSILON)));
    for st in &s.steps {
        let start = st.offset_s / unit;
        let warm = (st.offset_s + st.warmup_s.min(st.hold_s)) / unit;
        let end = (st.offset_s + st.hold_s) / unit;
        if warm > start {
            chart.shades.push((start, warm, Shade::Warmup));
        }
        if st.cooldown_s > 0.0 {
            chart
                .shades
                .push((end, end + st.cooldown_s / unit, Shade::Cooldown));
        }
        // Numbers alone once there are too many steps for "step n" to fit between markers.
        let label = if s.steps.len() > 8 {
            format!("{}", st.index + 1)
        } else {
            format!("step {}", st.index + 1)
        };
        chart.markers.push((start, label));
    }
    (chart, unit)
}

/// A line over time; points where `y` has no value are left out, breaking the line.
fn line(
    name: &str,
    color: &'static str,
    s: &Summary,
    unit: f64,
    y: impl Fn(&SeriesPoint) -> Option<f64>,
) -> Line {
    let points = s
        .series
        .points
        .iter()
        .filter_map(|p| Some((at(p, unit), y(p)?)))
        .collect();
    let mut line = Line::new(name, color, points);
    // A jump of more than one point (plus rounding) is a cooldown or a stop: break the line.
    line.gap = Some(s.series.point_s * 1.5 / unit);
    line
}

pub(super) fn over_time(out: &mut String, s: &Summary) {
    if s.series.points.is_empty() {
        return;
    }
    out.push_str("<h2>Over time</h2>\n");
    let (mut latency, unit) = time_chart(s, "Latency percentiles over time", "latency (ms)");
    // A latency has no value where nothing completed: no point rather than a drop to zero.
    let done = |p: &SeriesPoint, v: f64| (p.requests > 0).then_some(v);
    latency
        .lines
        .push(line("p50", P50, s, unit, |p| done(p, p.p50)));
    latency
        .lines
        .push(line("p95", P95, s, unit, |p| done(p, p.p95)));
    latency
        .lines
        .push(line("p99", P99, s, unit, |p| done(p, p.p99)));
    if let Some(burst) = &s.analysis.burst
        && let Some(step) = s.steps.iter().find(|st| st.index == burst.step)
    {
        let end = burst.ended_at_s;
        latency
            .shades
            .push((step.offset_s / unit, end / unit, Shade::Highlight));
        if let Some(r) = burst.recovery_s {
            latency
                .markers
                .push(((end + r) / unit, "recovered".to_owned()));
        }
    }
    let (mut throughput, _) = time_chart(s, "Throughput over time", "requests per second");
    throughput
        .lines
        .push(line("requests/s", RPS, s, unit, |p| Some(p.rps)));
    throughput
        .lines
        .push(line("failures/s", FAIL, s, unit, |p| Some(p.failed_rps)));
    let (mut users, _) = time_chart(s, "Active users over time", "active users");
    users.lines.push(line("active users", USERS, s, unit, |p| {
        Some(f64::from(p.users))
    }));
    let _ = writeln!(out, "<figure>{}</figure>", latency.render());
    let _ = writeln!(out, "<figure>{}</figure>", throughput.render());
    let _ = writeln!(
        out,
        "<figure>{}<figcaption>Vertical lines start each step (numbered as in the tables). \
         <span class=\"swatch warmup\"></span> warm-up, left out of the step figures; \
         <span class=\"swatch cooldown\"></span> cooldown, no traffic{}. Points of {} s.\
         </figcaption></figure>",
        users.render(),
        if s.analysis.burst.is_some() {
            "; <span class=\"swatch highlight\"></span> the burst"
        } else {
            ""
        },
        trim(s.series.point_s, 3)
    );
    monitor_charts(out, s);
    stream_charts(out, s);
}

/// Open streams and their latency (end-to-end p95, and a WebSocket's round-trip p95) over
/// time, a line per stream (and per figure), from the series' stream points.
fn stream_charts(out: &mut String, s: &Summary) {
    if s.series.streams.is_empty() {
        return;
    }
    let (mut open, unit) = time_chart(s, "Open streams over time", "open streams");
    let (mut latency, _) = time_chart(s, "Stream latency over time", "p95 (ms)");
    let colours = MONITORS.iter().cycle();
    for (n, (stream, colour)) in s.streams.iter().zip(colours).enumerate() {
        let pick = |name: &str, colour: &'static str, y: fn(&StreamPoint) -> Option<f64>| {
            let points = s
                .series
                .points
                .iter()
                .zip(&s.series.streams)
                .filter_map(|(p, streams)| Some((at(p, unit), y(streams.get(n)?)?)))
                .collect::<Vec<_>>();
            let mut line = Line::new(name, colour, points);
            line.gap = Some(s.series.point_s * 1.5 / unit);
            line
        };
        open.lines
            .push(pick(&stream.name, colour, |p| Some(f64::from(p.open))));
        let e2e = pick(&format!("{} e2e p95", stream.name), colour, |p| p.e2e_p95);
        let mut rtt = pick(&format!("{} rtt p95", stream.name), colour, |p| p.rtt_p95);
        rtt.dashed = true;
        latency
            .lines
            .extend([e2e, rtt].into_iter().filter(|l| !l.points.is_empty()));
    }
    let _ = writeln!(out, "<figure>{}</figure>", open.render());
    if !latency.lines.is_empty() {
        let _ = writeln!(
            out,
            "<figure>{}<figcaption>End-to-end latency of paired messages (sender's send to              arrival on the partner's stream) and round trip of a WebSocket's own messages              (send to echo), p95 per point; no point where none arrived.</figcaption></figure>",
            latency.render()
        );
    }
}

/// One monitor's reading at a point: CPU in percent of a core, RSS in MB.
type Reading = (Option<f64>, Option<f64>);

/// Each watched process's readings over time, as `(name, cpu %, rss MB)` per point: from the
/// series' per-monitor readings when there are several, or the points' own for one.
fn monitor_lines(s: &Summary) -> Vec<(String, Vec<Reading>)> {
    let name = |n: usize| {
        s.monitors
            .get(n)
            .map_or_else(|| format!("monitor {}", n + 1), |m| m.name.clone())
    };
    let several = s.series.monitors.first().map_or(0, Vec::len);
    if several == 0 {
        let one: Vec<_> = s
            .series
            .points
            .iter()
            .map(|p| (p.cpu_percent, p.rss_mb))
            .collect();
        let read = one.iter().any(|(c, r)| c.is_some() || r.is_some());
        return if read {
            vec![(name(0), one)]
        } else {
            Vec::new()
        };
    }
    (0..several)
        .map(|n| {
            let readings = s.series.monitors.iter().map(|at| {
                at.get(n)
                    .map_or((None, None), |m| (m.cpu_percent, m.rss_mb))
            });
            (name(n), readings.collect())
        })
        .collect()
}

/// CPU and resident memory of every watched process over time, a line per monitor.
fn monitor_charts(out: &mut String, s: &Summary) {
    let monitors = monitor_lines(s);
    if monitors.is_empty() {
        return;
    }
    let (mut cpu, unit) = time_chart(s, "CPU of the watched processes over time", "% of one core");
    let (mut rss, _) = time_chart(s, "Resident memory of the watched processes", "RSS (MB)");
    for (n, (name, readings)) in monitors.iter().enumerate() {
        let colour = MONITORS[n % MONITORS.len()];
        let pick = |y: fn(&Reading) -> Option<f64>| {
            let points = s
                .series
                .points
                .iter()
                .zip(readings)
                .filter_map(|(p, r)| Some((at(p, unit), y(r)?)))
                .collect();
            let mut line = Line::new(name, colour, points);
            line.gap = Some(s.series.point_s * 1.5 / unit);
            line
        };
        cpu.lines.push(pick(|r| r.0));
        rss.lines.push(pick(|r| r.1));
    }
    let _ = writeln!(out, "<figure>{}</figure>", cpu.render());
    let _ = writeln!(
        out,
        "<figure>{}<figcaption>Each monitor's latest reading at the end of each point; a gap is \
         a reading that failed.</figcaption></figure>",
        rss.render()
    );
}

pub(super) fn by_kind(out: &mut String, s: &Summary) {
    let a = &s.analysis;
    if let Some(knee) = &a.knee {
        knee_charts(out, knee);
    }
    if let Some(elbow) = &a.elbow {
        elbow_charts(out, elbow);
    }
    if let Some(drift) = &a.drift {
        drift_charts(out, s, drift);
    }
}

/// p95, throughput and error rate against users, the knee and the ceiling marked.
fn knee_charts(out: &mut String, knee: &Knee) {
    out.push_str(
        "<h2>Capacity: latency, throughput and errors against users</h2>\n<div class=\"grid2\">\n",
    );
    let pts = &knee.points;
    let mut charts = [
        Chart::new("p95 against users", "users", "p95 latency (ms)"),
        Chart::new("Throughput against users", "users", "requests per second"),
        Chart::new("Error rate against users", "users", "error rate"),
    ];
    let values: [(&str, &'static str, Pick); 3] = [
        ("p95", P95, |p| p.p95_ms),
        ("requests/s", RPS, |p| p.rps),
        ("error rate", FAIL, |p| p.error_rate),
    ];
    for (chart, (name, color, value)) in charts.iter_mut().zip(values) {
        chart.width = NARROW;
        let mut l = Line::new(
            name,
            color,
            pts.iter().map(|p| (p.load, value(p))).collect(),
        );
        l.dots = true;
        chart.lines.push(l);
        if let (Some(users), Some(step)) = (knee.users, knee.step)
            && let Some(p) = pts.iter().find(|p| p.step == step)
        {
            chart
                .callouts
                .push((f64::from(users), value(p), format!("knee {users}")));
        }
        if let Some(ceiling) = knee.ceiling_users {
            chart
                .markers
                .push((f64::from(ceiling), format!("ceiling {ceiling}")));
        }
    }
    charts[2].y_format = |y| percent(y);
    if knee.levels.is_empty() {
        charts[2].rules.push((
            knee.error_rate_limit,
            format!("limit {}", percent(knee.error_rate_limit)),
        ));
        if let Some(first) = pts.first() {
            let limit = first.p95_ms * knee.p95_factor;
            charts[0]
                .rules
                .push((limit, format!("{}x first step", short(knee.p95_factor))));
        }
    }
    // The scenario's own levels are drawn where a chart shows their metric.
    for level in &knee.levels {
        let chart = match level.metric {
            Metric::P95 => 0,
            Metric::Rps => 1,
            Metric::ErrorRate => 2,
            _ => continue,
        };
        charts[chart].rules.push((
            level.condition.value,
            format!(
                "your level {}",
                format::rule(level.metric, &level.condition)
            ),
        ));
    }
    for chart in &charts {
        let _ = writeln!(out, "<figure>{}</figure>", chart.render());
    }
    let _ = writeln!(
        out,
        "</div>\n<p class=\"note\">{}</p>",
        escape(&match knee.ceiling_users {
            Some(c) => format!(
                "Safe ceiling: {c} users ({} users at the knee x {}); knee ({}). {}",
                knee.users.unwrap_or(0),
                short(knee.ceiling_factor),
                knee.rule(),
                knee.why
            ),
            None => format!("Knee ({}): {}", knee.rule(), knee.why),
        })
    );
}

/// p95 and error rate against the offered load, the limit drawn and the elbow marked.
fn elbow_charts(out: &mut String, elbow: &Elbow) {
    let axis = format!("{} (requests per second)", elbow.load_axis);
    out.push_str("<h2>Throughput: latency and errors against load</h2>\n<div class=\"grid2\">\n");
    let mut p95 = Chart::new("p95 against load", &axis, "p95 latency (ms)");
    p95.width = NARROW;
    let mut l = Line::new(
        "p95",
        P95,
        elbow.points.iter().map(|p| (p.load, p.p95_ms)).collect(),
    );
    l.dots = true;
    p95.lines.push(l);
    p95.rules.push((
        elbow.limit_ms,
        format!("limit {} ms", short(elbow.limit_ms)),
    ));
    if let (Some(step), Some(rate)) = (elbow.step, elbow.rate_under_limit)
        && let Some(p) = elbow.points.iter().find(|p| p.step == step)
    {
        p95.callouts
            .push((p.load, p.p95_ms, format!("elbow {}/s", short(rate))));
    }
    let mut errors = Chart::new("Error rate against load", &axis, "error rate");
    errors.width = NARROW;
    let mut l = Line::new(
        "error rate",
        FAIL,
        elbow
            .points
            .iter()
            .map(|p| (p.load, p.error_rate))
            .collect(),
    );
    l.dots = true;
    errors.lines.push(l);
    errors.y_format = |y| percent(y);
    errors.rules.push((
        elbow.error_rate_limit,
        format!("limit {}", percent(elbow.error_rate_limit)),
    ));
    let _ = writeln!(
        out,
        "<figure>{}</figure>\n<figure>{}</figure>\n</div>",
        p95.render(),
        errors.render()
    );
    let _ = writeln!(out, "<p class=\"note\">{}</p>", escape(&elbow.why));
}

/// A soak's p95 and error rate over time with their fitted trend lines.
fn drift_charts(out: &mut String, s: &Summary, drift: &Drift) {
    out.push_str("<h2>Soak: trends</h2>\n<div class=\"grid2\">\n");
    let measured: Vec<&SeriesPoint> = s
        .series
        .points
        .iter()
        .filter(|p| !p.warmup && p.requests > 0)
        .collect();
    let origin = measured
        .first()
        .map_or(0.0, |p| p.offset_s + p.length_s / 2.0);
    let end = measured
        .last()
        .map_or(0.0, |p| p.offset_s + p.length_s / 2.0);
    let (unit, name) = time_unit(end);
    let trend = |intercept: f64, slope: f64| {
        let y = |t: f64| intercept + slope * (t - origin) / 3600.0;
        let mut l = Line::new(
            "trend",
            TREND,
            vec![(origin / unit, y(origin)), (end / unit, y(end))],
        );
        l.dashed = true;
        l
    };
    let x_label = format!("time since start ({name})");
    let mut p95 = Chart::new(
        "p95 over the soak with its trend",
        &x_label,
        "p95 latency (ms)",
    );
    p95.width = NARROW;
    p95.lines.push(Line::new(
        "p95",
        P95,
        measured.iter().map(|p| (at(p, unit), p.p95)).collect(),
    ));
    p95.lines
        .push(trend(drift.p95_intercept_ms, drift.p95_slope_ms_per_hour));
    let mut errors = Chart::new(
        "Error rate over the soak with its trend",
        &x_label,
        "error rate",
    );
    errors.width = NARROW;
    errors.lines.push(Line::new(
        "error rate",
        FAIL,
        measured
            .iter()
            .map(|p| (at(p, unit), p.error_rate))
            .collect(),
    ));
    errors.lines.push(trend(
        drift.error_rate_intercept,
        drift.error_rate_slope_per_hour,
    ));
    errors.y_format = |y| percent(y);
    let _ = writeln!(
        out,
        "<figure>{}</figure>\n<figure>{}</figure>\n</div>",
        p95.render(),
        errors.render()
    );
    let _ = writeln!(
        out,
        "<p class=\"note\">{}. Trend lines are least-squares fits over the measured points; \
         p95 {} ms per hour, error rate {} per hour (limits from the {}).</p>",
        escape(&drift.why),
        short(drift.p95_slope_ms_per_hour),
        percent(drift.error_rate_slope_per_hour),
        escape(&drift.limits_from)
    );
}
