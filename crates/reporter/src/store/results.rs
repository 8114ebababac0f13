//! The results store: `OUT/<key>/<run-id>/`, one mapping from a scenario to its folder, used by
//! `run`, `history`, `compare` and `report` alike.
//!
//! A key is the scenario's path under the scenarios folder without `.toml`
//! (`plans/000-health-baseline`), or a file's stem when it lives elsewhere; the caller decides
//! which (it knows the scenarios folder), this module checks it and owns everything below
//! `OUT`. Every component of a key and every run id is one safe path component, so nothing is
//! ever written outside `OUT`. A key folder remembers which scenario file it holds
//! (`.scenario`), so two files with the same stem in different folders are refused rather than
//! mixed into one history. Run folders are created exclusively: a run id is never reused and a
//! run folder never overwritten. Nothing here follows a symbolic link it did not make.

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read as _, Write as _};
use std::path::{Component, Path, PathBuf};
use std::time::SystemTime;

use crate::Error;
use crate::store::clock::new_run_id;

/// What a key folder says about the scenario file whose runs it holds.
const SOURCE_FILE: &str = ".scenario";
/// The longest key or run id accepted, in bytes: well inside every file system's name limit.
const MAX_NAME: usize = 100;

/// The results of one scenario.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioResults {
    /// `OUT/<key>`.
    pub dir: PathBuf,
    pub key: String,
}

/// Why a name cannot be a key or a run id, for the message.
pub fn check_name(name: &str, what: &str) -> Result<(), String> {
    let problem = if name.is_empty() {
        Some("it is empty".to_owned())
    } else if name.len() > MAX_NAME {
        Some(format!("it is longer than {MAX_NAME} bytes"))
    } else if name == "." || name == ".." || name.starts_with('.') {
        Some("it starts with a dot".to_owned())
    } else {
        name.chars()
            .find(|&c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '+')))
            .map(|c| format!("it holds {c:?}; use letters, digits, '-', '_', '.' or '+'"))
    };
    match problem {
        Some(problem) => Err(format!("`{name}` cannot be {what}: {problem}")),
        None => Ok(()),
    }
}

impl ScenarioResults {
    /// The results folder of `key` under `out`, checked; nothing is created.
    pub fn at(out: &Path, key: &str) -> Result<ScenarioResults, Error> {
        let mut dir = out.to_path_buf();
        for part in key.split('/') {
            check_name(part, "a results folder").map_err(|detail| Error::Name { detail })?;
            dir.push(part);
        }
        // Belt and braces: whatever the name rules, the folder stays below `out`.
        debug_assert!(dir.components().all(|c| !matches!(c, Component::ParentDir)));
        Ok(ScenarioResults {
            dir,
            key: key.to_owned(),
        })
    }

    /// Creates the folder (refusing a symbolic link in its place) and claims it for `source`,
    /// the scenario file's canonical path: a folder that holds another file's runs is refused.
    pub fn claim(&self, source: &Path) -> Result<(), Error> {
        create_dir_no_link(&self.dir)?;
        let marker = self.dir.join(SOURCE_FILE);
        let mine = source.display().to_string();
        match read_no_follow(&marker) {
            Ok(theirs) if theirs.trim_end() == mine => Ok(()),
            Ok(theirs) if theirs.trim().is_empty() => write_marker(&marker, &mine),
            Ok(theirs) => Err(Error::Claimed {
                dir: self.dir.clone(),
                theirs: theirs.trim_end().to_owned(),
                mine,
            }),
            Err(Error::Read { source, .. }) if source.kind() == ErrorKind::NotFound => {
                write_marker(&marker, &mine)
            }
            Err(err) => Err(err),
        }
    }

    /// A new run folder: `run_id` if given (refused if it exists), else the start time as a
    /// sortable id, with `-2`, `-3`... when runs start in the same second. Returns the id and
    /// the folder.
    pub fn new_run(
        &self,
        run_id: Option<&str>,
        now: SystemTime,
    ) -> Result<(String, PathBuf), Error> {
        if let Some(id) = run_id {
            check_name(id, "a run id").map_err(|detail| Error::Name { detail })?;
            let dir = self.dir.join(id);
            return match std::fs::create_dir(&dir) {
                Ok(()) => Ok((id.to_owned(), dir)),
                Err(err) if err.kind() == ErrorKind::AlreadyExists => Err(Error::RunExists { dir }),
                Err(source) => Err(Error::CreateDir { path: dir, source }),
            };
        }
        let base = new_run_id(now);
        for n in 1..=1000u32 {
            let id = if n == 1 {
                base.clone()
            } else {
                format!("{base}-{n}")
            };
            let dir = self.dir.join(&id);
            match std::fs::create_dir(&dir) {
                Ok(()) => return Ok((id, dir)),
                Err(err) if err.kind() == ErrorKind::AlreadyExists => continue,
                Err(source) => return Err(Error::CreateDir { path: dir, source }),
            }
        }
        Err(Error::RunExists {
            dir: self.dir.join(base),
        })
    }

    /// The folder of a stored run, checked to be one of ours.
    pub fn run_dir(&self, run_id: &str) -> Result<PathBuf, Error> {
        check_name(run_id, "a run id").map_err(|detail| Error::Name { detail })?;
        Ok(self.dir.join(run_id))
    }
}

/// Creates `dir` and its parents; a symbolic link where a folder should be is refused.
pub(crate) fn create_dir_no_link(dir: &Path) -> Result<(), Error> {
    if let Ok(meta) = std::fs::symlink_metadata(dir)
        && meta.file_type().is_symlink()
    {
        return Err(Error::Symlink {
            path: dir.to_path_buf(),
        });
    }
    std::fs::create_dir_all(dir).map_err(|source| Error::CreateDir {
        path: dir.to_path_buf(),
        source,
    })
}

/// Opens `path` for reading and writing, created if missing, without following a symbolic
/// link: a link in its place (a trap for a cron job running as root) is refused by name.
pub(crate) fn open_no_follow(path: &Path, create: bool) -> Result<File, Error> {
    let mut options = OpenOptions::new();
    options
        .read(true)
        .write(true)
        .create(create)
        .truncate(false);
    no_follow(&mut options);
    options
        .open(path)
        .map_err(|source| link_error(path, source))
}

/// Reads a file without following a symbolic link.
pub(crate) fn read_no_follow(path: &Path) -> Result<String, Error> {
    let mut options = OpenOptions::new();
    options.read(true);
    no_follow(&mut options);
    let mut text = String::new();
    options
        .open(path)
        .and_then(|mut file| file.read_to_string(&mut text))
        .map_err(|source| link_error(path, source))?;
    Ok(text)
}

#[cfg(unix)]
fn no_follow(options: &mut OpenOptions) {
    use std::os::unix::fs::OpenOptionsExt as _;
    options.custom_flags(libc::O_NOFOLLOW);
}

#[cfg(not(unix))]
fn no_follow(_: &mut OpenOptions) {}

/// `ELOOP` from `O_NOFOLLOW` means a link was there: say so, not "too many levels of links".
fn link_error(path: &Path, source: std::io::Error) -> Error {
    let is_link = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    if is_link {
        Error::Symlink {
            path: path.to_path_buf(),
        }
    } else {
        Error::Read {
            path: path.to_path_buf(),
            source,
        }
    }
}

fn write_marker(marker: &Path, source: &str) -> Result<(), Error> {
    let mut file = open_no_follow(marker, true)?;
    file.set_len(0)
        .and_then(|()| file.write_all(format!("{source}\n").as_bytes()))
        .map_err(|source| Error::Write {
            path: marker.to_path_buf(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn keys_and_run_ids_stay_one_safe_component_each() {
        let out = Path::new("results");
        assert!(ScenarioResults::at(out, "smoke").is_ok());
        assert_eq!(
            ScenarioResults::at(out, "plans/000-health-baseline")
                .unwrap()
                .dir,
            Path::new("results/plans/000-health-baseline")
        );
        for bad in ["../x", "/abs", "", "a//b", ".hidden", "a b", "x/..", "név"] {
            let err = ScenarioResults::at(out, bad).unwrap_err().to_string();
            assert!(err.contains("cannot be a results folder"), "{bad}: {err}");
        }
        assert!(check_name("20261123T101500Z-2", "a run id").is_ok());
        for bad in ["../../../x", "/abs", "", "a/b", "..", "x\ny"] {
            assert!(check_name(bad, "a run id").is_err(), "{bad:?}");
        }
    }

    #[test]
    fn run_folders_are_new_every_time() {
        let out = tempfile::tempdir().unwrap();
        let results = ScenarioResults::at(out.path(), "smoke").unwrap();
        results.claim(Path::new("/s/smoke.toml")).unwrap();
        let now = UNIX_EPOCH + Duration::from_secs(1_795_428_900);
        let ids: Vec<String> = (0..3)
            .map(|_| results.new_run(None, now).unwrap().0)
            .collect();
        assert_eq!(
            ids,
            [
                "20261123T101500Z",
                "20261123T101500Z-2",
                "20261123T101500Z-3"
            ]
        );
        assert!(matches!(
            results.new_run(Some("20261123T101500Z"), now),
            Err(Error::RunExists { .. })
        ));
        assert!(matches!(
            results.new_run(Some("../x"), now),
            Err(Error::Name { .. })
        ));
    }

    #[test]
    fn a_folder_holds_one_scenario_file() {
        let out = tempfile::tempdir().unwrap();
        let results = ScenarioResults::at(out.path(), "smoke").unwrap();
        results.claim(Path::new("/a/smoke.toml")).unwrap();
        results.claim(Path::new("/a/smoke.toml")).unwrap();
        let err = results.claim(Path::new("/b/smoke.toml")).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("/a/smoke.toml") && text.contains("/b/smoke.toml"),
            "{text}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn symbolic_links_are_refused_not_followed() {
        let out = tempfile::tempdir().unwrap();
        let secret = out.path().join("secret");
        std::fs::write(&secret, "root's data").unwrap();
        let results = ScenarioResults::at(out.path(), "smoke").unwrap();
        results.claim(Path::new("/a/smoke.toml")).unwrap();
        let link = results.dir.join("history.jsonl");
        std::os::unix::fs::symlink(&secret, &link).unwrap();
        let err = read_no_follow(&link).unwrap_err();
        assert!(matches!(err, Error::Symlink { .. }), "{err}");
        assert!(err.to_string().contains("history.jsonl"));
        let err = open_no_follow(&link, true).unwrap_err();
        assert!(matches!(err, Error::Symlink { .. }), "{err}");
        assert_eq!(std::fs::read_to_string(&secret).unwrap(), "root's data");

        let elsewhere = out.path().join("elsewhere");
        std::fs::create_dir(&elsewhere).unwrap();
        std::os::unix::fs::symlink(&elsewhere, out.path().join("linked")).unwrap();
        let linked = ScenarioResults::at(out.path(), "linked").unwrap();
        assert!(matches!(
            linked.claim(Path::new("/a/x.toml")),
            Err(Error::Symlink { .. })
        ));
    }
}
