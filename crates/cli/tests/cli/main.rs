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
    let _shared = MACHINE.read().unwrap_or_else(PoisonError::into_inner);
    stampede_alone(args)
}

/// [`stampede`] for a test that holds [`quiet_machine`].
pub fn stampede_alone(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stampede"))
        .args(args)
        .current_dir(repo())
        .env_remove("RUST_LOG")
        .output()
        .expect("run stampede")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The only run directory under `out/<scenario>/`.
pub fn run_dir(out: &Path, scenario: &str) -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(out.join(scenario))
        .expect("scenario results dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    dirs.pop().expect("one run")
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

pub fn out_arg(dir: &Path) -> &str {
    dir.to_str().expect("utf-8 path")
}

pub fn summary_of(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("summary.json")).expect("summary.json"))
        .expect("summary.json parses")
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
        let shared = MACHINE.read().unwrap_or_else(PoisonError::into_inner);
        let mut child = Command::new(env!("CARGO_BIN_EXE_stampede"))
            .args(args)
            .current_dir(repo())
            .env_remove("RUST_LOG")
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
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
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

/// The newest run directory under `out/<scenario>/` (run ids sort by time).
pub fn run_dir_latest(out: &Path, scenario: &str) -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(out.join(scenario))
        .expect("scenario results dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs.pop().expect("a run")
}
