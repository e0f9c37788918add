//! The private directory of one recorded cargo command, and every file operation on it: the
//! helpers cargo runs (symlinks to this program, named by their role), what they chain to
//! (`helper.json`), and the log they append their measurements to (`units.jsonl`).
//!
//! It is a [`PrivateDir`] in this user's directory in the temp dir: opened by descriptor
//! under the owner-only rules, by the recording process and again by each helper, which
//! makes nothing there (if the recording is over, the helper just runs what cargo asked
//! for). Its files are made 0600 by the recording process before cargo starts and are never
//! opened through a link.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use super::message::{HelperConfig, Role};
use crate::platform::dirs;
use crate::platform::owner_only::{Access, PrivateDir};

/// Every run directory's name starts with it; a helper checks it before taking a role.
const PREFIX: &str = "trunk-cargo-";
const CONFIG: &str = "helper.json";
const LOG: &str = "units.jsonl";

/// The directory of one recording (the recording process's side); removed when dropped.
#[derive(Debug)]
pub(crate) struct RunDir {
    dir: PrivateDir,
    parent: PrivateDir,
    name: String,
}

impl RunDir {
    /// Creates a new directory, the helpers (symlinks to `exe`), their configuration and
    /// the empty log.
    pub(crate) fn create(exe: &Path, config: &HelperConfig) -> io::Result<RunDir> {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "{PREFIX}{}-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed),
            crate::platform::clock::wall_ms()
        );
        let parent = PrivateDir::open(&dirs::user_temp_dir())?;
        if parent.existing_subdir(OsStr::new(&name)).is_ok() {
            return Err(io::ErrorKind::AlreadyExists.into());
        }
        let dir = parent.subdir(&name)?;
        let run = RunDir { dir, parent, name };
        for role in Role::ALL {
            run.dir.symlink(role.file_name(), exe)?;
        }
        let config = serde_json::to_vec(config).map_err(io::Error::other)?;
        run.dir.write_new(CONFIG, &config)?;
        run.dir.write_new(LOG, b"")?;
        Ok(run)
    }

    /// The program cargo runs for `role`.
    pub(crate) fn helper(&self, role: Role) -> PathBuf {
        self.dir.path().join(role.file_name())
    }

    /// Whether the path has no whitespace: cargo splits a runner given in the environment
    /// at whitespace.
    pub(crate) fn splits_cleanly(&self) -> bool {
        !self
            .dir
            .path()
            .to_string_lossy()
            .contains(char::is_whitespace)
    }

    /// Everything the helpers wrote, whole lines only (a helper still writing when cargo
    /// ended leaves at most a partial last line, which is left out).
    pub(crate) fn read_log(&self) -> io::Result<String> {
        let mut text = String::from_utf8_lossy(&self.dir.read(LOG)?).into_owned();
        match text.rfind('\n') {
            Some(end) => text.truncate(end + 1),
            None => text.clear(),
        }
        Ok(text)
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        for name in self.dir.names().unwrap_or_default() {
            let _ = self.dir.remove(&name);
        }
        let _ = self.parent.remove_subdir(OsStr::new(&self.name));
    }
}

/// The run directory and role of a helper started as `argv0`, if it is one.
pub(crate) fn of_helper(argv0: &OsStr) -> Option<(PathBuf, Role)> {
    let path = Path::new(argv0);
    let role = Role::ALL
        .into_iter()
        .find(|r| path.file_name() == Some(OsStr::new(r.file_name())))?;
    let dir = path.parent()?;
    let named = dir
        .file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with(PREFIX));
    named.then(|| (dir.to_owned(), role))
}

/// The run directory at `path`, for a helper; `None` once the recording is over (or if it
/// is not private).
pub(crate) fn open(path: &Path) -> Option<PrivateDir> {
    PrivateDir::open_existing(path).ok()
}

/// What the helpers of `dir` chain to; `None` if it cannot be read.
pub(crate) fn read_config(dir: &PrivateDir) -> Option<HelperConfig> {
    serde_json::from_slice(&dir.read(CONFIG).ok()?).ok()
}

/// The log of `dir`, opened for appending.
pub(crate) fn open_log(dir: &PrivateDir) -> io::Result<File> {
    dir.open_file(LOG, Access::Append)
}

/// Appends one line (with its newline) in one `write`, so lines of helpers that run at the
/// same time never interleave.
pub(crate) fn append(log: &mut File, line: &[u8]) -> io::Result<()> {
    log.write_all(line)
}

#[cfg(all(test, unix))]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn a_run_dir_is_private_and_its_helpers_know_their_role() {
        let exe = std::env::current_exe().unwrap();
        let run = RunDir::create(&exe, &HelperConfig::default()).unwrap();
        let path = run.dir.path().to_owned();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o700);
        assert_eq!(mode(&path.join(LOG)), 0o600);
        assert_eq!(mode(&path.join(CONFIG)), 0o600);
        for role in Role::ALL {
            let helper = run.helper(role);
            assert_eq!(
                std::fs::canonicalize(&helper).unwrap(),
                std::fs::canonicalize(&exe).unwrap()
            );
            assert_eq!(of_helper(helper.as_os_str()), Some((path.clone(), role)));
        }
        let helper_side = open(&path).unwrap();
        assert_eq!(read_config(&helper_side), Some(HelperConfig::default()));
        let mut log = open_log(&helper_side).unwrap();
        append(&mut log, b"{\"a\":1}\n{\"partial").unwrap();
        assert_eq!(run.read_log().unwrap(), "{\"a\":1}\n");
        drop(run);
        assert!(!path.exists());
        assert!(
            open(&path).is_none(),
            "a helper makes nothing once it is over"
        );
        assert!(!path.exists());
    }

    #[test]
    fn programs_that_are_not_helpers_are_left_alone() {
        for argv0 in [
            "/usr/bin/trunk-cargo-rustc",
            "trunk-cargo-rustc",
            "/tmp/trunk-cargo-1/rustc",
            "/tmp/elsewhere/trunk-cargo-runner",
        ] {
            assert_eq!(of_helper(OsStr::new(argv0)), None, "{argv0}");
        }
    }

    #[test]
    fn a_log_replaced_by_a_symlink_is_not_followed() {
        let exe = std::env::current_exe().unwrap();
        let run = RunDir::create(&exe, &HelperConfig::default()).unwrap();
        let path = run.dir.path().to_owned();
        let elsewhere = path.join("elsewhere");
        std::fs::write(&elsewhere, b"").unwrap();
        std::fs::remove_file(path.join(LOG)).unwrap();
        std::os::unix::fs::symlink(&elsewhere, path.join(LOG)).unwrap();
        assert!(open_log(&open(&path).unwrap()).is_err());
        assert!(run.read_log().is_err());
    }
}
