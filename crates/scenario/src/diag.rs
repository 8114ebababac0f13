//! Problems found in a scenario, rendered like rustc: every problem, each with its place.
//!
//! A problem is an error (the scenario cannot run) or a warning (it runs, but probably not as
//! meant: a warm-up that can swallow an iteration-bounded run). Warnings never fail a load;
//! [`crate::load_checked`] returns them beside the plan.
//!
//! Validation pushes into a [`Sink`] with byte spans; the sink turns them into line and column
//! once, and knows which spans are not in the file at all but mark an override (`--set`, an
//! environment variable, `--target`), so those problems name their source instead of a line.

use std::fmt;
use std::ops::Range;

/// Spans at or above this mark overrides: override `i` has the empty span `MARK + i`.
const OVERRIDE_MARK: usize = usize::MAX / 2;

/// The marker span of override number `index`.
pub(crate) fn override_span(index: usize) -> Range<usize> {
    OVERRIDE_MARK + index..OVERRIDE_MARK + index
}

/// Whether a problem stops the scenario from running.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The scenario cannot run.
    #[default]
    Error,
    /// The scenario runs, but likely not as meant.
    Warning,
}

/// One problem in a scenario.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// The scenario file; empty for a problem in an override, which has no file.
    pub file: String,
    /// 1-based; 0 when unknown.
    pub line: usize,
    /// 1-based; 0 when unknown.
    pub column: usize,
    pub message: String,
    /// The offending source line, then a line of carets under the offending part.
    pub excerpt: Option<String>,
    pub hint: Option<String>,
}

/// Every problem found in one scenario.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl std::error::Error for Diagnostics {}

impl Diagnostics {
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.0.iter()
    }

    /// Whether any problem is an error (not only warnings).
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(|d| d.severity == Severity::Error)
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, diagnostic) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{diagnostic}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        writeln!(f, "{level}: {}", self.message)?;
        // The gutter is as wide as the line number, and never narrower than one digit.
        let number = if self.line > 0 {
            self.line.to_string()
        } else {
            String::new()
        };
        let pad = " ".repeat(number.len().max(1));
        if self.line > 0 {
            writeln!(f, "{pad} --> {}:{}:{}", self.file, self.line, self.column)?;
        } else if !self.file.is_empty() {
            writeln!(f, "{pad} --> {}", self.file)?;
        }
        if let (Some(excerpt), true) = (&self.excerpt, self.line > 0) {
            let mut lines = excerpt.lines();
            writeln!(f, "{pad}  |")?;
            if let Some(source) = lines.next() {
                writeln!(f, " {number} | {source}")?;
            }
            for marks in lines {
                writeln!(f, "{pad}  | {marks}")?;
            }
        }
        if let Some(hint) = &self.hint {
            writeln!(f, "{pad}  = hint: {hint}")?;
        }
        Ok(())
    }
}

/// Collects problems with byte spans and turns them into [`Diagnostic`]s.
pub(crate) struct Sink<'a> {
    origin: &'a str,
    source: &'a str,
    /// What each override is, as said in messages: "--set users=abc".
    overrides: Vec<String>,
    found: Vec<Diagnostic>,
    /// Where reported problems start, so one problem found twice is reported once.
    starts: Vec<usize>,
    /// Keys suggested for unknown keys ("did you mean `duration`?").
    suggested: Vec<String>,
}

impl<'a> Sink<'a> {
    pub(crate) fn new(origin: &'a str, source: &'a str) -> Sink<'a> {
        Sink {
            origin,
            source,
            overrides: Vec::new(),
            found: Vec::new(),
            starts: Vec::new(),
            suggested: Vec::new(),
        }
    }

    /// Names the overrides whose marker spans (see [`override_span`]) problems may carry.
    pub(crate) fn set_overrides(&mut self, sources: Vec<String>) {
        self.overrides = sources;
    }

    pub(crate) fn error(&mut self, span: Range<usize>, message: impl Into<String>) {
        self.push(span, message.into(), None);
    }

    pub(crate) fn hint(
        &mut self,
        span: Range<usize>,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) {
        self.push(span, message.into(), Some(hint.into()));
    }

    /// A hint only when there is one.
    pub(crate) fn maybe_hint(
        &mut self,
        span: Range<usize>,
        message: impl Into<String>,
        hint: Option<String>,
    ) {
        self.push(span, message.into(), hint);
    }

    /// A warning at a place in the file: the scenario runs, but likely not as meant.
    pub(crate) fn warn(
        &mut self,
        span: Range<usize>,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) {
        self.push(span, message.into(), Some(hint.into()));
        if let Some(last) = self.found.last_mut() {
            last.severity = Severity::Warning;
        }
    }

    /// Notes that an unknown key was probably meant to be `key`.
    pub(crate) fn suggested(&mut self, key: &str) {
        self.suggested.push(key.to_owned());
    }

    /// A problem of the file as a whole (a missing key), without a line. A missing key that
    /// an unknown key's "did you mean" already names is not reported twice: the typo is the
    /// one problem.
    pub(crate) fn file_error(&mut self, message: impl Into<String>, hint: Option<String>) {
        let message = message.into();
        let missing = message
            .strip_prefix("missing key `")
            .and_then(|rest| rest.split('`').next());
        if missing.is_some_and(|key| self.suggested.iter().any(|s| s == key)) {
            return;
        }
        self.found.push(Diagnostic {
            severity: Severity::Error,
            file: self.origin.to_owned(),
            line: 0,
            column: 0,
            message,
            excerpt: None,
            hint,
        });
    }

    /// A problem of an override, named by its source.
    pub(crate) fn override_error(&mut self, message: impl Into<String>, hint: Option<String>) {
        self.found.push(Diagnostic {
            severity: Severity::Error,
            file: String::new(),
            line: 0,
            column: 0,
            message: message.into(),
            excerpt: None,
            hint,
        });
    }

    fn push(&mut self, span: Range<usize>, message: String, hint: Option<String>) {
        self.starts.push(span.start);
        if span.start >= OVERRIDE_MARK {
            let source = self
                .overrides
                .get(span.start - OVERRIDE_MARK)
                .map_or("an override", String::as_str);
            self.override_error(format!("{message} (from {source})"), hint);
            return;
        }
        let (line, column, excerpt) = locate(self.source, span);
        self.found.push(Diagnostic {
            severity: Severity::Error,
            file: self.origin.to_owned(),
            line,
            column,
            message,
            excerpt: Some(excerpt),
            hint,
        });
    }

    /// Whether a problem starting at `start` was already reported.
    pub(crate) fn reported_at(&self, start: usize) -> bool {
        self.starts.contains(&start)
    }

    pub(crate) fn has_errors(&self) -> bool {
        self.errors() > 0
    }

    /// How many errors (not warnings) were found.
    pub(crate) fn errors(&self) -> usize {
        self.found
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }

    /// The warnings when there is no error; every problem otherwise.
    pub(crate) fn finish(self) -> Result<Diagnostics, Diagnostics> {
        if self.has_errors() {
            Err(self.into_diagnostics())
        } else {
            Ok(self.into_diagnostics())
        }
    }

    /// The problems in reading order: those without a line (overrides, missing keys) first,
    /// then by position in the file.
    pub(crate) fn into_diagnostics(mut self) -> Diagnostics {
        self.found.sort_by_key(|d| (d.line, d.column));
        Diagnostics(self.found)
    }
}

/// Line and column (1-based, columns in characters) of a span's start, and the excerpt: the
/// line, then carets under the span (to the end of the line when it runs past it).
pub(crate) fn locate(source: &str, span: Range<usize>) -> (usize, usize, String) {
    let start = span.start.min(source.len());
    let line_start = source[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = source[start..]
        .find('\n')
        .map_or(source.len(), |i| start + i);
    let text = source[line_start..line_end].trim_end_matches('\r');
    let line = source[..start].matches('\n').count() + 1;
    let column = source[line_start..start].chars().count() + 1;
    let end = span.end.clamp(start, line_start + text.len());
    let width = source[start..end].chars().count().max(1);
    let excerpt = format!("{text}\n{}{}", " ".repeat(column - 1), "^".repeat(width));
    (line, column, excerpt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_rustc() {
        let source =
            "kind = \"smoke\"\nusers = 1\nduration = \"1s\"\n\n# typo\ndration = \"30s\"\n";
        let start = source.find("dration =").unwrap();
        let mut sink = Sink::new("scenarios/smoke.toml", source);
        sink.hint(
            start..start + 7,
            "unknown key `dration`",
            "did you mean `duration`?",
        );
        let text = sink.into_diagnostics().to_string();
        assert_eq!(
            text,
            "error: unknown key `dration`\n  --> scenarios/smoke.toml:6:1\n   |\n 6 | dration = \"30s\"\n   | ^^^^^^^\n   = hint: did you mean `duration`?\n"
        );
    }

    #[test]
    fn warnings_read_as_warnings_and_do_not_fail() {
        let source = "kind = \"smoke\"\nwarmup = \"1s\"\n";
        let mut sink = Sink::new("t.toml", source);
        sink.warn(
            22..26,
            "a warm-up by time can swallow the run",
            "warmup = 200",
        );
        let warnings = sink.finish().expect("only a warning");
        assert!(!warnings.has_errors());
        assert!(
            warnings.to_string().starts_with("warning: a warm-up"),
            "{warnings}"
        );
    }

    #[test]
    fn override_problems_have_no_line() {
        let mut sink = Sink::new("f.toml", "");
        sink.set_overrides(vec!["--set users=0".to_owned()]);
        sink.error(override_span(0), "`users` must be positive");
        let text = sink.into_diagnostics().to_string();
        assert_eq!(
            text,
            "error: `users` must be positive (from --set users=0)\n"
        );
    }
}
