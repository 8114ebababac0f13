//! The `stampede` binary: flags, glue between the crates, and exit codes.
//!
//! The only place that sees every crate. Results and summaries go to stdout; logs and progress
//! to stderr, so `stampede run soak > summary.txt 2>> soak.log` keeps each where it belongs.

mod cadence;
mod compare;
mod connect;
mod debug;
mod exit;
mod fingerprint;
mod history;
mod init;
mod merge;
mod output;
mod progress;
mod quick;
mod run;
mod scenarios;
mod segment;
mod signals;
mod target;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{CommandFactory as _, Parser, Subcommand};

use crate::output::ColorChoice;

/// Declarative load testing: scenarios in TOML, honest numbers out.
///
/// A scenario is a TOML file in scenarios/ (`stampede init` writes examples). `stampede run
/// NAME` runs it against the embedded demo target or your own server on loopback, shows live
/// progress on stderr, prints a summary on stdout, and writes results to results/NAME/RUN-ID/.
#[derive(Debug, Parser)]
#[command(name = "stampede", version, about, long_about, after_help = exit::TABLE)]
struct Cli {
    /// More log output (-v: debug lines of stampede, -vv: debug of everything). RUST_LOG (or
    /// STAMPEDE_LOG) overrides both -v and -q.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Only the summary: no progress display, no log lines but warnings.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    /// Colour in logs, progress and the summary; `auto` colours a terminal unless NO_COLOR is
    /// set.
    #[arg(long, global = true, value_enum, default_value_t, value_name = "WHEN")]
    color: ColorChoice,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Run(run::RunCmd),
    Compare(compare::CompareCmd),
    Report(compare::ReportCmd),
    Merge(merge::MergeCmd),
    Validate(scenarios::ValidateCmd),
    List(scenarios::ListCmd),
    Plan(scenarios::PlanCmd),
    History(history::HistoryCmd),
    Init(init::InitCmd),
    Schema(scenarios::SchemaCmd),
    Target(target::TargetCmd),
    Completions(CompletionsCmd),
    Man(ManCmd),
}

/// Print shell completions: `stampede completions bash > ~/.local/share/bash-completion/completions/stampede`.
#[derive(Debug, clap::Args)]
struct CompletionsCmd {
    /// The shell to complete for.
    shell: clap_complete::Shell,
}

/// Print the man page (roff) to stdout: `stampede man > stampede.1`.
#[derive(Debug, clap::Args)]
struct ManCmd {}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return if err.use_stderr() {
                exit::USAGE
            } else {
                exit::PASSED
            }
            .into();
        }
    };
    init_logging(
        cli.verbose,
        cli.quiet,
        cli.color.enabled(std::io::stderr().is_terminal()),
    );
    let ui = run::Ui {
        quiet: cli.quiet,
        color: cli.color,
    };
    let result = match cli.command {
        Command::Run(cmd) => cmd.run(ui),
        Command::Validate(cmd) => cmd.run(),
        Command::List(cmd) => cmd.run(),
        Command::Plan(cmd) => cmd.run(),
        Command::History(cmd) => cmd.run(),
        Command::Compare(cmd) => cmd.run(),
        Command::Report(cmd) => cmd.run(),
        Command::Merge(cmd) => cmd.run(),
        Command::Init(cmd) => cmd.run(),
        Command::Schema(cmd) => cmd.run(),
        Command::Target(cmd) => cmd.run(),
        Command::Completions(cmd) => completions(cmd.shell),
        Command::Man(ManCmd {}) => man(),
    };
    match result {
        Ok(code) => code.into(),
        // The reader of stdout went away (`stampede schema | head`): it has what it wanted.
        Err(err) if output::is_broken_pipe(&err) => exit::PASSED.into(),
        Err(err) => {
            eprintln!("error: {err:#}");
            for hint in output::hints(&err) {
                eprintln!("hint: {hint}");
            }
            exit::COULD_NOT_RUN.into()
        }
    }
}

fn completions(shell: clap_complete::Shell) -> anyhow::Result<u8> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "stampede", &mut script);
    output::print(&String::from_utf8_lossy(&script))?;
    Ok(exit::PASSED)
}

fn man() -> anyhow::Result<u8> {
    let mut page = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut page)?;
    output::print(&String::from_utf8_lossy(&page))?;
    Ok(exit::PASSED)
}

fn init_logging(verbose: u8, quiet: bool, colour: bool) {
    use tracing_subscriber::EnvFilter;
    let default = match (quiet, verbose) {
        (true, _) => "warn",
        (false, 0) => "info",
        (false, 1) => "info,stampede=debug",
        (false, _) => "debug",
    };
    let filter = EnvFilter::try_from_env("STAMPEDE_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        // Through the progress display, so log lines and the display never tear each other.
        .with_writer(progress::LogWriter)
        .with_ansi(colour)
        .with_target(false)
        .init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn help_documents_every_exit_code() {
        let help = Cli::command().render_help().to_string();
        for code in [
            exit::PASSED,
            exit::COULD_NOT_RUN,
            exit::USAGE,
            exit::LOCKED,
            exit::THRESHOLDS_FAILED,
            exit::INTERRUPTED,
        ] {
            assert!(
                help.lines()
                    .any(|l| l.trim_start().starts_with(&format!("{code} "))),
                "exit code {code} missing from --help:\n{help}"
            );
        }
    }
}
