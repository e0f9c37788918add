//! The private directory of one recorded cargo command, and every file operation on it: the
//! helpers cargo runs (symlinks to this program, named by their role), what they chain to
//! (`helper.json`), and the log they append their measurements to (`units.jsonl`).
//!
//! The directory is new (made with `mkdir`, which fails on anything already there) and
//! owner-only; the files in it are created by the recording process, 0600, before cargo
//! starts, and helpers open them with `O_NOFOLLOW` and never create them, so nothing another
//! user prepares can be read as ours or receive what we write.

use std::ffi::OsStr;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use super::message::{HelperConfig, Role};
use crate::platform::owner_only;

/// Every run directory's name starts with it; a helper checks it before taking a role.
const PREFIX: &str = "trunk-cargo-";
const CONFIG: &str = "helper.json";
const LOG: &str = "units.jsonl";
/// Largest `helper.json` a helper reads.
const MAX_CONFIG: u64 = 64 * 1024;

/// The directory of one recording (the recording process's side).
#[derive(Debug)]
pub(crate) struct RunDir {
    path: PathBuf,
}

impl RunDir {
    /// Creates a new directory in the temp dir, the helpers (symlinks to `exe`) and the
    /// empty log.
    pub(crate) fn create(exe: &Path, config: &HelperConfig) -> io::Result<RunDir> {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "{PREFIX}{}-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed),
            crate::platform::clock::wall_ms()
        );
        let path = std::env::temp_dir().join(name);
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(&path)?;
        let dir = RunDir { path };
        // A temp dir another user controls would let them swap what we read back.
        owner_only::check_path(&dir.path)?;
        for role in Role::ALL {
            #[cfg(unix)]
            std::os::unix::fs::symlink(exe, dir.helper(role))?;
            #[cfg(not(unix))]
            let _ = (role, exe);
        }
        let config = serde_json::to_vec(config).map_err(io::Error::other)?;
        owner_only::write_private(&dir.path.join(CONFIG), &config)?;
        owner_only::write_private(&dir.path.join(LOG), b"")?;
        Ok(dir)
    }

    /// The program cargo runs for `role`.
    pub(crate) fn helper(&self, role: Role) -> PathBuf {
        self.path.join(role.file_name())
    }

    /// Whether the path has no whitespace: cargo splits a runner given in the environment
    /// at whitespace.
    pub(crate) fn splits_cleanly(&self) -> bool {
        !self.path.to_string_lossy().contains(char::is_whitespace)
    }

    /// Everything the helpers wrote, whole lines only (a helper still writing when cargo
    /// ended leaves at most a partial last line, which is left out).
    pub(crate) fn read_log(&self) -> io::Result<String> {
        let mut text = String::new();
        open_no_follow(&self.path.join(LOG), false)?.read_to_string(&mut text)?;
        match text.rfind('\n') {
            Some(end) => text.truncate(end + 1),
            None => text.clear(),
        }
        Ok(text)
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
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

/// What the helpers of `dir` chain to; `None` if it cannot be read.
pub(crate) fn read_config(dir: &Path) -> Option<HelperConfig> {
    let mut text = Vec::new();
    open_no_follow(&dir.join(CONFIG), false)
        .ok()?
        .take(MAX_CONFIG)
        .read_to_end(&mut text)
        .ok()?;
    serde_json::from_slice(&text).ok()
}

/// The log of `dir`, opened for appending; the helper writes nothing if it is gone.
pub(crate) fn open_log(dir: &Path) -> io::Result<File> {
    open_no_follow(&dir.join(LOG), true)
}

/// Appends one line (with its newline) in one `write`, so lines of helpers that run at the
/// same time never interleave.
pub(crate) fn append(log: &mut File, line: &[u8]) -> io::Result<()> {
    log.write_all(line)
}

fn open_no_follow(path: &Path, append: bool) -> io::Result<File> {
    let mut options = OpenOptions::new();
    if append {
        options.append(true);
    } else {
        options.read(true);
    }
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NOFOLLOW);
    options.open(path)
}

#[cfg(all(test, unix))]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn a_run_dir_is_private_and_its_helpers_know_their_role() {
        let exe = std::env::current_exe().unwrap();
        let dir = RunDir::create(&exe, &HelperConfig::default()).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir.path), 0o700);
        assert_eq!(mode(&dir.path.join(LOG)), 0o600);
        assert_eq!(mode(&dir.path.join(CONFIG)), 0o600);
        for role in Role::ALL {
            let helper = dir.helper(role);
            assert_eq!(
                std::fs::canonicalize(&helper).unwrap(),
                std::fs::canonicalize(&exe).unwrap()
            );
            assert_eq!(
                of_helper(helper.as_os_str()),
                Some((dir.path.clone(), role))
            );
        }
        assert_eq!(read_config(&dir.path), Some(HelperConfig::default()));
        let mut log = open_log(&dir.path).unwrap();
        append(&mut log, b"{\"a\":1}\n{\"partial").unwrap();
        assert_eq!(dir.read_log().unwrap(), "{\"a\":1}\n");
        let path = dir.path.clone();
        drop(dir);
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
        let dir = RunDir::create(&exe, &HelperConfig::default()).unwrap();
        let elsewhere = dir.path.join("elsewhere");
        std::fs::write(&elsewhere, b"").unwrap();
        std::fs::remove_file(dir.path.join(LOG)).unwrap();
        std::os::unix::fs::symlink(&elsewhere, dir.path.join(LOG)).unwrap();
        assert!(open_log(&dir.path).is_err());
        assert!(dir.read_log().is_err());
    }
}
