//! One run per scenario at a time: an OS file lock on `<out>/<scenario>/.lock`.
//!
//! Two runs of one scenario would load the same target at once and interleave their history, so
//! the second is refused. The lock is `flock`-style (`File::try_lock`): the OS releases it when
//! the holder dies, however it dies. The file's text (PID, run id, start time) is only for
//! messages. A clean exit empties the file; a file that still names a holder but whose lock we
//! get is what a killed run leaves behind, so getting the lock *is* the takeover.
//!
//! The file is never deleted: deleting it would let a waiting opener lock the unlinked file
//! while a third run locks a new one, and both would run. It is opened without following a
//! symbolic link, so a link planted in its place cannot make a run truncate another file.

use std::fs::{File, TryLockError};
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::Error;
use crate::store::results::{create_dir_no_link, open_no_follow};

pub const LOCK_FILE: &str = ".lock";

/// A held lock; dropping it empties the file and releases the lock.
#[derive(Debug)]
pub struct RunLock {
    file: File,
}

/// What the lock file says about the run holding it (or the one that died holding it).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Holder {
    pub pid: Option<u32>,
    pub run_id: Option<String>,
    pub started: Option<String>,
}

impl Holder {
    fn parse(text: &str) -> Option<Holder> {
        let mut holder = Holder::default();
        for line in text.lines() {
            match line.split_once('=') {
                Some(("pid", v)) => holder.pid = v.trim().parse().ok(),
                Some(("run-id", v)) => holder.run_id = Some(v.trim().to_owned()),
                Some(("started", v)) => holder.started = Some(v.trim().to_owned()),
                _ => {}
            }
        }
        (holder != Holder::default()).then_some(holder)
    }

    /// "PID 1234, run 20261123T101500Z, started 2026-11-23T10:15:00Z".
    pub fn describe(&self) -> String {
        let mut parts = vec![match self.pid {
            Some(pid) => format!("PID {pid}"),
            None => "PID unknown".to_owned(),
        }];
        if let Some(run_id) = &self.run_id {
            parts.push(format!("run {run_id}"));
        }
        if let Some(started) = &self.started {
            parts.push(format!("started {started}"));
        }
        parts.join(", ")
    }
}

/// The outcome of trying to lock.
#[derive(Debug)]
pub enum Acquired {
    /// Locked; `stale` names the killed run whose leftover lock file we took over.
    Locked {
        lock: RunLock,
        stale: Option<Holder>,
    },
    /// Another live process holds the lock.
    Busy { holder: Holder, path: PathBuf },
}

/// Tries to lock `scenario_dir/.lock` for a run, creating the folder if needed. `run_id` is
/// only written into the file for messages (a run locks before its folder exists).
pub fn acquire(scenario_dir: &Path, run_id: &str) -> Result<Acquired, Error> {
    create_dir_no_link(scenario_dir)?;
    let path = scenario_dir.join(LOCK_FILE);
    let mut file = open_no_follow(&path, true)?;
    let locked = file.try_lock();
    let mut previous = String::new();
    // A half-written or foreign file only loses its details in the message.
    let _ = file.read_to_string(&mut previous);
    match locked {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            return Ok(Acquired::Busy {
                holder: Holder::parse(&previous).unwrap_or_default(),
                path,
            });
        }
        Err(TryLockError::Error(source)) => return Err(Error::Lock { path, source }),
    }
    let stale = Holder::parse(&previous);
    let text = format!(
        "pid={}\nrun-id={run_id}\nstarted={}\n",
        std::process::id(),
        humantime::format_rfc3339_seconds(SystemTime::now())
    );
    let written = file
        .set_len(0)
        .and_then(|()| file.seek(SeekFrom::Start(0)))
        .and_then(|_| file.write_all(text.as_bytes()))
        .and_then(|()| file.flush());
    written.map_err(|source| Error::Write { path, source })?;
    Ok(Acquired::Locked {
        lock: RunLock { file },
        stale,
    })
}

impl RunLock {
    /// Marks the lock as ended cleanly, as dropping it does: for an exit that runs no
    /// destructors (a second Ctrl-C).
    pub fn release(&self) {
        let _ = self.file.set_len(0);
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // An empty file tells the next run that this one ended cleanly. Closing the file
        // releases the lock.
        self.release();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_and_names_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let Acquired::Locked { lock, stale: None } = acquire(dir.path(), "first").unwrap() else {
            panic!("first lock")
        };
        // flock locks belong to the open file, so a second open in this process conflicts too.
        let Acquired::Busy { holder, path } = acquire(dir.path(), "second").unwrap() else {
            panic!("second lock must be refused")
        };
        assert_eq!(holder.pid, Some(std::process::id()));
        assert_eq!(holder.run_id.as_deref(), Some("first"));
        assert_eq!(path, dir.path().join(".lock"));
        drop(lock);
        assert_eq!(
            std::fs::read_to_string(dir.path().join(".lock")).unwrap(),
            ""
        );
        assert!(matches!(
            acquire(dir.path(), "third").unwrap(),
            Acquired::Locked { stale: None, .. }
        ));
    }

    #[cfg(unix)]
    #[test]
    fn a_symbolic_link_in_place_of_the_lock_is_refused_and_its_target_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let precious = dir.path().join("precious");
        std::fs::write(&precious, "keep me").unwrap();
        let scenario = dir.path().join("smoke");
        std::fs::create_dir(&scenario).unwrap();
        std::os::unix::fs::symlink(&precious, scenario.join(".lock")).unwrap();
        let err = acquire(&scenario, "r").unwrap_err();
        assert!(matches!(err, Error::Symlink { .. }), "{err}");
        assert_eq!(std::fs::read_to_string(&precious).unwrap(), "keep me");
    }

    #[test]
    fn a_leftover_file_without_a_holder_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(".lock"),
            "pid=999999\nrun-id=old\nstarted=2026-01-01T00:00:00Z\n",
        )
        .unwrap();
        let Acquired::Locked { lock: _held, stale } = acquire(dir.path(), "new").unwrap() else {
            panic!("a stale lock must be taken over")
        };
        let stale = stale.expect("the dead run");
        assert_eq!(stale.pid, Some(999_999));
        assert_eq!(
            stale.describe(),
            "PID 999999, run old, started 2026-01-01T00:00:00Z"
        );
        let text = std::fs::read_to_string(dir.path().join(".lock")).unwrap();
        assert!(
            text.starts_with(&format!("pid={}\nrun-id=new\n", std::process::id())),
            "{text}"
        );
    }
}
