//! `stampede run`: load a scenario, lock it, start the demo target if asked, run it with the
//! target watched, report, exit with a code cron can act on.

use std::io::IsTerminal;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::SystemTime;

use anyhow::{Context as _, bail};
use stampede_engine::{Options, StopReason};
use stampede_metrics::Probe;
use stampede_monitor::Watch;
use stampede_plan::BaseUrl;
use stampede_reporter::{Reporter, RunMeta};
use tokio::sync::watch;

use crate::exit;
use crate::lock::{self, Acquired};
use crate::output::{self, ColorChoice, Hinted, OutputFormat};
use crate::progress::{self, Progress};
use crate::scenarios::{ScenarioArgs, load_plan};

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
    /// The run's id (default: the UTC start time, e.g. 20261123T101500Z).
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
}

impl RunCmd {
    pub fn run(self, ui: Ui) -> anyhow::Result<u8> {
        let plan = match load_plan(&self.scenario)? {
            Ok(plan) => self.debug.plan(plan),
            Err(code) => return Ok(code),
        };
        let started = SystemTime::now();
        let run_id = self
            .run_id
            .clone()
            .unwrap_or_else(|| stampede_reporter::new_run_id(started));
        let scenario_dir = self.out.join(&plan.name);
        // Before anything else touches the target or the results: a second run is refused whole.
        let _lock = match lock::acquire(&scenario_dir, &run_id)? {
            Acquired::Locked { lock, stale } => {
                if let Some(dead) = stale {
                    tracing::warn!(
                        "took over the lock of a run that ended without releasing it ({})",
                        dead.describe()
                    );
                }
                lock
            }
            Acquired::Busy { holder, path } => {
                eprintln!(
                    "error: another run of `{}` is in progress ({})",
                    plan.name,
                    holder.describe()
                );
                eprintln!(
                    "hint: wait for it to end, or write elsewhere with --out; its lock is {}",
                    path.display()
                );
                return Ok(exit::LOCKED);
            }
        };
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
        let mut watch = Watch::new(&plan, builtin.as_ref().map(|t| t.addr()))
            .map_err(|err| Hinted::error(err.to_string(), err.hint()))?;
        if let Some(watch) = &watch {
            tracing::info!("watching the target: {}", watch.describe());
        }
        let dir = scenario_dir.join(&run_id);
        let meta = RunMeta {
            run_id: run_id.clone(),
            scenario: plan.name.clone(),
            kind: plan.kind.as_str().to_owned(),
            base_url: base_url.clone(),
            tag: self.tag.clone(),
        };
        let mut reporter = Reporter::create(&plan, meta, &dir).map_err(|err| {
            Hinted::caused_by(
                format!("cannot write results to {}", dir.display()),
                "check that --out is a folder you can write to",
                err,
            )
        })?;
        let options = Options {
            connector: crate::connect::connector(&plan, addr)?,
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
        let mut progress = Progress::new(&plan, display, colour);
        let outcome = runtime.block_on(async {
            let (stop_tx, stop) = watch::channel(None);
            // Registered before the engine starts, so a signal from here on stops the run
            // cleanly instead of killing the process.
            let signals = Signals::register().context("cannot listen for Ctrl-C and SIGTERM")?;
            tokio::spawn(signals.stop_run(stop_tx));
            let probe = watch.as_mut().map(|w| w as &mut dyn Probe);
            anyhow::Ok(
                stampede_engine::run_watched(&plan, &options, probe, stop, |event| {
                    progress.show(event);
                    reporter.record(event);
                })
                .await,
            )
        })?;
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

/// Ctrl-C and SIGTERM, registered with the OS.
struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    fn register() -> std::io::Result<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Signals {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Signals {})
    }

    async fn next(&mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    }

    /// The first signal stops the run: the engine lets in-flight requests finish and the
    /// partial results are written as usual. A second one exits at once, for someone who will
    /// not wait out the grace period.
    async fn stop_run(mut self, stop: watch::Sender<Option<StopReason>>) {
        self.next().await;
        tracing::warn!(
            "interrupted: finishing in-flight requests, then writing partial results (again to quit now)"
        );
        stop.send_if_modified(|current| {
            *current = Some(StopReason::Interrupted);
            true
        });
        self.next().await;
        progress::clear();
        tracing::warn!("interrupted again: exiting without writing results");
        std::process::exit(i32::from(exit::INTERRUPTED));
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
