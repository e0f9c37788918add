//! The spool: undelivered batches on disk, for a later run (or later in this one) to send.
//!
//! Layout: `<root>/<partition>/<file>`. A partition holds the batches of one repository for one
//! endpoint, so a process only ever replays what its own token may send (a laptop working for
//! two organizations must not send one's events with the other's token). Each file is a ready
//! request body — repo and events, never the token — named
//! `<created ms>-<process tag>-<seq>-<events>.json`: names sort by age, and the event count
//! is known without reading the file.
//!
//! - Written atomically: a hidden temp file (mode 0600, in a 0700 directory), then a rename.
//! - Claimed atomically: a replaying process renames `X.json` to `X.claim-<tag>-<ms>`; of two
//!   processes racing for a file, exactly one rename succeeds. Delivered claims are deleted,
//!   failed ones renamed back. A claim whose process died ([`liveness`]: a lock the kernel
//!   drops with the process), or older than [`STALE`], may be claimed again.
//! - Bounded: past the byte limit (all partitions together) the oldest ready files are evicted
//!   and their events counted as dropped.
//!
//! Here the spool's state and its directory; writing and eviction in [`write`](mod@write),
//! claiming in [`claim`], the file names (which `diagnose` reads too) in [`file_name`].

mod claim;
pub(crate) mod file_name;
mod liveness;
mod write;

use std::collections::VecDeque;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::platform::owner_only::PrivateDir;

/// A claim or temp file older than this was left by a process that died.
const STALE: Duration = Duration::from_secs(10 * 60);
/// How long a measured spool size is trusted before the directory is listed again.
const SIZE_FRESH: Duration = Duration::from_secs(1);
/// How soon an empty partition is listed again for files other processes wrote; each empty
/// listing doubles the wait, up to [`RELIST_MAX`], so an idle process does not keep polling.
const RELIST_EMPTY: Duration = Duration::from_secs(1);
const RELIST_MAX: Duration = Duration::from_secs(32);
/// How soon a process that sends lists its partition again, however often it found it
/// empty: the processes under it hand their events over as files there (`config::delivery`).
pub(crate) const RELIST_SENDING: Duration = Duration::from_millis(500);

/// Why a batch could not be spooled.
#[derive(Debug)]
pub(crate) enum SpoolError {
    /// The batch alone is larger than the whole spool may be.
    TooLarge { bytes: u64, limit: u64 },
    /// The directory or file could not be written.
    Io { path: PathBuf, error: io::Error },
}

impl std::fmt::Display for SpoolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SpoolError::TooLarge { bytes, limit } => write!(
                f,
                "a batch of {bytes} bytes does not fit in the spool's {limit}-byte limit"
            ),
            SpoolError::Io { path, error } => write!(f, "cannot write {}: {error}", path.display()),
        }
    }
}

/// A file written to the spool.
#[derive(Debug)]
pub(crate) struct Written {
    /// Its name, to recognize it if this process replays it.
    pub(crate) name: String,
    /// Older files evicted to make room (their events are dropped): name and event count.
    pub(crate) evicted: Vec<(String, usize)>,
}

/// A spool file this process claimed for replay.
#[derive(Debug)]
pub(crate) struct Claimed {
    /// Its name while claimed.
    claim: String,
    /// The name it had (and gets back if released).
    pub(crate) name: String,
    pub(crate) events: usize,
}

#[derive(Debug)]
pub(crate) struct Spool {
    root_path: PathBuf,
    partition: String,
    /// The partition's path, for messages.
    dir_path: PathBuf,
    /// The root, opened once (shared with the breaker); `None` until [`Spool::ensure_dir`].
    root: Option<Arc<PrivateDir>>,
    /// The partition, opened once; `None` until [`Spool::ensure_dir`].
    dir: Option<PrivateDir>,
    limit: u64,
    tag: String,
    seq: u64,
    size: Option<(u64, Instant)>,
    candidates: VecDeque<String>,
    listed_at: Option<Instant>,
    relist_after: Duration,
    /// The longest `relist_after` grows to.
    relist_max: Duration,
    /// Ready files, oldest first, known from the last scan or written since.
    evictable: VecDeque<FileInfo>,
    /// This process's liveness lock, taken at its first claim (`None` before, or if it
    /// cannot be taken).
    alive: Option<Option<liveness::Alive>>,
}

impl Spool {
    /// A spool under `root`, partition `partition`, holding at most `limit` bytes; `tag`
    /// names this process's files.
    pub(crate) fn new(root: PathBuf, partition: &str, limit: u64, tag: String) -> Spool {
        Spool {
            dir_path: root.join(partition),
            root_path: root,
            partition: partition.to_owned(),
            root: None,
            dir: None,
            limit,
            tag,
            seq: 0,
            size: None,
            candidates: VecDeque::new(),
            listed_at: None,
            relist_after: RELIST_EMPTY,
            relist_max: RELIST_MAX,
            evictable: VecDeque::new(),
            alive: None,
        }
    }

    /// Lists the partition at least every [`RELIST_SENDING`]: this process is the run's
    /// uploader, and the processes under it hand their events over here.
    pub(crate) fn watch_for_children(&mut self) {
        self.relist_max = RELIST_SENDING;
        self.relist_after = self.relist_after.min(RELIST_SENDING);
    }

    /// The root directory, once opened: the breaker keeps its marker there.
    pub(crate) fn root(&self) -> Option<Arc<PrivateDir>> {
        self.root.clone()
    }

    /// The partition's path, for messages.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir_path
    }

    /// Opens the root and the partition directory (0700, made if needed), once: every
    /// later file operation is relative to them.
    pub(crate) fn ensure_dir(&mut self) -> Result<(), SpoolError> {
        if self.dir.is_some() {
            return Ok(());
        }
        let io = |path: &Path| {
            let path = path.to_owned();
            move |error| SpoolError::Io { path, error }
        };
        let root = match &self.root {
            Some(root) => Arc::clone(root),
            None => Arc::new(PrivateDir::open(&self.root_path).map_err(io(&self.root_path))?),
        };
        let dir = root.subdir(&self.partition).map_err(io(&self.dir_path))?;
        self.root = Some(root);
        self.dir = Some(dir);
        Ok(())
    }

    /// Forgets the directories, so that the next [`Spool::ensure_dir`] opens (and makes)
    /// them again by path: someone removed them.
    fn reopen(&mut self) -> Result<(), SpoolError> {
        self.dir = None;
        self.root = None;
        self.ensure_dir()
    }
}

#[derive(Debug)]
struct FileInfo {
    /// Its partition.
    part: String,
    name: String,
    bytes: u64,
    events: usize,
    ready: bool,
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::platform::clock::wall_ms;

    struct TempDir(PathBuf);
    impl TempDir {
        fn new(label: &str) -> TempDir {
            let p = std::env::temp_dir().join(format!(
                "tca-spool-{label}-{}-{}",
                std::process::id(),
                wall_ms()
            ));
            TempDir(p)
        }
    }
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn write_claim_release_finish() {
        let tmp = TempDir::new("cycle");
        let mut a = Spool::new(tmp.0.clone(), "p", 1 << 20, "aaaa".into());
        let mut b = Spool::new(tmp.0.clone(), "p", 1 << 20, "bbbb".into());
        let w = a
            .write(b"{\"repo\":{},\"events\":[1,2]}", 2)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(w.name.contains("-aaaa-"));
        b.ensure_dir().unwrap_or_else(|e| panic!("{e}"));

        let now = Instant::now();
        let c = b.claim_next(now).unwrap_or_else(|| panic!("b claims"));
        assert_eq!(c.events, 2);
        // Claimed: nobody else can take it.
        assert!(a.claim_next(now).is_none());
        assert_eq!(
            b.read(&c).unwrap_or_default(),
            b"{\"repo\":{},\"events\":[1,2]}"
        );
        b.release(c);
        // An empty look makes the next one wait longer, unless asked.
        assert!(!a.may_have_files(now + RELIST_EMPTY));
        a.relist_soon();
        let c = a
            .claim_next(now + RELIST_EMPTY)
            .unwrap_or_else(|| panic!("released file is claimable again"));
        a.finish(c);
        assert!(a.claim_next(now + RELIST_MAX).is_none());
        let left: Vec<_> = fs::read_dir(a.dir())
            .map(|d| d.count())
            .into_iter()
            .collect();
        assert_eq!(left, [0]);
    }

    #[cfg(unix)]
    #[test]
    fn files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = TempDir::new("mode");
        let mut s = Spool::new(tmp.0.clone(), "p", 1 << 20, "aaaa".into());
        let w = s.write(b"{}", 0).unwrap_or_else(|e| panic!("{e}"));
        let mode = |p: &Path| fs::metadata(p).map(|m| m.permissions().mode() & 0o777).ok();
        assert_eq!(mode(&s.dir().join(&w.name)), Some(0o600));
        assert_eq!(mode(s.dir()), Some(0o700));
    }

    #[test]
    fn the_oldest_files_are_evicted_past_the_limit() {
        let tmp = TempDir::new("evict");
        let body = vec![b'x'; 400];
        let mut s = Spool::new(tmp.0.clone(), "p", 1000, "aaaa".into());
        let first = s.write(&body, 4).unwrap_or_else(|e| panic!("{e}"));
        std::thread::sleep(Duration::from_millis(2));
        let second = s.write(&body, 5).unwrap_or_else(|e| panic!("{e}"));
        assert!(second.evicted.is_empty());
        std::thread::sleep(Duration::from_millis(2));
        let third = s.write(&body, 6).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            third.evicted,
            [(first.name.clone(), 4)],
            "the oldest file goes"
        );
        assert!(!s.dir().join(&first.name).exists());
        assert!(s.dir().join(&second.name).exists());
        assert!(matches!(
            s.write(&vec![b'x'; 1001], 1),
            Err(SpoolError::TooLarge { .. })
        ));
    }

    #[test]
    fn a_removed_directory_is_made_again() {
        let tmp = TempDir::new("removed");
        let mut s = Spool::new(tmp.0.clone(), "p", 1 << 20, "aaaa".into());
        s.write(b"{}", 0).unwrap_or_else(|e| panic!("{e}"));
        fs::remove_dir_all(&tmp.0).unwrap_or_else(|e| panic!("{e}"));
        let w = s.write(b"{}", 0).unwrap_or_else(|e| panic!("{e}"));
        assert!(s.dir().join(w.name).exists());
    }

    #[test]
    fn stale_claims_are_claimable_again() {
        let tmp = TempDir::new("stale");
        let mut s = Spool::new(tmp.0.clone(), "p", 1 << 20, "aaaa".into());
        s.ensure_dir().unwrap_or_else(|e| panic!("{e}"));
        let old = wall_ms() - STALE.as_millis() as u64 - 1000;
        let fresh = wall_ms();
        for (name, _) in [
            (format!("1700000000000-dead-000001-3.claim-dead-{old}"), 0),
            (format!("1700000000001-live-000001-4.claim-live-{fresh}"), 0),
        ] {
            fs::write(s.dir().join(name), b"{}").unwrap_or_else(|e| panic!("{e}"));
        }
        let c = s
            .claim_next(Instant::now())
            .unwrap_or_else(|| panic!("stale claim"));
        assert_eq!(c.events, 3);
        assert!(s.claim_next(Instant::now()).is_none(), "a live claim stays");
    }
}
