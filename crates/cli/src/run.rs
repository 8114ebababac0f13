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
use stampede_monitor::Watch;
use stampede_plan::BaseUrl;
use stampede_reporter::store::lock::{self, Acquired};
use stampede_reporter::{Reporter, RunMeta};
use tokio::sync::watch;

use crate::exit;
use crate::output::{self, ColorChoice, Hinted, OutputFormat};
use crate::progress::Progress;
use crate::scenarios::{Loaded, ScenarioArgs, load_plan, results_for};
use crate::signals::Interrupts;

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
    /// Load threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// text: the summary for people; json: summary.json, and nothing else on stdout.
    #[arg(long, value_enum, default_value_t)]
    output_format: OutputFormat,
    #[command(flatten)]
    debug: crate::debug::DebugArgs,
    #[command(flatten)]
    scale_out: crate::segment::SegmentArgs,
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
        let code = self.run_in(&loaded, &run_id, &dir, &interrupts, ui);
        drop(lock);
        code
    }

    fn run_in(
        &self,
        loaded: &Loaded,
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
                let addr = resolve(&base.host, base.port)?;
                (
                    None,
                    addr,
                    base.authority_for(plan.tls.is_some()),
                    base.path_prefix.clone(),
                    base.url_for(plan.tls.is_some()),
                )
            }
        };
        let mut watch = Watch::new(plan, builtin.as_ref().map(|t| t.addr()))
            .map_err(|err| Hinted::error(err.to_string(), err.hint()))?;
        if let Some(watch) = &watch {
            tracing::info!("watching the target: {}", watch.describe());
        }
        let meta = RunMeta {
            run_id: run_id.to_owned(),
            scenario: plan.name.clone(),
            kind: plan.kind.as_str().to_owned(),
            base_url: base_url.clone(),
            tag: self.tag.clone(),
            scenario_sha256: loaded.sha256.clone(),
            plan_text: stampede_scenario::describe(plan),
            scale_out: self.scale_out.tag(&loaded.sha256)?,
        };
        let mut reporter = Reporter::create(plan, meta, dir).map_err(|err| {
            Hinted::caused_by(
                format!("cannot write results to {}", dir.display()),
                "check that --out is a folder you can write to",
                err,
            )
        })?;
        let options = Options {
            connector: crate::connect::connector(plan, addr)?,
            authority,
            path_prefix: prefix,
            base_url,
            // The embedded target needs a core of its own, or generator and server would fight
            // for the same one and both measurements would suffer.
            threads: self
                .threads
                .unwrap_or_else(|| {
                    let cores = Options::default_threads();
                    if builtin.is_some() {
                        cores.saturating_sub(1)
                    } else {
                        cores
                    }
                })
                .max(1),
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
        let mut progress = Progress::new(plan, display, colour);
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

        let summary = reporter.finish().context("cannot write the results")?;
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
                let path = dir.join(stampede_reporter::SUMMARY_FILE);
                let json = std::fs::read_to_string(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                output::print(&json)
            }
        };
        // The results are on disk: a reader that stopped listening does not change the verdict.
        match printed {
            Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => {}
            other => other.context("cannot print the summary")?,
        }
        Ok(exit::of_verdict(summary.verdict))
    }
}

const CLAIM_HINT: &str = "give this scenario a results folder of its own with --out, or move \
    it into the scenarios folder, where its path names its results";

const RUN_ID_HINT: &str = "leave out --run-id for a fresh one, or choose another";

fn resolve(host: &str, port: u16) -> anyhow::Result<SocketAddr> {
    let mut addrs = (host, port)
        .to_socket_addrs()
        .with_context(|| format!("cannot resolve {host}"))?;
    match addrs.next() {
        Some(addr) => Ok(addr),
        None => bail!("{host} resolves to no address"),
    }
}
