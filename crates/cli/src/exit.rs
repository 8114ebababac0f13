//! The exit codes: a small documented table that never changes meaning.
//!
//! Cron and CI act on these, so a code is never reused for something else; new situations get
//! new codes. The table is shown by `--help` ([`TABLE`]) and in the README.

/// The run completed and every threshold held (or the command succeeded).
pub const PASSED: u8 = 0;
/// The run could not be carried out (I/O error, the target could not be started).
pub const COULD_NOT_RUN: u8 = 1;
/// The scenario is invalid, or the command line is, or a required monitor cannot read its
/// target: a configuration error found before anything is written.
pub const USAGE: u8 = 2;
/// Another run of the same scenario holds its lock in the results folder.
pub const LOCKED: u8 = 3;
/// The run completed but a threshold failed.
pub const THRESHOLDS_FAILED: u8 = 99;
/// The run was interrupted (Ctrl-C, SIGTERM, SIGHUP); partial results were written.
pub const INTERRUPTED: u8 = 105;
/// Interrupted before any result was written, or interrupted twice (exited at once). The run
/// record, if the run got that far, still holds what was measured: `stampede report` writes it.
pub const INTERRUPTED_AGAIN: u8 = 130;

/// The table as `--help` shows it.
pub const TABLE: &str = "\
Exit codes:
    0    passed: the run completed and every threshold held
    1    could not run (I/O error, target could not start)
    2    invalid scenario or command line, or a required monitor cannot read its target;
         nothing was run or written
    3    another run of this scenario is in progress (its lock is held)
    99   a threshold failed, or a limit aborted the run
    105  interrupted (Ctrl-C, SIGTERM, SIGHUP); partial results were written
    130  interrupted before any result was written, or a second time (exited at once; the
         run record keeps what was measured: stampede report RUN_DIR)";

/// The exit code of a run's verdict: the one mapping from a verdict to a code.
pub fn of_verdict(verdict: stampede_reporter::Verdict) -> u8 {
    match verdict {
        stampede_reporter::Verdict::Passed => PASSED,
        stampede_reporter::Verdict::Failed => THRESHOLDS_FAILED,
        stampede_reporter::Verdict::Interrupted => INTERRUPTED,
    }
}
