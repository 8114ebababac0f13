//! `stampede run NAME --repeat N`: the same scenario N times, with a cooldown between runs,
//! for plans that say "run 3-5 times for consistency".
//!
//! Each run is a normal run, with its own results folder, record and history line; the runs
//! share a repeat group in their summaries and history. After the last one, a summary of each
//! run's headline figures and their spread (`stampede_metrics::Spread`), read from each run's
//! summary: nothing is recomputed here. The exit code is the worst run's; a signal stops the
//! run under way as usual and the repeats still to come.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;
use stampede_metrics::Spread;
use stampede_metrics::format::{percent, short};
use stampede_reporter::{Repeat, Summary, Verdict};

use super::{RunCmd, Ui};
use crate::exit;
use crate::output::{self, OutputFormat};
use crate::scenarios::Loaded;
use crate::signals::Interrupts;

/// The most runs one `--repeat` may ask for.
const MAX_REPEAT: u32 = 100;

/// The repeat flags of `stampede run`.
#[derive(Debug, Default, clap::Args)]
pub struct RepeatArgs {
    /// Run the scenario N times (1 to 100), each a normal run with its own results folder and
    /// history line, recorded as one group; then one summary of every run's headline figures
    /// and their spread (min / median / max). The exit code is the worst run's.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=MAX_REPEAT as i64), conflicts_with = "segment")]
    repeat: Option<u32>,
    /// Idle time between repeated runs (default: the scenario's `cooldown`, else none).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration, requires = "repeat")]
    repeat_cooldown: Option<Duration>,
    /// Boxed: every `stampede` command's arguments are as large as `run`'s.
    #[arg(skip)]
    state: Box<State>,
}

/// Where a repeat is.
#[derive(Debug, Default)]
struct State {
    /// The run of the repeat under way: its summary and history line say so.
    current: Option<Repeat>,
    /// The summary of each run done, with its results folder.
    done: RefCell<Vec<(Summary, PathBuf)>>,
}

impl RepeatArgs {
    /// True when more than one run was asked for.
    pub(super) fn wanted(&self) -> bool {
        self.repeat.is_some_and(|n| n > 1)
    }

    /// The run under way, when it is one of a repeat.
    pub(super) fn current(&self) -> Option<Repeat> {
        self.state.current.clone()
    }

    /// True while repeating: each run's own summary is not printed as JSON, the repeat's is.
    pub(super) fn repeating(&self) -> bool {
        self.state.current.is_some()
    }

    /// Notes a run's summary, for the repeat's.
    pub(super) fn finished(&self, summary: &Summary, dir: &Path) {
        if self.state.current.is_some() {
            self.state
                .done
                .borrow_mut()
                .push((summary.clone(), dir.to_owned()));
        }
    }
}

/// Runs `loaded` as many times as `--repeat` asks, then prints the repeat's summary.
pub(super) fn run(
    cmd: &mut RunCmd,
    loaded: &Loaded,
    interrupts: &Interrupts,
    ui: Ui,
) -> anyhow::Result<u8> {
    let runs = cmd.repeat.repeat.unwrap_or(1);
    let cooldown = cmd.repeat.repeat_cooldown.unwrap_or_else(|| {
        let steps = loaded.plan.steps.iter();
        steps.map(|s| s.cooldown).max().unwrap_or_default()
    });
    let group = format!(
        "repeat-{}",
        stampede_reporter::new_run_id(SystemTime::now())
    );
    let base_id = cmd.run_id.clone();
    let mut worst = exit::PASSED;
    for run in 1..=runs {
        if run > 1 && !cool_down(cooldown, run, runs, interrupts) {
            worst = worse(worst, exit::INTERRUPTED);
            break;
        }
        // A given run id names the group's runs: ID-1, ID-2, ...
        cmd.run_id = base_id.as_ref().map(|id| format!("{id}-{run}"));
        cmd.repeat.state.current = Some(Repeat {
            group: group.clone(),
            run,
            of: runs,
        });
        tracing::info!("repeat {run} of {runs} ({group})");
        let code = cmd.once(loaded, interrupts, ui)?;
        worst = worse(worst, code);
        // Only a run that completed is worth repeating: an interrupted one, or one that could
        // not run (locked, a monitor gone), would fail the same way again.
        if !matches!(code, exit::PASSED | exit::THRESHOLDS_FAILED) {
            break;
        }
    }
    let report = Report::of(&group, runs, &cmd.repeat.state.done.borrow());
    let printed = match cmd.output_format {
        OutputFormat::Text => output::print(&report.text()),
        OutputFormat::Json => {
            let json = serde_json::to_string_pretty(&report).expect("a report serialises");
            output::print(&format!("{json}\n"))
        }
    };
    match printed {
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => {}
        other => other?,
    }
    Ok(worst)
}

/// Waits out the cooldown before run `run`; false when a signal came meanwhile.
fn cool_down(cooldown: Duration, run: u32, runs: u32, interrupts: &Interrupts) -> bool {
    if interrupts.interrupted() {
        return false;
    }
    if !cooldown.is_zero() {
        tracing::info!(
            "cooling down {} before repeat {run} of {runs}",
            humantime::format_duration(cooldown)
        );
    }
    // In slices, so that a signal during a long cooldown is obeyed within a tenth of a second.
    let until = Instant::now() + cooldown;
    while let Some(left) = until.checked_duration_since(Instant::now()) {
        if interrupts.interrupted() || left.is_zero() {
            break;
        }
        std::thread::sleep(left.min(Duration::from_millis(100)));
    }
    !interrupts.interrupted()
}

/// The worse of two exit codes: an interrupted set of runs, then one that could not run, then
/// a failed threshold, then a pass.
fn worse(a: u8, b: u8) -> u8 {
    let rank = |code: u8| match code {
        exit::PASSED => 0,
        exit::THRESHOLDS_FAILED => 1,
        exit::INTERRUPTED => 3,
        exit::INTERRUPTED_AGAIN => 4,
        _ => 2,
    };
    if rank(b) > rank(a) { b } else { a }
}

/// The repeat's summary: each run's headline figures and their spread.
#[derive(Debug, Serialize)]
struct Report {
    group: String,
    scenario: String,
    /// Runs asked for; `runs` holds those that ended with a summary.
    asked: u32,
    runs: Vec<RunLine>,
    spread: SpreadLine,
}

#[derive(Debug, Serialize)]
struct RunLine {
    run_id: String,
    results: PathBuf,
    verdict: Verdict,
    p95_ms: f64,
    rps: f64,
    error_rate: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    knee_users: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ceiling_users: Option<u32>,
    /// A capacity sweep looks for a knee, found or not.
    #[serde(skip)]
    sweep: bool,
}

#[derive(Debug, Serialize)]
struct SpreadLine {
    p95_ms: Option<Spread>,
    rps: Option<Spread>,
    error_rate: Option<Spread>,
    /// A capacity sweep's knee and safe ceiling, over the runs that found one.
    #[serde(skip_serializing_if = "Option::is_none")]
    knee_users: Option<Spread>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ceiling_users: Option<Spread>,
}

impl Report {
    fn of(group: &str, asked: u32, done: &[(Summary, PathBuf)]) -> Report {
        let runs: Vec<RunLine> = done
            .iter()
            .map(|(s, dir)| {
                let knee = s.analysis.knee.as_ref();
                RunLine {
                    run_id: s.run_id.clone(),
                    results: dir.clone(),
                    verdict: s.verdict,
                    p95_ms: s.total.figures.latency_ms.p95,
                    rps: s.total.figures.rps,
                    error_rate: s.total.figures.error_rate,
                    knee_users: knee.and_then(|k| k.users),
                    ceiling_users: knee.and_then(|k| k.ceiling_users),
                    sweep: knee.is_some(),
                }
            })
            .collect();
        let spread = |pick: fn(&RunLine) -> Option<f64>, decimals| {
            Spread::of(runs.iter().filter_map(pick), decimals)
        };
        let spread = SpreadLine {
            p95_ms: spread(|r| Some(r.p95_ms), 3),
            rps: spread(|r| Some(r.rps), 3),
            error_rate: spread(|r| Some(r.error_rate), 6),
            knee_users: spread(|r| r.knee_users.map(f64::from), 1),
            ceiling_users: spread(|r| r.ceiling_users.map(f64::from), 1),
        };
        Report {
            group: group.to_owned(),
            scenario: done
                .first()
                .map_or_else(String::new, |(s, _)| s.scenario.clone()),
            asked,
            runs,
            spread,
        }
    }

    fn text(&self) -> String {
        let knees = self.runs.iter().any(|r| r.sweep);
        let mut out = format!(
            "\nrepeat {}: {} of {} runs of {}\n",
            self.group,
            self.runs.len(),
            self.asked,
            self.scenario
        );
        out.push_str(&format!(
            "  {:<22} {:<11} {:>10} {:>10} {:>8}",
            "run", "verdict", "p95 ms", "rps", "errors"
        ));
        if knees {
            out.push_str(&format!(" {:>10} {:>8}", "knee users", "ceiling"));
        }
        out.push('\n');
        let users = |u: Option<u32>| u.map_or_else(|| "none".to_owned(), |u| u.to_string());
        for r in &self.runs {
            out.push_str(&format!(
                "  {:<22} {:<11} {:>10} {:>10} {:>8}",
                r.run_id,
                r.verdict.as_str(),
                short(r.p95_ms),
                short(r.rps),
                percent(r.error_rate)
            ));
            if knees {
                out.push_str(&format!(
                    " {:>10} {:>8}",
                    users(r.knee_users),
                    users(r.ceiling_users)
                ));
            }
            out.push('\n');
        }
        out.push_str("spread (min / median / max)\n");
        type Row<'a> = (&'a str, Option<Spread>, fn(f64) -> String);
        let rows: [Row<'_>; 5] = [
            ("p95 ms", self.spread.p95_ms, short),
            ("rps", self.spread.rps, short),
            ("errors", self.spread.error_rate, percent),
            ("knee users", self.spread.knee_users, short),
            ("ceiling", self.spread.ceiling_users, short),
        ];
        for (name, spread, show) in rows {
            if let Some(s) = spread {
                out.push_str(&format!(
                    "  {name:<12} {} / {} / {}\n",
                    show(s.min),
                    show(s.median),
                    show(s.max)
                ));
            }
        }
        if knees {
            let found = self.runs.iter().filter(|r| r.knee_users.is_some()).count();
            out.push_str(&format!(
                "  knee found in {found} of {} runs\n",
                self.runs.len()
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worst_code_wins_whatever_the_order() {
        let codes = [
            exit::PASSED,
            exit::THRESHOLDS_FAILED,
            exit::LOCKED,
            exit::INTERRUPTED,
        ];
        for (i, &a) in codes.iter().enumerate() {
            for &b in &codes[i..] {
                assert_eq!(worse(a, b), b, "{a} then {b}");
                assert_eq!(worse(b, a), b, "{b} then {a}");
            }
        }
    }
}
