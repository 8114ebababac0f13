//! The report's tables: steps, requests over the run, failures.

use std::fmt::Write;

use super::escape;
use crate::summary::Summary;
use stampede_metrics::Figures;
use stampede_metrics::format::{grouped, percent, short};

/// Failures listed at most; the rest are in failures.csv.
const FAILURE_ROWS: usize = 20;

fn figure_cells(f: &Figures) -> String {
    let l = &f.latency_ms;
    let mut cells = format!(
        "<td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
        grouped(f.requests),
        grouped(f.failed),
        percent(f.error_rate),
        short(f.rps)
    );
    for v in [l.min, l.mean, l.p50, l.p90, l.p95, l.p99, l.p99_9, l.max] {
        let _ = write!(cells, "<td>{}</td>", short(v));
    }
    cells
}

const FIGURE_HEADS: &str = "<th>requests</th><th>failed</th><th>errors</th><th>rps</th>\
    <th>min</th><th>mean</th><th>p50</th><th>p90</th><th>p95</th><th>p99</th><th>p99.9</th><th>max</th>";

pub(super) fn steps_table(out: &mut String, s: &Summary) {
    let open = s.steps.iter().any(|st| st.load.planned_rate.is_some());
    let _ = write!(
        out,
        "<h2>Steps</h2>\n<table>\n<tr><th class=\"text\">step</th><th>users</th>{}{FIGURE_HEADS}<th>reconnects</th></tr>\n",
        if open {
            "<th>target /s</th><th>achieved /s</th><th>dropped</th>"
        } else {
            ""
        }
    );
    for st in &s.steps {
        let rates = if open {
            format!(
                "<td>{}</td><td>{}</td><td>{}</td>",
                st.load.planned_rate.map(short).unwrap_or_default(),
                st.load.achieved_rate.map(short).unwrap_or_default(),
                grouped(st.load.dropped)
            )
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "<tr><td>{} {}{}</td><td>{}</td>{rates}{}<td>{}</td></tr>",
            st.index + 1,
            escape(&st.label),
            if st.cut_short { " (cut short)" } else { "" },
            st.load.peak_users,
            figure_cells(&st.figures),
            grouped(st.load.reconnects)
        );
    }
    let t = &s.total;
    let _ = writeln!(
        out,
        "<tr class=\"total\"><td>total</td><td>{}</td>{}{}<td>{}</td></tr>\n</table>",
        t.load.peak_users,
        if open {
            format!(
                "<td></td><td>{}</td><td>{}</td>",
                t.load.achieved_rate.map(short).unwrap_or_default(),
                grouped(t.load.dropped)
            )
        } else {
            String::new()
        },
        figure_cells(&t.figures),
        grouped(t.load.reconnects)
    );
    let _ = writeln!(
        out,
        "<p class=\"note\">{}; measured time excludes warm-up.</p>",
        escape(&crate::summary::words::latency_basis(&t.figures))
    );
}

pub(super) fn requests_table(out: &mut String, s: &Summary) {
    let _ = writeln!(
        out,
        "<h2>Requests over the run</h2>\n<table>\n<tr><th class=\"text\">request</th>{FIGURE_HEADS}</tr>"
    );
    for (name, f) in s.total.requests_by_name.iter() {
        let _ = writeln!(
            out,
            "<tr><td class=\"text\">{}</td>{}</tr>",
            escape(name),
            figure_cells(f)
        );
    }
    out.push_str("</table>\n");
}

/// `POST /orders` for a request named so; `GET health` when the name does not say its method.
fn request_title(method: &str, name: &str) -> String {
    if method.is_empty() || name.starts_with(&format!("{method} ")) {
        name.to_owned()
    } else {
        format!("{method} {name}")
    }
}

pub(super) fn failures_table(out: &mut String, s: &Summary) {
    if s.failures.is_empty() {
        return;
    }
    out.push_str(
        "<h2>Failures</h2>\n<table>\n<tr><th class=\"text\">request</th><th class=\"text\">error</th>\
         <th>occurrences</th><th class=\"text\">first seen</th><th class=\"text\">last seen</th></tr>\n",
    );
    for f in s.failures.iter().take(FAILURE_ROWS) {
        let _ = writeln!(
            out,
            "<tr><td class=\"text\">{}</td><td class=\"text\">{}</td><td>{}</td><td class=\"text\">{}</td><td class=\"text\">{}</td></tr>",
            escape(&request_title(&f.method, &f.name)),
            escape(&f.error),
            grouped(f.occurrences),
            escape(&f.first_seen),
            escape(&f.last_seen)
        );
    }
    out.push_str("</table>\n");
    if s.failures.len() > FAILURE_ROWS {
        let _ = writeln!(
            out,
            "<p class=\"note\">{} more in failures.csv.</p>",
            s.failures.len() - FAILURE_ROWS
        );
    }
}
