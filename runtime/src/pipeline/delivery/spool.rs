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

use std::collections::VecDeque;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use trunk_ci_analytics_rules::fnv1a64;

use super::liveness;
use crate::platform::clock::wall_ms;
use crate::platform::owner_only::{check_path, create_private_dir, write_private};

/// A claim or temp file older than this was left by a process that died.
const STALE: Duration = Duration::from_secs(10 * 60);
/// How long a measured spool size is trusted before the directory is listed again.
const SIZE_FRESH: Duration = Duration::from_secs(1);
/// How soon an empty partition is listed again for files other processes wrote; each empty
/// listing doubles the wait, up to [`RELIST_MAX`], so an idle process does not keep polling.
const RELIST_EMPTY: Duration = Duration::from_secs(1);
const RELIST_MAX: Duration = Duration::from_secs(32);

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
    path: PathBuf,
    /// The name it had (and gets back if released).
    pub(crate) name: String,
    pub(crate) events: usize,
}

#[derive(Debug)]
pub(crate) struct Spool {
    root: PathBuf,
    dir: PathBuf,
    limit: u64,
    tag: String,
    seq: u64,
    dir_ready: bool,
    size: Option<(u64, Instant)>,
    candidates: VecDeque<String>,
    listed_at: Option<Instant>,
    relist_after: Duration,
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
            dir: root.join(partition),
            root,
            limit,
            tag,
            seq: 0,
            dir_ready: false,
            size: None,
            candidates: VecDeque::new(),
            listed_at: None,
            relist_after: RELIST_EMPTY,
            evictable: VecDeque::new(),
            alive: None,
        }
    }

    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Creates the partition directory (0700) if needed.
    pub(crate) fn ensure_dir(&mut self) -> Result<(), SpoolError> {
        if self.dir_ready {
            return Ok(());
        }
        let io = |path: &Path| {
            let path = path.to_owned();
            move |error| SpoolError::Io { path, error }
        };
        create_private_dir(&self.dir).map_err(io(&self.dir))?;
        check_path(&self.dir).map_err(io(&self.dir))?;
        self.dir_ready = true;
        Ok(())
    }

    /// Writes `body` (a request body of `events` events) as a new spool file, evicting the
    /// oldest files if the spool would grow past its limit.
    pub(crate) fn write(&mut self, body: &[u8], events: usize) -> Result<Written, SpoolError> {
        let bytes = body.len() as u64;
        if bytes > self.limit {
            return Err(SpoolError::TooLarge {
                bytes,
                limit: self.limit,
            });
        }
        self.ensure_dir()?;
        let evicted = self.make_room(bytes);
        self.seq += 1;
        let name = format!(
            "{:013}-{}-{:06}-{events}.json",
            wall_ms(),
            self.tag,
            self.seq
        );
        let tmp = self.dir.join(format!(".{name}.tmp"));
        let path = self.dir.join(&name);
        let write = || write_private(&tmp, body).and_then(|()| fs::rename(&tmp, &path));
        let mut written = write();
        if written
            .as_ref()
            .is_err_and(|e| e.kind() == io::ErrorKind::NotFound)
        {
            // Someone cleaned the cache directory while we ran: make it again, once.
            self.dir_ready = false;
            self.ensure_dir()?;
            written = write();
        }
        if let Err(error) = written {
            let _ = fs::remove_file(&tmp);
            return Err(SpoolError::Io { path, error });
        }
        if let Some((size, _)) = self.size.as_mut() {
            *size += bytes;
        }
        self.evictable.push_back(FileInfo {
            path,
            name: name.clone(),
            bytes,
            events,
            ready: true,
        });
        // A later `claim_next` must see it without waiting for a relist.
        self.candidates.push_back(name.clone());
        Ok(Written { name, evicted })
    }

    /// Evicts the oldest ready files (any partition) until `incoming` more bytes fit; returns
    /// the files evicted.
    fn make_room(&mut self, incoming: u64) -> Vec<(String, usize)> {
        let now = Instant::now();
        let mut scanned = false;
        if self
            .size
            .is_none_or(|(_, at)| now.duration_since(at) >= SIZE_FRESH)
        {
            self.rescan(now);
            scanned = true;
        }
        let mut evicted = Vec::new();
        while let Some((size, _)) = self.size.filter(|(size, _)| size + incoming > self.limit) {
            let Some(f) = self.evictable.pop_front() else {
                // The estimate says full but nothing is known to evict: look once more.
                if scanned {
                    break;
                }
                self.rescan(now);
                scanned = true;
                continue;
            };
            // Gone already: claimed or evicted by another process.
            if fs::remove_file(&f.path).is_ok() {
                self.size = Some((size.saturating_sub(f.bytes), now));
                evicted.push((f.name, f.events));
            }
        }
        evicted
    }

    /// Measures the spool and lists its ready files, oldest first, as eviction candidates (a
    /// claimed file is being sent right now).
    fn rescan(&mut self, now: Instant) {
        let mut files = self.scan();
        let total = files.iter().map(|f| f.bytes).sum();
        files.retain(|f| f.ready);
        files.sort_by(|a, b| a.name.cmp(&b.name));
        self.size = Some((total, now));
        self.evictable = files.into();
    }

    /// Every file of every partition, with stale temp files removed on the way.
    fn scan(&self) -> Vec<FileInfo> {
        liveness::sweep(&self.root);
        let mut out = Vec::new();
        let Ok(parts) = fs::read_dir(&self.root) else {
            return out;
        };
        let now = SystemTime::now();
        for part in parts.flatten() {
            if !part.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let Ok(entries) = fs::read_dir(part.path()) else {
                continue;
            };
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                let Some(kind) = Name::parse(&name) else {
                    continue;
                };
                let Ok(meta) = e.metadata() else { continue };
                if kind.tmp {
                    let old = meta
                        .modified()
                        .ok()
                        .and_then(|m| now.duration_since(m).ok())
                        .is_some_and(|age| age > STALE);
                    if old {
                        let _ = fs::remove_file(e.path());
                    }
                }
                out.push(FileInfo {
                    path: e.path(),
                    bytes: meta.len(),
                    events: kind.events,
                    ready: kind.ready,
                    name,
                });
            }
        }
        out
    }

    /// Whether files may be waiting in this partition (without touching the disk when the
    /// last look found none, a little while ago).
    pub(crate) fn may_have_files(&self, now: Instant) -> bool {
        self.dir_ready && (!self.candidates.is_empty() || self.relist_due(now))
    }

    fn relist_due(&self, now: Instant) -> bool {
        self.listed_at
            .is_none_or(|at| now.duration_since(at) >= self.relist_after)
    }

    /// Makes the next look list the directory again (the process is about to exit: last
    /// chance to send what other processes left).
    pub(crate) fn relist_soon(&mut self) {
        self.listed_at = None;
        self.relist_after = RELIST_EMPTY;
    }

    /// Claims the oldest ready (or stale claimed) file of this partition.
    pub(crate) fn claim_next(&mut self, now: Instant) -> Option<Claimed> {
        if !self.dir_ready {
            return None;
        }
        for _ in 0..2 {
            while let Some(name) = self.candidates.pop_front() {
                if let Some(c) = self.claim(&name) {
                    return Some(c);
                }
            }
            if !self.relist_due(now) {
                return None;
            }
            self.list(now);
        }
        None
    }

    fn list(&mut self, now: Instant) {
        self.listed_at = Some(now);
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return;
        };
        let wall = wall_ms();
        let mut names: Vec<String> = entries
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let kind = Name::parse(&name)?;
                let aged = kind
                    .claimed_ms
                    .is_some_and(|ms| wall.saturating_sub(ms) > STALE.as_millis() as u64);
                let stale_claim = aged
                    || kind
                        .claimer
                        .is_some_and(|t| t != self.tag && liveness::is_dead(&self.root, t));
                (kind.ready || stale_claim).then_some(name)
            })
            .collect();
        names.sort();
        self.relist_after = if names.is_empty() {
            (self.relist_after * 2).min(RELIST_MAX)
        } else {
            RELIST_EMPTY
        };
        self.candidates = names.into();
    }

    fn claim(&mut self, name: &str) -> Option<Claimed> {
        let kind = Name::parse(name)?;
        if self.alive.is_none() {
            // Before the first claim exists, so no claim of ours ever looks abandoned.
            self.alive = Some(liveness::hold(&self.root, &self.tag));
        }
        let stem = kind.stem;
        let claimed = self
            .dir
            .join(format!("{stem}.claim-{}-{}", self.tag, wall_ms()));
        // The rename is the claim: if another process got there first, the source is gone.
        fs::rename(self.dir.join(name), &claimed).ok()?;
        Some(Claimed {
            path: claimed,
            name: format!("{stem}.json"),
            events: kind.events,
        })
    }

    pub(crate) fn read(&self, c: &Claimed) -> io::Result<Vec<u8>> {
        fs::read(&c.path)
    }

    /// The claimed file was delivered (or is unusable): remove it.
    pub(crate) fn finish(&mut self, c: Claimed) {
        if let Ok(meta) = fs::metadata(&c.path) {
            if let Some((size, _)) = self.size.as_mut() {
                *size = size.saturating_sub(meta.len());
            }
        }
        let _ = fs::remove_file(&c.path);
    }

    /// The claimed file could not be delivered now: make it ready again.
    pub(crate) fn release(&self, c: Claimed) {
        let _ = fs::rename(&c.path, self.dir.join(&c.name));
    }
}

#[derive(Debug)]
struct FileInfo {
    path: PathBuf,
    name: String,
    bytes: u64,
    events: usize,
    ready: bool,
}

/// What a spool file name says.
/// What a spool file's name says about it.
#[derive(Debug, PartialEq)]
pub(crate) struct Name<'a> {
    stem: &'a str,
    tag: &'a str,
    pub(crate) events: usize,
    /// Waiting to be sent (not claimed, not a temp file).
    pub(crate) ready: bool,
    pub(crate) tmp: bool,
    /// When a process claimed it for sending.
    pub(crate) claimed_ms: Option<u64>,
    /// The tag of the process that claimed it.
    pub(crate) claimer: Option<&'a str>,
}

impl<'a> Name<'a> {
    /// `None` for a name the spool does not write.
    pub(crate) fn parse(name: &'a str) -> Option<Name<'a>> {
        let (hidden, name) = match name.strip_prefix('.') {
            Some(rest) => (true, rest),
            None => (false, name),
        };
        let (stem, suffix) = name.split_once('.')?;
        let mut parts = stem.split('-');
        let (ms, tag, seq, events) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || ms.len() != 13 || ms.parse::<u64>().is_err() {
            return None;
        }
        seq.parse::<u64>().ok()?;
        let events = events.parse().ok()?;
        let (ready, tmp, claimed_ms, claimer) = match (hidden, suffix) {
            (false, "json") => (true, false, None, None),
            (true, "json.tmp") => (false, true, None, None),
            (false, claim) => {
                let rest = claim.strip_prefix("claim-")?;
                let (claimer, ms) = rest.rsplit_once('-')?;
                (false, false, Some(ms.parse().ok()?), Some(claimer))
            }
            _ => return None,
        };
        Some(Name {
            stem,
            tag,
            events,
            ready,
            tmp,
            claimed_ms,
            claimer,
        })
    }
}

/// The partition of a repository and endpoint: readable, and unique through a stable hash
/// (FNV-1a: the name must not change between Rust releases, unlike std's hasher).
pub(crate) fn partition(api_address: &str, repo: &crate::model::wire::Repo) -> String {
    let h =
        fnv1a64(format!("{api_address}\n{}/{}/{}", repo.host, repo.owner, repo.name).as_bytes());
    let readable: String = format!("{}.{}", repo.owner, repo.name)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(60)
        .collect();
    format!("{readable}-{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn names_parse() {
        let n = Name::parse("1700000000000-ab12-000001-500.json");
        assert_eq!(
            n,
            Some(Name {
                stem: "1700000000000-ab12-000001-500",
                tag: "ab12",
                events: 500,
                ready: true,
                tmp: false,
                claimed_ms: None,
                claimer: None,
            })
        );
        let c = Name::parse("1700000000000-ab12-000001-500.claim-cd34-1700000000123");
        assert_eq!(
            c.map(|c| (c.ready, c.claimed_ms, c.claimer)),
            Some((false, Some(1700000000123), Some("cd34")))
        );
        assert!(Name::parse(".1700000000000-ab12-000001-5.json.tmp").is_some_and(|n| n.tmp));
        assert!(Name::parse("breaker-0123").is_none());
        assert!(Name::parse("notes.txt").is_none());
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

    #[test]
    fn partitions_differ_by_repo_and_endpoint() {
        let repo = |o: &str| crate::model::wire::Repo {
            host: "github.com".into(),
            owner: o.into(),
            name: "r".into(),
        };
        let a = partition("https://api.trunk.io", &repo("o"));
        assert!(a.starts_with("o.r-"), "{a}");
        assert_ne!(a, partition("https://api.trunk.io", &repo("p")));
        assert_ne!(a, partition("http://127.0.0.1:1", &repo("o")));
        assert_eq!(a, partition("https://api.trunk.io", &repo("o")));
    }
}
