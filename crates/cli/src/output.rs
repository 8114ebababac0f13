//! Writing results to stdout, deciding on colour, and errors that carry a hint.
//!
//! Every write to stdout goes through [`print`], so a reader that stops early
//! (`stampede schema | head`) ends the command quietly instead of a panic from `println!`.

use std::fmt;
use std::io::{self, Write as _};

/// `--color`: whether logs, the progress display and the summary are coloured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// Colour when the stream is a terminal and NO_COLOR is not set.
    #[default]
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// Whether to colour a stream that is (or is not) a terminal. `always` beats NO_COLOR, as
    /// the NO_COLOR convention asks of an explicit flag.
    pub fn enabled(self, is_terminal: bool) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        }
    }
}

/// `--output-format`: what goes to stdout at the end.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// A summary for people.
    #[default]
    Text,
    /// JSON for scripts, and nothing else on stdout.
    Json,
}

/// Writes all of `text` to stdout and flushes it.
pub fn print(text: &str) -> io::Result<()> {
    let mut stdout = io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()
}

/// Whether the error is a closed stdout: the reader has what it wanted, so there is nothing
/// worth a message.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// An error whose fix is known: `main` prints the hint on a line of its own.
#[derive(Debug)]
pub struct Hinted {
    message: String,
    hint: String,
    source: Option<anyhow::Error>,
}

impl Hinted {
    pub fn error(message: impl Into<String>, hint: impl Into<String>) -> anyhow::Error {
        anyhow::Error::new(Hinted {
            message: message.into(),
            hint: hint.into(),
            source: None,
        })
    }

    /// [`Hinted::error`] with the error that caused it, shown after the message.
    pub fn caused_by(
        message: impl Into<String>,
        hint: impl Into<String>,
        source: impl Into<anyhow::Error>,
    ) -> anyhow::Error {
        anyhow::Error::new(Hinted {
            message: message.into(),
            hint: hint.into(),
            source: Some(source.into()),
        })
    }
}

impl fmt::Display for Hinted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Hinted {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_ref().map(|e| e.as_ref() as _)
    }
}

/// The hints anywhere in an error's chain.
pub fn hints(err: &anyhow::Error) -> Vec<&str> {
    err.chain()
        .filter_map(|cause| cause.downcast_ref::<Hinted>())
        .map(|h| h.hint.as_str())
        .collect()
}

const GREEN: &str = "\x1b[32m";
const RED: &str = "\x1b[31m";
const YELLOW: &str = "\x1b[33m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

/// The end-of-run summary with its verdict and threshold marks coloured. The reporter writes
/// plain text (it also goes into files and CI logs); colour is the terminal's business.
pub fn colour_summary(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    let lines: Vec<&str> = text.lines().collect();
    let verdict = lines.iter().rposition(|l| !l.trim().is_empty());
    for (index, line) in lines.into_iter().enumerate() {
        let colour = if Some(index) == verdict {
            if line.starts_with("PASSED") {
                Some(GREEN)
            } else if line.starts_with("FAILED") {
                Some(RED)
            } else if line.starts_with("INTERRUPTED") {
                Some(YELLOW)
            } else {
                None
            }
            .map(|c| format!("{BOLD}{c}"))
        } else {
            match line.trim_start().chars().next() {
                Some('✓') => Some(GREEN.to_owned()),
                Some('✗') => Some(RED.to_owned()),
                Some('!') => Some(YELLOW.to_owned()),
                _ => None,
            }
        };
        match colour {
            Some(colour) => out.push_str(&format!("{colour}{line}{RESET}")),
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_verdict_and_marks_are_coloured() {
        let text = "smoke (smoke) run x\n\nthresholds\n  ✓ p95 < 1s: 3 ms\n  ✗ rps > 9: 1\n\nFAILED: 1 of 2\n";
        let coloured = colour_summary(text);
        assert!(coloured.contains("\x1b[32m  ✓ p95"), "{coloured:?}");
        assert!(coloured.contains("\x1b[31m  ✗ rps"), "{coloured:?}");
        assert!(coloured.ends_with("\x1b[1m\x1b[31mFAILED: 1 of 2\x1b[0m\n"));
        assert!(coloured.starts_with("smoke (smoke) run x\n"));
    }

    #[test]
    fn never_and_always_ignore_the_terminal() {
        assert!(!ColorChoice::Never.enabled(true));
        assert!(ColorChoice::Always.enabled(false));
        assert!(!ColorChoice::Auto.enabled(false));
    }
}
