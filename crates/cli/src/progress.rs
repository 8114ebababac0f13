//! What a person, or a cron mail, sees while a run goes on.
//!
//! At a terminal: a live display on stderr (indicatif) of the step, users, time, RPS, p95,
//! errors and the next step, redrawn in place and cleared at the end. Anywhere else: no display
//! and no escape sequences, but plain log lines, so a cron mail or a journal reads as a record of
//! the run: one per phase change, and one per span of the log cadence (see [`Cadence`]) with the
//! step and the run's elapsed and planned time, its figures over the whole span.
//!
//! Log lines and the display share stderr. Every log line goes through [`LogWriter`], which
//! hides the display while the line is written, so neither tears the other.

use std::io::{self, Write as _};
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle, TermLike};
use stampede_metrics::{
    AlertLevel, Event, Figures, IntervalSnapshot, RequestStats, RunEnding, StepInfo, format,
};
use stampede_plan::Plan;

use crate::cadence::Cadence;
use tracing_subscriber::fmt::MakeWriter;

/// The display on screen, if any, for [`LogWriter`] to step around.
static SHOWN: Mutex<Option<ProgressBar>> = Mutex::new(None);

fn shown() -> Option<ProgressBar> {
    SHOWN.lock().map_or(None, |bar| bar.clone())
}

fn set_shown(bar: Option<ProgressBar>) {
    if let Ok(mut shown) = SHOWN.lock() {
        *shown = bar;
    }
}

/// Clears the display, if one is shown: for an exit that skips the normal end (a second Ctrl-C).
pub fn clear() {
    if let Some(bar) = shown() {
        bar.finish_and_clear();
    }
    set_shown(None);
}

/// The writer tracing formats log lines into: stderr, around the display when one is shown.
#[derive(Clone, Copy, Debug, Default)]
pub struct LogWriter;

impl<'a> MakeWriter<'a> for LogWriter {
    type Writer = LogLine;

    fn make_writer(&'a self) -> LogLine {
        LogLine(Vec::with_capacity(256))
    }
}

/// One formatted log line, written whole when dropped.
pub struct LogLine(Vec<u8>);

impl io::Write for LogLine {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for LogLine {
    fn drop(&mut self) {
        if self.0.is_empty() {
            return;
        }
        // A log line that cannot be written has nowhere else to go.
        let write = || {
            let _ = io::stderr().lock().write_all(&self.0);
        };
        match shown() {
            Some(bar) => bar.suspend(write),
            None => write(),
        }
    }
}

/// stderr as the display's terminal, ending each line of the display with erase-to-end-of-line
/// and a newline where indicatif pads it with spaces to the terminal's width.
///
/// Padding leaves the cursor in the last column, so the `^C` a terminal echoes on Ctrl-C wraps
/// onto a line indicatif does not know of, and clearing the display then leaves its first line
/// behind. Ending the lines early keeps the echo on the display's own last line.
#[derive(Debug)]
struct Stderr {
    term: console::Term,
    pending: Mutex<String>,
}

impl Default for Stderr {
    fn default() -> Stderr {
        Stderr {
            term: console::Term::stderr(),
            pending: Mutex::new(String::new()),
        }
    }
}

/// Stands for a line's padding until the draw is flushed.
const PADDING: char = '\u{0}';

impl Stderr {
    fn push(&self, text: &str) {
        if let Ok(mut pending) = self.pending.lock() {
            pending.push_str(text);
        }
    }
}

impl TermLike for Stderr {
    fn width(&self) -> u16 {
        self.term.size().1
    }

    fn height(&self) -> u16 {
        self.term.size().0
    }

    fn move_cursor_up(&self, n: usize) -> io::Result<()> {
        if n > 0 {
            self.push(&format!("\x1b[{n}A"));
        }
        Ok(())
    }

    fn move_cursor_down(&self, n: usize) -> io::Result<()> {
        if n > 0 {
            self.push(&format!("\x1b[{n}B"));
        }
        Ok(())
    }

    fn move_cursor_right(&self, n: usize) -> io::Result<()> {
        if n > 0 {
            self.push(&format!("\x1b[{n}C"));
        }
        Ok(())
    }

    fn move_cursor_left(&self, n: usize) -> io::Result<()> {
        if n > 0 {
            self.push(&format!("\x1b[{n}D"));
        }
        Ok(())
    }

    fn write_line(&self, s: &str) -> io::Result<()> {
        self.push(s);
        self.push("\n");
        Ok(())
    }

    fn write_str(&self, s: &str) -> io::Result<()> {
        // indicatif writes each line, then its padding as a string of spaces alone.
        if s.bytes().all(|b| b == b' ') {
            self.push(&PADDING.to_string());
        } else {
            self.push(s);
        }
        Ok(())
    }

    fn clear_line(&self) -> io::Result<()> {
        self.push("\r\x1b[2K");
        Ok(())
    }

    fn flush(&self) -> io::Result<()> {
        let pending = match self.pending.lock() {
            Ok(mut pending) => std::mem::take(&mut *pending),
            Err(_) => return Ok(()),
        };
        let text = end_lines(&pending);
        let mut stderr = io::stderr().lock();
        stderr.write_all(text.as_bytes())?;
        stderr.flush()
    }
}

/// Every padding but the last becomes erase-and-newline; the last only erases.
fn end_lines(drawn: &str) -> String {
    let last = drawn.rfind(PADDING);
    let mut out = String::with_capacity(drawn.len() + 16);
    for (index, c) in drawn.char_indices() {
        match c {
            PADDING if Some(index) == last => out.push_str("\x1b[K"),
            PADDING => out.push_str("\x1b[K\n"),
            c => out.push(c),
        }
    }
    out
}

/// What is shown of the run: the display at a terminal, log lines everywhere.
pub struct Progress {
    bar: Option<ProgressBar>,
    steps: usize,
    /// Each step's label and offset, for "next: 200 users in 3m".
    upcoming: Vec<(String, Duration)>,
    current: Option<StepInfo>,
    /// The current step's measured requests so far, for its closing line.
    step_total: RequestStats,
    /// The run's planned length, for "elapsed 1:05:00 / 4:00:00".
    planned: Duration,
    /// Without the display: when the next interval line is due, and what it covers so far.
    cadence: Cadence,
    span: RequestStats,
    span_length: Duration,
    /// The monitors' names, from the run's start, for a line that shows several.
    monitors: Vec<String>,
}

impl Progress {
    /// `display`: show the live display (stderr is a terminal and not `--quiet`). Without it,
    /// an interval line every `log_every` (default: the plan's series interval).
    pub fn new(plan: &Plan, display: bool, colour: bool, log_every: Option<Duration>) -> Progress {
        let planned = plan.total_duration();
        let bar = display.then(|| {
            let template = if colour {
                "{spinner:.green} {prefix:.bold} [{bar:30.cyan/blue}] {elapsed_precise} / TOTAL\n  {msg}"
            } else {
                "{spinner} {prefix} [{bar:30}] {elapsed_precise} / TOTAL\n  {msg}"
            }
            .replace("TOTAL", &clock(planned));
            let style = ProgressStyle::with_template(&template)
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
            let bar = ProgressBar::with_draw_target(
                Some(millis(planned).max(1)),
                ProgressDrawTarget::term_like_with_hz(Box::new(Stderr::default()), 10),
            )
            .with_style(style)
            .with_prefix("starting")
            .with_message("waiting for the first interval");
            bar.enable_steady_tick(Duration::from_millis(200));
            set_shown(Some(bar.clone()));
            bar
        });
        Progress {
            bar,
            steps: plan.steps.len(),
            upcoming: plan
                .steps
                .iter()
                .map(|s| s.label.clone())
                .zip(plan.step_offsets())
                .collect(),
            current: None,
            step_total: RequestStats::default(),
            planned,
            cadence: Cadence::new(log_every.unwrap_or(plan.series_interval)),
            span: RequestStats::default(),
            span_length: Duration::ZERO,
            monitors: Vec::new(),
        }
    }

    pub fn show(&mut self, event: &Event<'_>) {
        match event {
            Event::RunStarted(start) => {
                self.monitors = start.monitors.clone();
                if let Some(bar) = &self.bar {
                    bar.reset_elapsed();
                }
                tracing::debug!(
                    threads = start.threads,
                    planned = %humantime::format_duration(start.planned),
                    "run started against {}",
                    start.base_url
                );
            }
            Event::StepStarted(info) => {
                tracing::info!(
                    hold = %humantime::format_duration(info.hold),
                    "step {}/{} started: {}",
                    info.index + 1,
                    self.steps,
                    info.label
                );
                if let Some(bar) = &self.bar {
                    bar.set_prefix(format!(
                        "step {}/{} {}",
                        info.index + 1,
                        self.steps,
                        info.label
                    ));
                    bar.set_message(if info.ramp.is_zero() {
                        "waiting for the first interval".to_owned()
                    } else {
                        format!(
                            "ramping up to {} users over {}",
                            info.users,
                            humantime::format_duration(info.ramp)
                        )
                    });
                }
                self.current = Some((*info).clone());
                self.step_total = RequestStats::default();
                // A line never spans two steps: the step's closing line covers the rest.
                self.span = RequestStats::default();
                self.span_length = Duration::ZERO;
            }
            Event::Interval(snapshot) => self.interval(snapshot),
            Event::Alert(alert) => match alert.level {
                // Warnings were logged by the engine's judge as it found them.
                AlertLevel::Warning => {}
                AlertLevel::StopSweep => tracing::warn!("the sweep stops: {}", alert.message),
                AlertLevel::Abort => tracing::warn!("the run aborts: {}", alert.message),
            },
            Event::StepEnded(end) => {
                let figures = Figures::of(&self.step_total, end.measured.as_secs_f64());
                let cooldown = self
                    .current
                    .as_ref()
                    .filter(|info| info.index == end.index && end.index + 1 < self.steps)
                    .map(|info| info.cooldown)
                    .filter(|c| !c.is_zero());
                tracing::info!(
                    requests = figures.requests,
                    rps = %format::short(figures.rps),
                    p95_ms = %format::short(figures.latency_ms.p95),
                    errors = figures.failed,
                    "step {}/{} ended{}{}",
                    end.index + 1,
                    self.steps,
                    if end.cut_short { " early" } else { "" },
                    cooldown
                        .map(|c| format!(", cooldown {}", humantime::format_duration(c)))
                        .unwrap_or_default()
                );
                if let (Some(bar), Some(cooldown)) = (&self.bar, cooldown) {
                    bar.set_message(format!(
                        "cooldown {} before the next step",
                        humantime::format_duration(cooldown)
                    ));
                }
            }
            Event::RunEnded(end) => {
                self.finish();
                let how = match &end.outcome {
                    RunEnding::Completed => "completed".to_owned(),
                    RunEnding::StoppedEarly { reason } => format!("completed early: {reason}"),
                    RunEnding::Interrupted => "interrupted".to_owned(),
                    RunEnding::Aborted { reason } => format!("aborted: {reason}"),
                };
                tracing::info!(
                    "run {how} after {}",
                    humantime::format_duration(round_to_ms(end.elapsed))
                );
            }
        }
    }

    fn interval(&mut self, snapshot: &IntervalSnapshot) {
        let total = snapshot.stats.aggregate();
        if !snapshot.warmup {
            self.step_total.add(&total);
        }
        let figures = Figures::of(&total, snapshot.length.as_secs_f64());
        let rps = format::short(figures.rps);
        let p95_ms = format::short(figures.latency_ms.p95);
        let target_users = self
            .current
            .as_ref()
            .filter(|info| info.index == snapshot.step)
            .map_or(snapshot.active_users, |info| info.users);
        let step = format!("{}/{}", snapshot.step + 1, self.steps);
        let users = format!("{}/{target_users}", snapshot.active_users);
        let sample = snapshot.monitor.first();
        let cpu = sample
            .and_then(|s| s.cpu_percent)
            .map(|c| format!("{}%", format::trim(c, 0)));
        let rss = sample
            .and_then(|s| s.rss_bytes)
            .map(|b| format::bytes(b as f64));
        // With several monitors each is named; one stays the `target` of the line.
        let several = (self.monitors.len() > 1).then(|| self.monitors_text(snapshot));
        let now = snapshot.start + snapshot.length;
        match &self.bar {
            // The display shows each interval; the line is there for -v.
            Some(bar) => {
                tracing::debug!(
                    seq = snapshot.seq,
                    step = %step,
                    users = %users,
                    rps = %rps,
                    p95_ms = %p95_ms,
                    errors = figures.failed,
                    "interval"
                );
                let mut message = format!(
                    "users {users} │ {rps} rps │ p95 {p95_ms} ms │ {} errors",
                    figures.failed
                );
                if snapshot.warmup {
                    message.push_str(" (warm-up)");
                }
                if let Some(text) = &several {
                    message.push_str(&format!(" │ {text}"));
                } else if cpu.is_some() || rss.is_some() {
                    message.push_str(&format!(
                        " │ target cpu {} rss {}",
                        cpu.as_deref().unwrap_or("?"),
                        rss.as_deref().unwrap_or("?")
                    ));
                }
                if let Some((label, at)) = self.upcoming.get(snapshot.step + 1) {
                    message.push_str(&format!(
                        " │ next: {label} in {}",
                        humantime::format_duration(round_to_s(at.saturating_sub(now)))
                    ));
                }
                bar.set_message(message);
                bar.set_position(millis(now));
            }
            None => {
                self.span.add(&total);
                self.span_length += snapshot.length;
                if self.cadence.due(now) {
                    self.log_span(snapshot, &step, &users, several);
                }
            }
        }
    }

    /// The line of a span of the log cadence: its figures over the whole span, the step, and
    /// where the run is against its plan.
    fn log_span(
        &mut self,
        snapshot: &IntervalSnapshot,
        step: &str,
        users: &str,
        several: Option<String>,
    ) {
        let figures = Figures::of(&self.span, self.span_length.as_secs_f64());
        let sample = snapshot.monitor.first();
        let now = snapshot.start + snapshot.length;
        tracing::info!(
            seq = snapshot.seq,
            step = %step,
            elapsed = %clock(now),
            planned = %clock(self.planned),
            users = %users,
            rps = %format::short(figures.rps),
            p95_ms = %format::short(figures.latency_ms.p95),
            errors = figures.failed,
            warmup = snapshot.warmup.then_some(true),
            target_cpu_pct = sample.and_then(|s| s.cpu_percent).map(|c| format::trim(c, 0)),
            target_rss_mb = sample
                .and_then(|s| s.rss_bytes)
                .map(|b| format::trim(b as f64 / 1e6, 1)),
            monitors = several,
            "interval"
        );
        self.span = RequestStats::default();
        self.span_length = Duration::ZERO;
    }

    /// "api cpu 2% rss 13.2 MB; redis cpu ? rss ?": every monitor's latest reading.
    fn monitors_text(&self, snapshot: &IntervalSnapshot) -> String {
        let parts: Vec<String> = snapshot
            .monitor
            .iter()
            .map(|s| {
                let name = self
                    .monitors
                    .get(usize::from(s.source))
                    .map_or("?", String::as_str);
                let cpu = s
                    .cpu_percent
                    .map_or("?".to_owned(), |c| format!("{}%", format::trim(c, 0)));
                let rss = s
                    .rss_bytes
                    .map_or("?".to_owned(), |b| format::bytes(b as f64));
                format!("{name} cpu {cpu} rss {rss}")
            })
            .collect();
        parts.join("; ")
    }

    /// Clears the display for good.
    pub fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            set_shown(None);
            bar.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn round_to_ms(d: Duration) -> Duration {
    Duration::from_millis(millis(d))
}

fn round_to_s(d: Duration) -> Duration {
    Duration::from_secs(d.as_secs())
}

/// "01:02:03", as indicatif shows elapsed time.
fn clock(d: Duration) -> String {
    let s = d.as_secs();
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_lines_end_without_padding_to_the_last_column() {
        let drawn = format!("\x1b[1A\rbar{PADDING}message{PADDING}");
        assert_eq!(end_lines(&drawn), "\x1b[1A\rbar\x1b[K\nmessage\x1b[K");
        assert_eq!(end_lines("\r\x1b[2K"), "\r\x1b[2K");
    }

    #[test]
    fn clock_reads_like_elapsed_precise() {
        assert_eq!(clock(Duration::from_secs(3723)), "01:02:03");
        assert_eq!(clock(Duration::from_millis(999)), "00:00:00");
    }
}
