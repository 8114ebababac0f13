//! failures.csv: what failed, per request and kind, with when it was first and last seen.
//!
//! Locust's layout (`Method,Name,Error,Occurrences`) plus `First Seen` and `Last Seen`, RFC 3339
//! UTC at interval resolution: first seen is the start of the first interval it occurred in, last
//! seen the end of the last one; then `Sample`, what the first such failure looked like (the
//! start of the response body, the transport error, the value a check saw), control characters
//! escaped. Warm-up intervals are left out, as from the step figures, so
//! the occurrences add up to the failure counts of steps.csv. The tally is keyed by a small
//! closed set (status, transport outcome, check), so it stays tiny however long the run.

use std::io::Write;
use std::time::{Duration, SystemTime};

use stampede_metrics::{FailureKey, IntervalSnapshot};

use crate::store::clock::rfc3339;
use crate::summary::FailureRow;
use crate::summary::words;

struct Entry {
    request: usize,
    key: FailureKey,
    occurrences: u64,
    first: Duration,
    last: Duration,
    /// What the first such failure looked like: a body, an error, a value seen.
    sample: Option<String>,
}

#[derive(Default)]
pub(crate) struct FailureLog {
    entries: Vec<Entry>,
}

impl FailureLog {
    pub(crate) fn push(&mut self, snapshot: &IntervalSnapshot) {
        if snapshot.warmup {
            return;
        }
        let end = snapshot.start + snapshot.length;
        for (request, stats) in snapshot.stats.requests.iter().enumerate() {
            for (key, n) in stats.failures.iter() {
                let sample = || stats.samples.get(key).map(str::to_owned);
                match self
                    .entries
                    .iter_mut()
                    .find(|e| e.request == request && e.key == key)
                {
                    Some(entry) => {
                        entry.occurrences += n;
                        entry.last = end;
                        if entry.sample.is_none() {
                            entry.sample = sample();
                        }
                    }
                    None => self.entries.push(Entry {
                        request,
                        key,
                        occurrences: n,
                        first: snapshot.start,
                        last: end,
                        sample: sample(),
                    }),
                }
            }
        }
    }

    /// The rows, most frequent first (then in first-seen order).
    pub(crate) fn rows(
        &self,
        started_at: SystemTime,
        methods: &[String],
        names: &[String],
        checks: &[Vec<String>],
    ) -> Vec<FailureRow> {
        let mut order: Vec<&Entry> = self.entries.iter().collect();
        order.sort_by_key(|e| std::cmp::Reverse(e.occurrences));
        let none = Vec::new();
        order
            .into_iter()
            .map(|e| FailureRow {
                method: methods.get(e.request).cloned().unwrap_or_default(),
                name: names.get(e.request).cloned().unwrap_or_default(),
                error: words::failure(e.key, checks.get(e.request).unwrap_or(&none)),
                occurrences: e.occurrences,
                first_seen: rfc3339(started_at + e.first),
                last_seen: rfc3339(started_at + e.last),
                sample: e.sample.clone(),
            })
            .collect()
    }
}

use crate::render::escape::csv_text;

pub(crate) fn write(out: &mut impl Write, rows: &[FailureRow]) -> csv::Result<()> {
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record([
        "Method",
        "Name",
        "Error",
        "Occurrences",
        "First Seen",
        "Last Seen",
        "Sample",
    ])?;
    for row in rows {
        writer.write_record([
            row.method.as_str(),
            &csv_text(&row.name),
            &csv_text(&row.error),
            &row.occurrences.to_string(),
            &row.first_seen,
            &row.last_seen,
            &csv_text(row.sample.as_deref().unwrap_or("")),
        ])?;
    }
    writer.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use stampede_metrics::{Outcome, StatsSet};
    use std::time::UNIX_EPOCH;

    fn snapshot(seq: u64, warmup: bool, keys: &[(usize, FailureKey)]) -> IntervalSnapshot {
        let mut stats = StatsSet::new(2);
        for &(request, key) in keys {
            stats.requests[request].failures.bump(key);
        }
        if seq == 2 {
            stats.requests[1].samples.keep(
                FailureKey::Status(500),
                "{\"error\":\"db down\"}".to_owned(),
            );
        }
        IntervalSnapshot {
            warmup,
            ..crate::testdata::second(seq, stats)
        }
    }

    #[test]
    fn a_sample_that_looks_like_a_formula_is_written_as_text() {
        let row = FailureRow {
            method: "GET".to_owned(),
            name: "@lookup".to_owned(),
            error: "500".to_owned(),
            occurrences: 1,
            first_seen: "t0".to_owned(),
            last_seen: "t1".to_owned(),
            sample: Some("=HYPERLINK(\"http://127.0.0.1/\")".to_owned()),
        };
        let mut out = Vec::new();
        write(&mut out, &[row]).expect("write");
        let csv = String::from_utf8(out).expect("utf-8");
        let line = csv.lines().nth(1).expect("a row");
        assert_eq!(
            line,
            "GET,'@lookup,500,1,t0,t1,\"'=HYPERLINK(\"\"http://127.0.0.1/\"\")\""
        );
    }

    #[test]
    fn golden_failures_with_first_and_last_seen() {
        let timeout = FailureKey::Transport(Outcome::Timeout);
        let mut log = FailureLog::default();
        log.push(&snapshot(0, true, &[(1, FailureKey::Status(500))]));
        log.push(&snapshot(
            1,
            false,
            &[(1, FailureKey::Status(500)), (0, timeout)],
        ));
        log.push(&snapshot(
            2,
            false,
            &[(1, FailureKey::Status(500)), (1, FailureKey::Check(0))],
        ));
        log.push(&snapshot(5, false, &[(1, FailureKey::Status(500))]));
        let started = UNIX_EPOCH + Duration::from_secs(1_795_428_900);
        let rows = log.rows(
            started,
            &["POST".to_owned(), "GET".to_owned()],
            &["login".to_owned(), "items, all".to_owned()],
            &[vec![], vec!["status in 200".to_owned()]],
        );
        let mut out = Vec::new();
        write(&mut out, &rows).unwrap();
        let want = "\
Method,Name,Error,Occurrences,First Seen,Last Seen,Sample
GET,\"items, all\",HTTP 500,3,2026-11-23T10:15:01Z,2026-11-23T10:15:06Z,\"{\"\"error\"\":\"\"db down\"\"}\"
POST,login,timeout,1,2026-11-23T10:15:01Z,2026-11-23T10:15:02Z,
GET,\"items, all\",check failed: status in 200,1,2026-11-23T10:15:02Z,2026-11-23T10:15:03Z,
";
        assert_eq!(String::from_utf8(out).unwrap(), want);
    }
}
