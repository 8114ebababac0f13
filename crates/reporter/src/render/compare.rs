//! `stampede compare` for people: a table per step of each metric's baseline, current value and
//! change, the changes beyond noise marked.

use std::fmt::Write as _;

use crate::judge::compare::{Comparison, signed_pct, value};
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
}
