//! Line charts as inline SVG, drawn here so the report needs no script, library or network:
//! axes with "nice" ticks and units, a legend, shaded spans (warm-up, cooldown), vertical
//! markers (step boundaries, a knee) and labelled points.

use std::fmt::Write;

use super::escape;
use stampede_metrics::format::{round, trim};

/// The drawing's width in its own units: full width, or half for charts side by side.
pub(crate) const WIDE: f64 = 960.0;
pub(crate) const NARROW: f64 = 520.0;
const HEIGHT: f64 = 300.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 34.0;
const BOTTOM: f64 = 46.0;

/// One line of a chart. Points are `(x, y)`; a break in x larger than `gap` splits the line so
/// a cooldown without traffic is not drawn as a straight ramp.
pub(crate) struct Line {
    pub(crate) name: String,
    pub(crate) color: &'static str,
    pub(crate) points: Vec<(f64, f64)>,
    pub(crate) dashed: bool,
    /// Draw a dot at each point (for sweeps with few points).
    pub(crate) dots: bool,
    pub(crate) gap: Option<f64>,
}

impl Line {
    pub(crate) fn new(name: &str, color: &'static str, points: Vec<(f64, f64)>) -> Line {
        Line {
            name: name.to_owned(),
            color,
            points,
            dashed: false,
            dots: false,
            gap: None,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shade {
    Warmup,
    Cooldown,
    Highlight,
}

pub(crate) struct Chart {
    pub(crate) label: String,
    pub(crate) x_label: String,
    pub(crate) y_label: String,
    pub(crate) lines: Vec<Line>,
    pub(crate) shades: Vec<(f64, f64, Shade)>,
    /// Vertical markers `(x, label)`.
    pub(crate) markers: Vec<(f64, String)>,
    /// Horizontal reference lines `(y, label)`.
    pub(crate) rules: Vec<(f64, String)>,
    /// Emphasised points `(x, y, label)`.
    pub(crate) callouts: Vec<(f64, f64, String)>,
    /// The x range, when it should not just fit the data (a time axis from 0 to the end).
    pub(crate) x_range: Option<(f64, f64)>,
    /// Formats y tick labels (percentages, ms).
    pub(crate) y_format: fn(f64) -> String,
    /// [`WIDE`] or [`NARROW`]; the SVG scales to its box, so this sets the text size relative
    /// to the chart.
    pub(crate) width: f64,
}

impl Chart {
    pub(crate) fn new(label: &str, x_label: &str, y_label: &str) -> Chart {
        Chart {
            label: label.to_owned(),
            x_label: x_label.to_owned(),
            y_label: y_label.to_owned(),
            lines: Vec::new(),
            shades: Vec::new(),
            markers: Vec::new(),
            rules: Vec::new(),
            callouts: Vec::new(),
            x_range: None,
            y_format: |y| trim(y, 3),
            width: WIDE,
        }
    }

    pub(crate) fn render(&self) -> String {
        let width = self.width;
        let xs = self.lines.iter().flat_map(|l| l.points.iter().map(|p| p.0));
        let (x_lo, x_hi) = self.x_range.unwrap_or_else(|| bounds(xs));
        let y_hi = self
            .lines
            .iter()
            .flat_map(|l| l.points.iter().map(|p| p.1))
            .chain(self.rules.iter().map(|r| r.0))
            .chain(self.callouts.iter().map(|c| c.1))
            .fold(0.0, f64::max);
        let y_ticks = ticks(0.0, if y_hi > 0.0 { y_hi } else { 1.0 });
        // A fixed range (time from 0 to the end) is kept exactly, with the ticks inside it; a
        // fitted one widens to round ticks.
        let (x_ticks, x_lo, x_hi) = match self.x_range {
            Some((lo, hi)) => {
                let inside: Vec<f64> = ticks(lo, hi)
                    .into_iter()
                    .filter(|t| *t >= lo - 1e-9 && *t <= hi + 1e-9)
                    .collect();
                (inside, lo, hi)
            }
            None => {
                let all = ticks(x_lo, x_hi);
                let (lo, hi) = (x_lo.min(all[0]), x_hi.max(*all.last().expect("ticks")));
                (all, lo, hi)
            }
        };
        let y_top = *y_ticks.last().expect("ticks");
        let plot_w = width - LEFT - RIGHT;
        let plot_h = HEIGHT - TOP - BOTTOM;
        let sx = |x: f64| LEFT + (x - x_lo) / (x_hi - x_lo).max(f64::EPSILON) * plot_w;
        let sy = |y: f64| TOP + plot_h - y / y_top.max(f64::EPSILON) * plot_h;
        let fmt = |v: f64| trim(v, 1);

        let mut svg = String::new();
        let _ = write!(
            svg,
            r#"<svg class="chart" viewBox="0 0 {width} {HEIGHT}" role="img" aria-label="{}">"#,
            escape(&self.label)
        );
        for &(a, b, shade) in &self.shades {
            let (a, b) = (sx(a.max(x_lo)), sx(b.min(x_hi)));
            if b > a {
                let class = match shade {
                    Shade::Warmup => "warmup",
                    Shade::Cooldown => "cooldown",
                    Shade::Highlight => "highlight",
                };
                let _ = write!(
                    svg,
                    r#"<rect class="{class}" x="{}" y="{TOP}" width="{}" height="{plot_h}"/>"#,
                    fmt(a),
                    fmt(b - a)
                );
            }
        }
        for &y in &y_ticks {
            let _ = write!(
                svg,
                r#"<line class="grid" x1="{LEFT}" x2="{}" y1="{y}" y2="{y}"/><text class="tick" x="{}" y="{}" text-anchor="end">{}</text>"#,
                width - RIGHT,
                LEFT - 6.0,
                fmt(sy(y) + 4.0),
                escape(&(self.y_format)(y)),
                y = fmt(sy(y)),
            );
        }
        for &x in &x_ticks {
            let _ = write!(
                svg,
                r#"<line class="tickmark" x1="{x}" x2="{x}" y1="{}" y2="{}"/><text class="tick" x="{x}" y="{}" text-anchor="middle">{}</text>"#,
                TOP + plot_h,
                TOP + plot_h + 5.0,
                TOP + plot_h + 18.0,
                escape(&trim(x, 3)),
                x = fmt(sx(x)),
            );
        }
        let _ = write!(
            svg,
            r#"<line class="axis" x1="{LEFT}" x2="{}" y1="{b}" y2="{b}"/><line class="axis" x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{b}"/>"#,
            width - RIGHT,
            b = TOP + plot_h
        );
        let _ = write!(
            svg,
            r#"<text class="axis-label" x="{}" y="{}" text-anchor="middle">{}</text>"#,
            fmt(LEFT + plot_w / 2.0),
            HEIGHT - 8.0,
            escape(&self.x_label)
        );
        let _ = write!(
            svg,
            r#"<text class="axis-label" transform="translate(16 {}) rotate(-90)" text-anchor="middle">{}</text>"#,
            fmt(TOP + plot_h / 2.0),
            escape(&self.y_label)
        );
        for (x, label) in &self.markers {
            let x = fmt(sx(*x));
            let _ = write!(
                svg,
                r#"<line class="marker" x1="{x}" x2="{x}" y1="{TOP}" y2="{}"/><text class="marker-label" x="{x}" y="{}" dx="3">{}</text>"#,
                TOP + plot_h,
                TOP - 4.0,
                escape(label)
            );
        }
        for (y, label) in &self.rules {
            let y = fmt(sy(*y));
            let _ = write!(
                svg,
                r#"<line class="rule" x1="{LEFT}" x2="{}" y1="{y}" y2="{y}"/><text class="rule-label" x="{}" y="{y}" dy="-4" text-anchor="end">{}</text>"#,
                width - RIGHT,
                width - RIGHT - 4.0,
                escape(label)
            );
        }
        for line in &self.lines {
            let mut d = String::new();
            let mut previous: Option<f64> = None;
            for &(x, y) in &line.points {
                let jump = matches!((previous, line.gap), (Some(p), Some(g)) if x - p > g);
                let command = if previous.is_none() || jump { 'M' } else { 'L' };
                let _ = write!(d, "{command}{} {}", fmt(sx(x)), fmt(sy(y)));
                previous = Some(x);
            }
            let _ = write!(
                svg,
                r#"<path class="line{}" stroke="{}" d="{d}"><title>{}</title></path>"#,
                if line.dashed { " dashed" } else { "" },
                line.color,
                escape(&line.name)
            );
            if line.dots {
                for &(x, y) in &line.points {
                    let _ = write!(
                        svg,
                        r#"<circle class="dot" cx="{}" cy="{}" r="3.5" fill="{}"/>"#,
                        fmt(sx(x)),
                        fmt(sy(y)),
                        line.color
                    );
                }
            }
        }
        for (x, y, label) in &self.callouts {
            let (cx, cy) = (sx(*x), sy(*y));
            let anchor = if cx > width * 0.75 { "end" } else { "start" };
            let dx = if anchor == "end" { -9.0 } else { 9.0 };
            let _ = write!(
                svg,
                r#"<circle class="callout" cx="{}" cy="{}" r="6"/><text class="callout-label" x="{}" y="{}" dx="{dx}" dy="-8" text-anchor="{anchor}">{}</text>"#,
                fmt(cx),
                fmt(cy),
                fmt(cx),
                fmt(cy),
                escape(label)
            );
        }
        // The legend, right-aligned above the plot.
        let mut x = width - RIGHT;
        for line in self.lines.iter().rev() {
            x -= 26.0 + 7.0 * line.name.chars().count() as f64;
            let _ = write!(
                svg,
                r#"<line class="legend{}" x1="{}" x2="{}" y1="14" y2="14" stroke="{}"/><text class="legend-label" x="{}" y="18">{}</text>"#,
                if line.dashed { " dashed" } else { "" },
                fmt(x),
                fmt(x + 16.0),
                line.color,
                fmt(x + 20.0),
                escape(&line.name)
            );
        }
        svg.push_str("</svg>");
        svg
    }
}

fn bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if !lo.is_finite() {
        (0.0, 1.0)
    } else if hi > lo {
        (lo, hi)
    } else {
        (lo - 1.0, hi + 1.0)
    }
}

/// About five round ticks (1, 2 or 5 times a power of ten) covering `[lo, hi]`.
pub(crate) fn ticks(lo: f64, hi: f64) -> Vec<f64> {
    let span = (hi - lo).max(f64::EPSILON);
    let rough = span / 5.0;
    let power = 10f64.powf(rough.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|&s| s >= rough)
        .unwrap_or(10.0 * power);
    let first = (lo / step).floor() * step;
    // Rounding to the step's decimals keeps 0.6000000000000001 out of the labels.
    let decimals = (-step.log10().floor()).max(0.0) as i32;
    let mut out = Vec::new();
    let mut i = 0.0;
    loop {
        let t = first + i * step;
        out.push(round(t, decimals));
        if t >= hi - step * 1e-9 {
            break;
        }
        i += 1.0;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(ticks(0.0, 97.0), [0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
        assert_eq!(ticks(0.0, 1.0), [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]);
        assert_eq!(ticks(50.0, 400.0), [0.0, 100.0, 200.0, 300.0, 400.0]);
        assert_eq!(ticks(0.0, 0.013), [0.0, 0.005, 0.01, 0.015]);
    }

    #[test]
    fn lines_break_at_gaps_and_labels_are_escaped() {
        let mut chart = Chart::new("p95 <ms>", "time (s)", "ms");
        let mut line = Line::new(
            "p95",
            "#f58518",
            vec![(0.0, 1.0), (1.0, 2.0), (10.0, 2.0), (11.0, 1.0)],
        );
        line.gap = Some(1.5);
        chart.lines.push(line);
        let svg = chart.render();
        assert!(svg.contains(r#"aria-label="p95 &lt;ms&gt;""#), "{svg}");
        let d = svg
            .split(" d=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        assert_eq!(d.matches('M').count(), 2, "{d}");
        assert!(!svg.contains("http"), "{svg}");
    }
}
