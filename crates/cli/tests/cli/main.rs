//! The real `stampede` binary, end to end, against the embedded demo target: one test binary,
//! a module per area, the shared helpers here.
//!
//! Runs that must be stopped or overlapped are spawned and watched through their log lines and
//! files, each wait bounded by a deadline; nothing sleeps in the hope that something happened.

mod commands;
mod compare;
mod deploy;
mod history;
mod knee;
mod monitor;
mod repeat;
mod run;
mod scaleout;
mod signals;
mod store;
mod verdicts;
mod websockets;

use std::io::{BufRead as _, BufReader, Read as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard, mpsc};
use std::time::{Duration, Instant};

use stampede_target::{Config, Faults, Latency, Target};

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Tests run in parallel threads; a test that measures (and must not fail on the noise of
/// its neighbours) takes this exclusively, every other run shares it.
static MACHINE: RwLock<()> = RwLock::new(());

/// The machine to oneself, for a test whose figures other tests' load would disturb; such a
/// test then runs stampede with [`stampede_alone`].
pub fn quiet_machine() -> RwLockWriteGuard<'static, ()> {
    MACHINE.write().unwrap_or_else(PoisonError::into_inner)
}

pub fn stampede(args: &[&str]) -> Output {
    Cmd::new(args).output()
}

/// [`stampede`] for a test that holds [`quiet_machine`].
pub fn stampede_alone(args: &[&str]) -> Output {
    Cmd::new(args).output_alone()
}

/// A `stampede` command line built from what a test needs, so each test spells out only
/// the words particular to it: `Cmd::run("smoke").set("duration=1s").out(dir).light()`.
#[derive(Clone, Debug)]
pub struct Cmd {
    args: Vec<String>,
    env: Vec<(String, String)>,
}

impl Cmd {
    /// `stampede WORDS...`: `Cmd::new(&["history", "smoke"])`.
    pub fn new(words: &[&str]) -> Cmd {
        Cmd {
            args: words.iter().map(|w| w.to_string()).collect(),
            env: Vec::new(),
        }
    }

    /// `stampede run SCENARIO`: a shipped scenario's name, a file's path or a URL.
    pub fn run(scenario: &str) -> Cmd {
        Cmd::new(&["run", scenario])
    }

    pub fn args(mut self, args: &[&str]) -> Cmd {
        self.args.extend(args.iter().map(|a| a.to_string()));
        self
    }

    /// `--set KEY=VALUE` for each of `overrides`, in order.
    pub fn set(self, overrides: &[&str]) -> Cmd {
        overrides
            .iter()
            .fold(self, |cmd, o| cmd.args(&["--set", o]))
    }

    pub fn out(self, dir: &Path) -> Cmd {
        self.args(&["--out", out_arg(dir)])
    }

    pub fn run_id(self, id: &str) -> Cmd {
        self.args(&["--run-id", id])
    }

    /// `--threads 1`: one runtime thread, so parallel tests share two cores fairly.
    pub fn one_thread(self) -> Cmd {
        self.args(&["--threads", "1"])
    }

    /// [`LIGHT`] load.
    pub fn light(self) -> Cmd {
        self.args(LIGHT)
    }

    pub fn quiet(self) -> Cmd {
        self.args(&["-q"])
    }

    pub fn env(mut self, key: &str, value: &str) -> Cmd {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Runs it to the end, sharing the machine with the other tests.
    pub fn output(&self) -> Output {
        let _shared = MACHINE.read().unwrap_or_else(PoisonError::into_inner);
        self.output_alone()
    }

    /// [`Cmd::output`] for a test that holds [`quiet_machine`].
    pub fn output_alone(&self) -> Output {
        self.command().output().expect("run stampede")
    }

    /// Spawns it in the background: see [`Running`].
    pub fn start(&self) -> Running {
        Running::spawn(self)
    }

    /// The binary, from the repository root, with these words and variables and no RUST_LOG.
    fn command(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_stampede"));
        command
            .args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .current_dir(repo())
            .env_remove("RUST_LOG");
        command
    }
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Asserts that `output` exited with `code`, showing both streams when it did not; returns
/// them as text (stdout, stderr).
#[track_caller]
pub fn exited(output: &Output, code: i32) -> (String, String) {
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert_eq!(
        output.status.code(),
        Some(code),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    (stdout, stderr)
}

/// Asserts that a run completed, whether it passed (0) or failed its thresholds (99).
#[track_caller]
pub fn completed(output: &Output) -> (String, String) {
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert!(
        matches!(output.status.code(), Some(0 | 99)),
        "{:?}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status
    );
    (stdout, stderr)
}

/// stdout as the one JSON document it must be.
pub fn json_of(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).expect("stdout is one JSON document")
}

/// The run folders under `out/<scenario>/`, oldest first (run ids sort by time).
pub fn run_dirs(out: &Path, scenario: &str) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(out.join(scenario))
        .expect("scenario results dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

/// The only run directory under `out/<scenario>/`.
pub fn run_dir(out: &Path, scenario: &str) -> PathBuf {
    let mut dirs = run_dirs(out, scenario);
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    dirs.pop().expect("one run")
}

/// The newest run directory under `out/<scenario>/`.
pub fn run_dir_latest(out: &Path, scenario: &str) -> PathBuf {
    run_dirs(out, scenario).pop().expect("a run")
}

/// Light load, so runs of parallel tests do not starve each other on two cores.
pub const LIGHT: &[&str] = &[
    "--set",
    "users=2",
    "--set",
    "defaults.think=20ms",
    "--threads",
    "1",
];

/// Each shipped kind but smoke shrunk to a couple of seconds, as `--set` overrides.
pub const SHRUNK_KINDS: &[(&str, &[&str])] = &[
    (
        "capacity",
        &[
            "hold=1s",
            "ramp=0s",
            "warmup=0s",
            "cooldown=200ms",
            "users=[2, 4]",
        ],
    ),
    (
        "throughput",
        &["hold=1s", "warmup=0s", "cooldown=200ms", "rates=[20, 40]"],
    ),
    ("burst", &["before=500ms", "burst-for=1s", "after=500ms"]),
    ("soak", &["duration=2s", "ramp=0s", "interval=1s"]),
];

/// Runs the shipped `kind` with `overrides` into `out`, on one thread and quietly, and
/// asserts that it completed.
pub fn run_shrunk(kind: &str, overrides: &[&str], out: &Path) -> (String, String) {
    completed(
        &Cmd::run(kind)
            .out(out)
            .one_thread()
            .quiet()
            .set(overrides)
            .output(),
    )
}

pub fn out_arg(dir: &Path) -> &str {
    dir.to_str().expect("utf-8 path")
}

pub fn summary_of(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("summary.json")).expect("summary.json"))
        .expect("summary.json parses")
}

/// Every file of a run folder but its record, as bytes, by name.
pub fn files_of(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .expect("run folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.file_name().is_some_and(|n| n != "record.jsonl"))
        .map(|p| {
            let name = p.file_name().expect("name").to_string_lossy().into_owned();
            (name, std::fs::read(&p).expect("read"))
        })
        .collect();
    files.sort();
    files
}

/// Deletes every file of the run folder `dir` but its record, has `stampede report` rebuild
/// them, and asserts each comes back byte for byte; `run` names the run in failures. Returns
/// the files as they were first written.
#[track_caller]
pub fn assert_report_rebuilds(dir: &Path, run: &str) -> Vec<(String, Vec<u8>)> {
    let written = files_of(dir);
    for (name, _) in &written {
        std::fs::remove_file(dir.join(name)).expect("remove");
    }
    let output = stampede(&["report", out_arg(dir)]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{run}: {}",
        text(&output.stderr)
    );
    let rebuilt = files_of(dir);
    assert_eq!(rebuilt.len(), written.len(), "{run}");
    for ((name, want), (_, got)) in written.iter().zip(&rebuilt) {
        assert!(want == got, "{run}: {name} differs after report");
    }
    written
}

/// `stampede history SCENARIO --out OUT --output-format json`.
pub fn history_json(scenario: &str, out: &Path) -> Output {
    Cmd::new(&["history", scenario])
        .out(out)
        .args(&["--output-format", "json"])
        .output()
}

/// The names of the files in `dir` that a clean exit must not leave: temporaries.
pub fn debris(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".tmp"))
                .collect()
        })
        .unwrap_or_default()
}

/// A temporary folder holding one scenario file and, beside it, the results folder.
pub struct Scratch {
    dir: tempfile::TempDir,
    /// The scenario file.
    pub scenario: PathBuf,
    /// `results/`, not made yet.
    pub out: PathBuf,
}

impl Scratch {
    /// Writes `text` as the scenario `name` (a file name, `.toml` included).
    pub fn new(name: &str, text: &str) -> Scratch {
        let dir = tempfile::tempdir().expect("tempdir");
        let scenario = write_scenario(dir.path(), name, text);
        let out = dir.path().join("results");
        Scratch { dir, scenario, out }
    }

    /// The folder that holds the scenario and the results.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `stampede run` on the scenario, into the results folder.
    pub fn run(&self) -> Cmd {
        Cmd::run(out_arg(&self.scenario)).out(&self.out)
    }
}

/// Writes `text` to `dir/name`, creating folders.
pub fn write_scenario(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(&path, text).expect("write scenario");
    path
}

/// A demo target on loopback whose every answer takes `latency_ms`, so a test knows in
/// advance what a run against it measures.
pub fn slow_target(latency_ms: u64) -> Target {
    Target::start(Config {
        faults: Faults {
            latency: Latency::Fixed(Duration::from_millis(latency_ms)),
            ..Faults::default()
        },
        ..Config::default()
    })
    .expect("demo target")
}

/// A `stampede` spawned in the background, its stderr read line by line as it comes.
pub struct Running {
    /// Held while the process runs, so a measuring test waits for it.
    _shared: RwLockReadGuard<'static, ()>,
    child: Child,
    lines: mpsc::Receiver<String>,
    stderr: String,
    stdout: mpsc::Receiver<String>,
}

impl Running {
    pub fn start(args: &[&str]) -> Running {
        Cmd::new(args).start()
    }

    fn spawn(cmd: &Cmd) -> Running {
        let shared = MACHINE.read().unwrap_or_else(PoisonError::into_inner);
        let mut child = cmd
            .command()
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn stampede");
        let (line_tx, lines) = mpsc::channel();
        let stderr = child.stderr.take().expect("stderr");
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line_tx.send(line).is_err() {
                    break;
                }
            }
        });
        let (out_tx, stdout) = mpsc::channel();
        let mut out = child.stdout.take().expect("stdout");
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = out.read_to_string(&mut text);
            let _ = out_tx.send(text);
        });
        Running {
            _shared: shared,
            child,
            lines,
            stderr: String::new(),
            stdout,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for a stderr line containing `needle`, for at most `limit`.
    pub fn wait_for_line(&mut self, needle: &str, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.stderr.push_str(&line);
                    self.stderr.push('\n');
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => panic!("no line with `{needle}` within {limit:?}:\n{}", self.stderr),
            }
        }
    }

    /// SIGKILL: nothing of the process runs after it.
    pub fn kill(&mut self) {
        self.child.kill().expect("kill");
    }

    /// Sends a signal by name (`TERM`, `INT`, `HUP`).
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
    }

    pub fn terminate(&self) {
        self.signal("TERM");
    }

    /// Waits for the exit, for at most `limit`; then stderr and stdout in full.
    pub fn finish(mut self, limit: Duration) -> (ExitStatus, String, String) {
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "stampede did not exit within {limit:?}:\n{}",
                self.stderr
            );
            std::thread::sleep(Duration::from_millis(10));
        };
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.stderr.push_str(&line);
            self.stderr.push('\n');
        }
        let stdout = self
            .stdout
            .recv_timeout(Duration::from_secs(5))
            .unwrap_or_default();
        (status, std::mem::take(&mut self.stderr), stdout)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // A failed assertion must not leave a load test running.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A child process killed when the test ends, however it ends.
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
