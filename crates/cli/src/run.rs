//! `stampede run`: load a scenario, lock it, start the demo target if asked, run it with the
//! target watched, report, exit with a code cron can act on.
//!
//! Signals are obeyed from the first moment (see `signals`); the results folder, its lock and
//! its history belong to the reporter's store, so `history`, `compare` and `report` find a run
//! exactly where `run` put it.

use std::io::IsTerminal;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use anyhow::{Context as _, bail};
use stampede_engine::Options;
use stampede_metrics::Probe;
use stampede_monitor::Watches;
use stampede_plan::BaseUrl;
use stampede_reporter::store::lock::{self, Acquired};
use stampede_reporter::{Reporter, RunMeta};
use tokio::sync::watch;

use crate::exit;
use crate::output::{self, ColorChoice, Hinted, OutputFormat};
use crate::progress::Progress;
use crate::scenarios::{Loaded, ScenarioArgs, load_plan, results_for};
use crate::signals::Interrupts;

mod repeat;

/// How the person (or cron) running the command wants to see it.
#[derive(Clone, Copy, Debug)]
pub struct Ui {
    pub quiet: bool,
    pub color: ColorChoice,
}

/// Run a scenario and write its results.
///
/// Progress goes to stderr: a live display at a terminal, one log line per interval otherwise.
/// The summary goes to stdout. Results go to OUT/<scenario>/<run-id>/; one run per scenario at a
/// time (OUT/<scenario>/.lock).
#[derive(Debug, clap::Args)]
#[command(after_help = exit::TABLE)]
pub struct RunCmd {
    #[command(flatten)]
    scenario: ScenarioArgs,
    /// Root of the results: files go to OUT/<scenario>/<run-id>/.
    #[arg(long, default_value = "results")]
    out: PathBuf,
    /// The run's id, one path component of letters, digits, '-', '_', '.', '+' (default: the
    /// UTC start time, e.g. 20261123T101500Z, with -2, -3... for runs started in the same
    /// second). A run never reuses another's folder.
    #[arg(long)]
    run_id: Option<String>,
    /// A label recorded with the run in the history.
    #[arg(long)]
    tag: Option<String>,
    /// Runs kept per scenario: older run folders are pruned with their history lines, except
    /// the latest run of each tag (a `compare --baseline tag:NAME`).
    #[arg(long, value_name = "RUNS", default_value_t = stampede_reporter::DEFAULT_KEEP)]
    keep: usize,
    /// Load threads, 1 to 256 (default: one per core, less one for the builtin target). More
    /// threads than cores only add context switches to the latency measured.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=256))]
    threads: Option<u16>,
    /// Without a terminal, one interval log line per this span ("5m"), covering all of it
    /// (default: the scenario's `interval`, a soak's series bucket).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    log_every: Option<std::time::Duration>,
    /// text: the summary for people; json: summary.json, and nothing else on stdout.
    #[arg(long, value_enum, default_value_t)]
    output_format: OutputFormat,
    #[command(flatten)]
    debug: crate::debug::DebugArgs,
    #[command(flatten)]
    scale_out: crate::segment::SegmentArgs,
    #[command(flatten)]
    repeat: repeat::RepeatArgs,
}

impl RunCmd {
    pub fn run(mut self, ui: Ui) -> anyhow::Result<u8> {
        // Before anything else: from here on a signal never kills the process by default.
        let interrupts = Interrupts::install().context("cannot listen for signals")?;
        tracing::debug!("listening for Ctrl-C, SIGTERM and SIGHUP");
        let loaded = match load_plan(&self.scenario)? {
            Ok(loaded) => Loaded {
                plan: self.debug.plan(loaded.plan),
                ..loaded
            },
            Err(code) => return Ok(code),
        };
        if let Err(err) = self.scale_out.resolve(&loaded.sha256) {
            eprintln!("error: {err:#}");
            return Ok(exit::USAGE);
        }
        if interrupts.interrupted() {
            return Ok(exit::INTERRUPTED_AGAIN);
        }
        if self.repeat.wanted() {
            return repeat::run(&mut self, &loaded, &interrupts, ui);
        }
        self.once(&loaded, &interrupts, ui)
    }

    /// One run of the loaded scenario, from its preflight to its exit code.
    fn once(&self, loaded: &Loaded, interrupts: &Interrupts, ui: Ui) -> anyhow::Result<u8> {
        // Before the results folder, the lock or the target: what is wrong with the target or
        // its monitors is a configuration error, and nothing should be written for it.
        let preflight = match preflight(&loaded.plan)? {
            Ok(preflight) => preflight,
            Err(code) => return Ok(code),
        };
        let results = results_for(&self.out, &loaded.key)?;
        results
            .claim(&loaded.source)
            .map_err(|err| Hinted::error(err.to_string(), CLAIM_HINT))?;
        // Before anything else touches the target or the results: a second run is refused whole.
        let lock = match lock::acquire(&results.dir, self.run_id.as_deref().unwrap_or("-"))? {
            Acquired::Locked { lock, stale } => {
                if let Some(dead) = stale {
                    tracing::warn!(
                        "took over the lock of a run that ended without releasing it ({})",
                        dead.describe()
                    );
                }
                Arc::new(lock)
            }
            Acquired::Busy { holder, path } => {
                eprintln!(
                    "error: another run of `{}` is in progress ({})",
                    loaded.key,
                    holder.describe()
                );
                eprintln!(
                    "hint: wait for it to end, or write elsewhere with --out; its lock is {}",
                    path.display()
                );
                return Ok(exit::LOCKED);
            }
        };
        // Weak: the lock is released when the run drops it; a second signal before that
        // empties it on the way out.
        let held = Arc::downgrade(&lock);
        interrupts.on_hard_exit(move || {
            if let Some(lock) = held.upgrade() {
                lock.release();
            }
        });
        if interrupts.interrupted() {
            return Ok(exit::INTERRUPTED_AGAIN);
        }
        let (run_id, dir) = results
            .new_run(self.run_id.as_deref(), SystemTime::now())
            .map_err(|err| Hinted::error(err.to_string(), RUN_ID_HINT))?;
        let run_dir = dir.clone();
        interrupts.on_hard_exit(move || stampede_reporter::remove_stale_temporaries(&run_dir));
        let code = self.run_in(loaded, preflight, &run_id, &dir, interrupts, ui);
        drop(lock);
        code
    }

    fn run_in(
        &self,
        loaded: &Loaded,
        preflight: Preflight,
        run_id: &str,
        dir: &std::path::Path,
        interrupts: &Interrupts,
        ui: Ui,
    ) -> anyhow::Result<u8> {
        let plan = &loaded.plan;
        // The demo target runs on threads of its own, never on the load generator's.
        let (builtin, addr, authority, prefix, base_url) = match &plan.base_url {
            BaseUrl::Builtin => {
                let target = stampede_target::Target::start(stampede_target::Config::default())
                    .context("cannot start the embedded demo target")?;
                let addr = target.addr();
                (
                    Some(target),
                    addr,
                    addr.to_string(),
                    String::new(),
                    format!("http://{addr}"),
                )
            }
            BaseUrl::Http(base) => {
                let addr = match preflight.target_addr {
                    Some(addr) => addr,
                    None => resolve(&base.host, base.port)?,
                };
                (
                    None,
                    addr,
                    base.authority_for(plan.tls.is_some()),
                    base.path_prefix.clone(),
                    base.url_for(plan.tls.is_some()),
                )
            }
        };
        // The embedded target, unless `[monitor]` names something else (checked already).
        let mut watch = preflight
            .watches
            .or_else(|| Watches::new(plan, builtin.as_ref().map(|t| t.addr())));
        if let Some(watch) = &watch {
            tracing::info!("watching the target: {}", watch.describe());
        }
        // The embedded target needs a core of its own, or generator and server would fight
        // for the same one and both measurements would suffer.
        // The embedded target needs a core of its own, or generator and server would fight
        // for the same one and both measurements would suffer.
        let threads = self
            .threads
            .map(usize::from)
            .unwrap_or_else(|| {
                let cores = Options::default_threads();
                if builtin.is_some() {
                    cores.saturating_sub(1)
                } else {
                    cores
                }
            })
            .max(1);
        let meta = RunMeta {
            run_id: run_id.to_owned(),
            scenario: plan.name.clone(),
            kind: plan.kind.as_str().to_owned(),
            base_url: base_url.clone(),
            tag: self.tag.clone(),
            scenario_sha256: loaded.sha256.clone(),
            plan_text: stampede_scenario::describe(plan),
            fingerprint: Some(crate::fingerprint::of(loaded, threads)),
            scale_out: self.scale_out.tag(&loaded.sha256)?,
            repeat: self.repeat.current(),
        };
        let mut reporter = Reporter::create(plan, meta, dir)
            .map_err(|err| {
                Hinted::caused_by(
                    format!("cannot write results to {}", dir.display()),
                    "check that --out is a folder you can write to",
                    err,
                )
            })?
            .history_limit(self.keep);
        let options = Options {
            connector: crate::connect::connector(plan, addr)?,
            authority,
            path_prefix: prefix,
            base_url,
            threads,
            http_debug: self.debug.listener(),
            segment: self.scale_out.share(),
            start_at: self.scale_out.start_at(),
        };
        tracing::info!(
            scenario = %plan.name,
            kind = %plan.kind.as_str(),
            target = %options.base_url,
            planned = %humantime::format_duration(plan.total_duration()),
            "run {run_id} starting"
        );

        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the runtime")?;
        let display = !ui.quiet && std::io::stderr().is_terminal();
        let colour = ui.color.enabled(std::io::stderr().is_terminal());
        let mut progress = Progress::new(plan, display, colour, self.log_every);
        let (stop_tx, stop) = watch::channel(None);
        // A signal that came while starting stops the engine at once; partial (perhaps empty)
        // results are still written, so the exit is 105.
        interrupts.connect(stop_tx);
        let outcome = runtime.block_on(async {
            let probe = watch.as_mut().map(|w| w as &mut dyn Probe);
            stampede_engine::run_watched(plan, &options, probe, stop, |event| {
                progress.show(event);
                reporter.record(event);
            })
            .await
        });
        progress.finish();
        drop(builtin);
        let outcome = outcome.context("the run could not be carried out")?;
        tracing::debug!(?outcome, "engine finished");

        // The verdict is printed even when a file could not be written; the error follows it.
        let (summary, written) = reporter.conclude();
        self.repeat.finished(&summary, dir);
        let printed = match self.output_format {
            OutputFormat::Text => {
                let text = summary.to_text();
                let text = if ui.color.enabled(std::io::stdout().is_terminal()) {
                    output::colour_summary(&text)
                } else {
                    text
                };
                output::print(&format!("{text}results: {}\n", dir.display()))
            }
            OutputFormat::Json => {
                tracing::info!("results: {}", dir.display());
                // A repeat prints one JSON document, its own, after the last run.
                if self.repeat.repeating() {
                    Ok(())
                } else {
                    output::print(&String::from_utf8_lossy(&summary.to_json()))
                }
            }
        };
        // The results are on disk: a reader that stopped listening does not change the verdict.
        match printed {
            Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => {}
            other => other.context("cannot print the summary")?,
        }
        written.map_err(|err| {
            Hinted::caused_by(
                format!("cannot write every result file to {}", dir.display()),
                "the summary above is complete; free space or fix permissions, then rebuild \
                 the files from the run record with `stampede report RUN_DIR`",
                err,
            )
        })?;
        Ok(exit::of_verdict(summary.verdict))
    }
}

/// What is checked of the target before anything is written.
struct Preflight {
    /// Where an http(s) base-url resolved, guarded to loopback unless allowed.
    target_addr: Option<SocketAddr>,
    /// The monitors, each checked (see [`checked_watch`]).
    watches: Option<Watches>,
}

/// Resolves and guards the target's address and checks the monitors; `Err(exit code)` when
/// the run must not start, its reason already printed.
fn preflight(plan: &stampede_plan::Plan) -> anyhow::Result<Result<Preflight, u8>> {
    let target_addr = match &plan.base_url {
        BaseUrl::Builtin => None,
        BaseUrl::Http(base) => {
            let addr = resolve(&base.host, base.port)?;
            if let Some(refusal) =
                guard_loopback(&base.host, addr, plan.remote_allowed_by.as_deref())
            {
                eprintln!("error: {refusal}");
                eprintln!("hint: {REMOTE_HINT}");
                return Ok(Err(exit::USAGE));
            }
            Some(addr)
        }
    };
    Ok(checked_watch(plan)?.map(|watches| Preflight {
        target_addr,
        watches,
    }))
}

/// The monitors `[monitor]` names, each checked: `Ok(None)` when they name nothing (the
/// embedded target is watched once it runs), `Err(exit code)` when a required monitor cannot
/// read its target. One that is not required is left out with a warning, and its samples say so.
fn checked_watch(plan: &stampede_plan::Plan) -> anyhow::Result<Result<Option<Watches>, u8>> {
    let Some(mut watches) = Watches::new(plan, None) else {
        return Ok(Ok(None));
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    let several = watches.0.len() > 1;
    for watch in &mut watches.0 {
        let Err(err) = runtime.block_on(watch.check()) else {
            continue;
        };
        // With several, say which one; a single monitor's error already names its source.
        let which = if several {
            format!("the monitor {}", watch.describe())
        } else {
            "the monitor".to_owned()
        };
        if watch.required() {
            eprintln!("error: {which} cannot read its target: {err}");
            eprintln!("hint: {}", err.hint());
            return Ok(Err(exit::USAGE));
        }
        tracing::warn!(
            "{which} cannot read its target, so the run goes on without it: {err} \
             (required = false)"
        );
        watch.leave_out();
    }
    Ok(Ok(Some(watches)))
}

const CLAIM_HINT: &str = "give this scenario a results folder of its own with --out, or move \
    it into the scenarios folder, where its path names its results";

const RUN_ID_HINT: &str = "leave out --run-id for a fresh one, or choose another";

const REMOTE_HINT: &str = "load goes to loopback only unless you allow it (--allow-remote); \
    never aim at a server you do not own";

/// The scenario checked the host's name; this checks where it resolved, since `localhost` (or
/// any name) can point outside loopback. A remote address needs a permission, which the log
/// names so that an unexpected one is seen. `Some` is why the address is refused.
fn guard_loopback(host: &str, addr: SocketAddr, allowed_by: Option<&str>) -> Option<String> {
    if addr.ip().is_loopback() {
        return None;
    }
    match allowed_by {
        Some(who) => {
            tracing::warn!(
                "target {host} ({}) is outside loopback, allowed by {who}",
                addr.ip()
            );
            None
        }
        None => Some(format!(
            "{host} resolves to {}, which is not a loopback address",
            addr.ip()
        )),
    }
}

fn resolve(host: &str, port: u16) -> anyhow::Result<SocketAddr> {
    let mut addrs = (host, port)
        .to_socket_addrs()
        .with_context(|| format!("cannot resolve {host}"))?;
    match addrs.next() {
        Some(addr) => Ok(addr),
        None => bail!("{host} resolves to no address"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_that_resolves_outside_loopback_is_refused_unless_allowed() {
        let loopback: SocketAddr = "127.0.0.2:80".parse().unwrap();
        assert_eq!(guard_loopback("localhost", loopback, None), None);
        let outside: SocketAddr = "192.0.2.7:80".parse().unwrap();
        assert_eq!(
            guard_loopback("localhost", outside, None).as_deref(),
            Some("localhost resolves to 192.0.2.7, which is not a loopback address")
        );
        assert_eq!(
            guard_loopback("localhost", outside, Some("--allow-remote")),
            None
        );
        let v6: SocketAddr = "[::1]:80".parse().unwrap();
        assert_eq!(guard_loopback("localhost", v6, None), None);
    }
}
