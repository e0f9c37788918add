//! The run's uploader: the process that delivers the events of every process under it. It
//! announces itself to its children in `TRUNK_UPLOADER=<pid>:<spool root>`, beside the
//! context variables ([`EventContext::env_vars`](crate::EventContext::env_vars)); a process
//! under it writes its request bodies to the spool there, and the uploader, which lists its
//! spool often while it lives and at its exit, sends them with its own. What it leaves
//! behind (it died, or a child outlived it) waits for the next uploading process or
//! `trunk-ci-analytics flush`, as any spooled batch does.
//!
//! What this process announces lives here, in a slot `global` writes once when the runtime
//! is set up; the reading of an inherited announcement is the configuration's.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The variable that announces the run's uploader to child processes.
pub(crate) const ENV_UPLOADER: &str = "TRUNK_UPLOADER";

/// An uploading process and the spool root where the processes under it leave their events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RunUploader {
    pub(crate) pid: u32,
    pub(crate) spool_root: PathBuf,
}

impl RunUploader {
    /// Reads `<pid>:<absolute spool root>`; why not, when the value is not that.
    pub(crate) fn parse(value: &str) -> Result<RunUploader, &'static str> {
        let (pid, root) = value
            .split_once(':')
            .ok_or("expected <pid>:<spool directory>")?;
        let pid = pid
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|&p| p > 0)
            .ok_or("the pid is not a process id")?;
        let spool_root = PathBuf::from(root);
        if !spool_root.is_absolute() {
            return Err("the spool directory is not an absolute path");
        }
        Ok(RunUploader { pid, spool_root })
    }

    /// The variable's value; `None` for a spool root that is not UTF-8 (it is then not
    /// announced: children send or spool by themselves).
    pub(crate) fn env_value(&self) -> Option<String> {
        Some(format!("{}:{}", self.pid, self.spool_root.to_str()?))
    }

    /// This process as the run's uploader, spooling under `spool_root`.
    pub(crate) fn this_process(spool_root: &Path) -> RunUploader {
        RunUploader {
            pid: std::process::id(),
            spool_root: std::path::absolute(spool_root).unwrap_or_else(|_| spool_root.to_owned()),
        }
    }
}

/// The value this process hands to its children: its own announcement when it uploads, the
/// one it inherited when it hands its events over (so grandchildren do too).
static ANNOUNCED: OnceLock<Option<String>> = OnceLock::new();

/// Sets what this process announces; the first call wins. Only `global` calls it.
pub(crate) fn set_announced(uploader: Option<&RunUploader>) {
    let _ = ANNOUNCED.set(uploader.and_then(RunUploader::env_value));
}

/// What child processes are told in [`ENV_UPLOADER`], if anything.
pub(crate) fn announced() -> Option<&'static str> {
    ANNOUNCED.get().and_then(Option::as_deref)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announcements_read_back() {
        let up = RunUploader {
            pid: 42,
            spool_root: PathBuf::from("/var/cache/a:b/spool"),
        };
        let value = up.env_value().unwrap_or_default();
        assert_eq!(value, "42:/var/cache/a:b/spool");
        assert_eq!(RunUploader::parse(&value), Ok(up));
    }

    #[test]
    fn malformed_announcements_are_refused() {
        for bad in [
            "",
            "42",
            "x:/tmp",
            "0:/tmp",
            "-1:/tmp",
            "42:relative/dir",
            "42:",
        ] {
            assert!(RunUploader::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
