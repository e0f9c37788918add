//! The chain file: how the root process of a run learns what the processes under it
//! recorded (build scripts, tools an xtask runs), for its summaries.
//!
//! A process that inherited a context appends each of its events of the inherited chain
//! as one compact JSON line ([`Node`]) to a file named after the chain, in a private
//! directory (0700, owned by this user, like the spool) under the temp dir; whole lines
//! in single `O_APPEND` writes, so processes running at once never mix their lines. The
//! root reads the file when its root event ends (its children have exited by then) and
//! removes it. Files a root never collected (it crashed, or prints no summary) are removed
//! by a later root once they are a day old.

use std::fs::File;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use super::node::{Node, chain_name};
use crate::platform::append;
use crate::platform::dirs::user_label;
use crate::platform::owner_only::{check_path, create_private_dir};

/// Age past which a chain file no root collected is removed.
const STALE: Duration = Duration::from_secs(24 * 60 * 60);
/// Most lines read from one chain file: the summary is bounded, its input must be too.
pub(crate) const MAX_READ: usize = 200_000;

/// The directory of chain files, created private on first use; `None` when it cannot be
/// (said once).
fn dir() -> Option<&'static Path> {
    static DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    DIR.get_or_init(|| {
        let user = user_label();
        let dir = std::env::temp_dir()
            .join(format!("trunk-ci-analytics-{user}"))
            .join("chains");
        match create_private_dir(&dir).and_then(|()| check_path(&dir)) {
            Ok(()) => Some(dir),
            Err(e) => {
                crate::log!(
                    Warn,
                    "cannot use {} for the run's tree ({e}): the summary shows this process's \
                     events only",
                    dir.display()
                );
                None
            }
        }
    })
    .as_deref()
}

fn path(chain: &str) -> Option<PathBuf> {
    // A chain id from the environment is untrusted: only a plain name goes into a path.
    let safe = !chain.is_empty()
        && chain.len() <= 64
        && chain
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !safe {
        return None;
    }
    dir().map(|d| d.join(format!("{chain}.jsonl")))
}

/// A process's end of the chain file of the chain it inherited.
#[derive(Debug)]
pub(crate) struct ChainWriter {
    path: Option<PathBuf>,
    file: Option<File>,
    buf: Vec<u8>,
    failed: bool,
}

impl ChainWriter {
    /// The writer for the inherited chain `chain` (its wire id).
    pub(crate) fn new(chain: &str) -> ChainWriter {
        ChainWriter {
            path: path(chain),
            file: None,
            buf: Vec::new(),
            failed: false,
        }
    }

    pub(crate) fn push(&mut self, node: &Node) {
        if self.failed || self.path.is_none() {
            return;
        }
        if serde_json::to_writer(&mut self.buf, node).is_ok() {
            self.buf.push(b'\n');
        }
        if append::is_full(&self.buf) {
            self.write();
        }
    }

    pub(crate) fn write(&mut self) {
        if self.buf.is_empty() || self.failed {
            return;
        }
        let Some(path) = self.path.as_deref() else {
            return;
        };
        let result = match self.file.as_mut() {
            Some(file) => append::write_lines(file, &self.buf),
            None => open_private(path).and_then(|mut f| {
                let r = append::write_lines(&mut f, &self.buf);
                self.file = Some(f);
                r
            }),
        };
        self.buf.clear();
        if let Err(e) = result {
            self.failed = true;
            crate::log!(
                Warn,
                "cannot append to {} ({e}): the run's summary misses this process's events",
                path.display()
            );
        }
    }
}

fn open_private(path: &Path) -> std::io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// Reads and removes the chain file of `chain` (this process's root id): the events the
/// processes under it recorded, at most [`MAX_READ`].
pub(crate) fn collect(chain: u64) -> Vec<Node> {
    let nodes = read(chain);
    if let Some(path) = path(&chain_name(chain)) {
        let _ = std::fs::remove_file(&path);
    }
    prune_once();
    nodes
}

/// Reads the chain file of `chain` and leaves it for its root: what the processes of the
/// run recorded so far, at most [`MAX_READ`].
pub(crate) fn read(chain: u64) -> Vec<Node> {
    let Some(path) = path(&chain_name(chain)) else {
        return Vec::new();
    };
    let Ok(file) = File::open(&path) else {
        return Vec::new();
    };
    std::io::BufReader::new(file)
        .lines()
        .map_while(Result::ok)
        .take(MAX_READ)
        .filter_map(|line| serde_json::from_str(&line).ok())
        .collect()
}

/// Removes chain files no root collected, once per process.
fn prune_once() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let Some(dir) = dir() else { return };
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        let now = SystemTime::now();
        for entry in entries.flatten() {
            let old = entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| now.duration_since(t).is_ok_and(|age| age > STALE));
            if old {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    });
}
