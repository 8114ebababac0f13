//! `stampede compare` for people: a table per step of each metric's baseline, current value and
//! change, the changes beyond noise marked; as text for the terminal, and as one self-contained
//! HTML page (`compare --html FILE`) for a planner to share, with report.html's style.

use std::fmt::Write as _;

use crate::judge::compare::{Change, Comparison, signed_pct, value};
use crate::render::html::{STYLE, escape};
use crate::render::text::table;

impl Comparison {
    /// A table per step: each metric's baseline, current value and change, `*` marking the
    /// changes beyond noise.
    pub fn to_text(&self) -> String {
        let mut out = format!("{} compared with {}\n", self.current_run, self.baseline_run);
        if let Some(knee) = &self.knee {
            let _ = writeln!(out, "{}", knee.sentence);
        }
        for step in &self.steps {
            let _ = writeln!(out, "\nstep {} ({})", step.index + 1, step.label);
            let header = ["request", "metric", "baseline", "current", "change", ""];
            let mut rows = Vec::new();
            for request in std::iter::once(&step.total).chain(&step.requests) {
                for c in &request.changes {
                    rows.push(vec![
                        request.name.clone(),
                        c.metric.name().to_owned(),
                        value(c.metric, c.baseline),
                        value(c.metric, c.current),
                        c.change_pct.map_or("-".to_owned(), signed_pct),
                        match (c.significant, c.worse) {
                            (true, true) => "* worse".to_owned(),
                            (true, false) => "* better".to_owned(),
                            _ => String::new(),
                        },
                    ]);
                }
            }
            out.push_str(&table(&header, &rows, 2));
        }
        for note in &self.notes {
            let _ = writeln!(out, "note: {note}");
        }
        out.push_str("* beyond sampling and run-to-run noise (99% confidence)\n");
        out
    }

    /// One HTML page: both runs side by side per step and per request, a change marked (and
    /// coloured) only where it is beyond noise. Inline CSS, no script, nothing fetched.
    pub fn to_html(&self, scenario: &str) -> String {
        let mut out = format!(
            "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <title>{}: {} against {}</title>\n<style>\n{STYLE}{COMPARE_STYLE}</style>\n\
             </head>\n<body>\n<main>\n",
            escape(scenario),
            escape(&self.current_run),
            escape(&self.baseline_run)
        );
        let worse = self.count(|c| c.significant && c.worse);
        let better = self.count(|c| c.significant && !c.worse);
        let _ = writeln!(
            out,
            "<header class=\"verdict {}\"><h1>{} <span class=\"kind\">compared</span></h1>\n\
             <p class=\"meta\">run {} against baseline {}</p>\n\
             <p class=\"verdict-line\">{worse} changes for the worse and {better} for the better \
             beyond noise</p></header>",
            if worse > 0 { "failed" } else { "passed" },
            escape(scenario),
            escape(&self.current_run),
            escape(&self.baseline_run)
        );
        if let Some(knee) = &self.knee {
            let _ = writeln!(out, "<h2>Knee</h2>\n<p>{}</p>", escape(&knee.sentence));
        }
        for step in &self.steps {
            let _ = writeln!(
                out,
                "<h2>Step {} ({})</h2>\n<table>\n<tr><th class=\"text\">request</th>\
                 <th class=\"text\">metric</th><th>baseline</th><th>current</th>\
                 <th>change</th><th class=\"text\"></th></tr>",
                step.index + 1,
                escape(&step.label)
            );
            for request in std::iter::once(&step.total).chain(&step.requests) {
                for change in &request.changes {
                    out.push_str(&change_row(&request.name, change));
                }
            }
            out.push_str("</table>\n");
        }
        for note in &self.notes {
            let _ = writeln!(out, "<p class=\"note\">{}</p>", escape(note));
        }
        out.push_str(
            "<p class=\"note\">Marked: beyond both the histograms' sampling noise and the \
             run-to-run noise each run shows in its own intervals (99% confidence). Unmarked \
             differences are within noise.</p>\n</main>\n</body>\n</html>\n",
        );
        out
    }

    fn count(&self, which: impl Fn(&Change) -> bool) -> usize {
        self.steps
            .iter()
            .flat_map(|s| std::iter::once(&s.total).chain(&s.requests))
            .flat_map(|r| &r.changes)
            .filter(|c| which(c))
            .count()
    }
}

/// What a comparison adds to report.html's style: the colour of a change beyond noise.
const COMPARE_STYLE: &str = "tr.worse td { background: #ffebe9; }\n\
    tr.better td { background: #dafbe1; }\n";

fn change_row(request: &str, c: &Change) -> String {
    let (class, mark) = match (c.significant, c.worse) {
        (true, true) => (" class=\"worse\"", "worse"),
        (true, false) => (" class=\"better\"", "better"),
        _ => ("", ""),
    };
    format!(
        "<tr{class}><td class=\"text\">{}</td><td class=\"text\">{}</td><td>{}</td><td>{}</td>\
         <td>{}</td><td class=\"text\">{mark}</td></tr>\n",
        escape(request),
        c.metric.name(),
        escape(&value(c.metric, c.baseline)),
        escape(&value(c.metric, c.current)),
        c.change_pct.map_or("-".to_owned(), signed_pct)
    )
}
