//! Writing to the spool: a new file written atomically (a hidden temp file, then a
//! rename), and eviction of the oldest ready files (any partition) once the spool would grow
//! past its byte limit.

use std::fs;
use std::io;
use std::time::{Instant, SystemTime};

use super::file_name::Name;
use super::{FileInfo, SIZE_FRESH, STALE, Spool, SpoolError, Written, liveness};
use crate::platform::clock::wall_ms;
use crate::platform::owner_only::write_private;

impl Spool {
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
}
