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

use std::ffi::OsStr;
use std::fs::File;
use std::io::BufRead;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use super::node::{Node, chain_name};
use crate::platform::append;
use crate::platform::dirs::user_temp_dir;
use crate::platform::owner_only::{Access, PrivateDir};

/// Age past which a chain file no root collected is removed.
const STALE: Duration = Duration::from_secs(24 * 60 * 60);
/// Most lines read from one chain file: the summary is bounded, its input must be too.
pub(crate) const MAX_READ: usize = 200_000;

/// The directory of chain files, opened (made private) once per process; `None` when it
/// cannot be (said once).
fn dir() -> Option<&'static PrivateDir> {
    static DIR: OnceLock<Option<PrivateDir>> = OnceLock::new();
    DIR.get_or_init(|| {
        let path = user_temp_dir().join("chains");
        match PrivateDir::open(&path) {
            Ok(dir) => Some(dir),
            Err(e) => {
                crate::log!(
                    Warn,
                    "cannot use {} for the run's tree ({e}): the summary shows this process's \
                     events only",
                    path.display()
                );
                None
            }
        }
    })
    .as_ref()
}

/// The file name of `chain`'s file. A chain id from the environment is untrusted: only a
/// plain name is used.
fn file_name(chain: &str) -> Option<String> {
    let safe = !chain.is_empty()
        && chain.len() <= 64
        && chain
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    safe.then(|| format!("{chain}.jsonl"))
}

/// A process's end of the chain file of the chain it inherited.
#[derive(Debug)]
pub(crate) struct ChainWriter {
    name: Option<String>,
    file: Option<File>,
    buf: Vec<u8>,
    failed: bool,
}

impl ChainWriter {
    /// The writer for the inherited chain `chain` (its wire id).
    pub(crate) fn new(chain: &str) -> ChainWriter {
        ChainWriter {
            name: file_name(chain),
            file: None,
            buf: Vec::new(),
            failed: false,
        }
    }

    pub(crate) fn push(&mut self, node: &Node) {
        if self.failed || self.name.is_none() {
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
        let (Some(name), Some(dir)) = (self.name.as_deref(), dir()) else {
            self.buf.clear();
            return;
        };
        let result = match self.file.as_mut() {
            Some(file) => append::write_lines(file, &self.buf),
            None => dir.open_file(name, Access::Append).and_then(|mut f| {
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
                dir.path().join(name).display()
            );
        }
    }
}

/// Reads and removes the chain file of `chain` (this process's root id): the events the
/// processes under it recorded, at most [`MAX_READ`].
pub(crate) fn collect(chain: u64) -> Vec<Node> {
    let nodes = read(chain);
    if let (Some(name), Some(dir)) = (file_name(&chain_name(chain)), dir()) {
        let _ = dir.remove(OsStr::new(&name));
        prune_once(dir);
    }
    nodes
}

/// Reads the chain file of `chain` and leaves it for its root: what the processes of the
/// run recorded so far, at most [`MAX_READ`].
pub(crate) fn read(chain: u64) -> Vec<Node> {
    let (Some(name), Some(dir)) = (file_name(&chain_name(chain)), dir()) else {
        return Vec::new();
    };
    let Ok(file) = dir.open_file(&name, Access::Read) else {
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
fn prune_once(dir: &PrivateDir) {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let Ok(names) = dir.names() else {
            return;
        };
        let now = SystemTime::now();
        for name in names {
            let old = dir.stat(&name).is_ok_and(|s| {
                s.is_file && now.duration_since(s.modified).is_ok_and(|age| age > STALE)
            });
            if old {
                let _ = dir.remove(&name);
            }
        }
    });
}
