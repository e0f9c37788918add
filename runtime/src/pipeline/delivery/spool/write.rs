//! Writing to the spool: a new file written atomically (a hidden temp file, then a
//! rename), and eviction of the oldest ready files (any partition) once the spool would grow
//! past its byte limit.

use std::ffi::OsStr;
use std::io;
use std::time::{Instant, SystemTime};

use super::file_name::Name;
use super::{FileInfo, SIZE_FRESH, STALE, Spool, SpoolError, Written, liveness};
use crate::platform::clock::wall_ms;
use crate::platform::sort;

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
        let tmp = format!(".{name}.tmp");
        let write = |spool: &Spool| -> io::Result<()> {
            let dir = spool.dir.as_ref().ok_or(io::ErrorKind::NotFound)?;
            let written = dir
                .write_new(&tmp, body)
                .and_then(|()| dir.rename(&tmp, &name));
            if written.is_err() {
                let _ = dir.remove(OsStr::new(&tmp));
            }
            written
        };
        let mut written = write(self);
        if written
            .as_ref()
            .is_err_and(|e| e.kind() == io::ErrorKind::NotFound)
        {
            // Someone cleaned the cache directory while we ran: make it again, once.
            self.reopen()?;
            written = write(self);
        }
        if let Err(error) = written {
            return Err(SpoolError::Io {
                path: self.dir_path.join(&name),
                error,
            });
        }
        if let Some((size, _)) = self.size.as_mut() {
            *size += bytes;
        }
        self.evictable.push_back(FileInfo {
            part: self.partition.clone(),
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
            if self.remove(&f).is_ok() {
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
        sort::sort_by(&mut files, |a, b| a.name.cmp(&b.name));
        self.size = Some((total, now));
        self.evictable = files.into();
    }

    /// Removes `f`, in this partition or another.
    fn remove(&self, f: &FileInfo) -> io::Result<()> {
        let name = OsStr::new(&f.name);
        match (&self.dir, &self.root) {
            (Some(dir), _) if f.part == self.partition => dir.remove(name),
            (_, Some(root)) => root.existing_subdir(OsStr::new(&f.part))?.remove(name),
            _ => Err(io::ErrorKind::NotFound.into()),
        }
    }

    /// Every file of every partition, with stale temp files removed on the way.
    fn scan(&self) -> Vec<FileInfo> {
        let mut out = Vec::new();
        let Some(root) = &self.root else {
            return out;
        };
        liveness::sweep(root);
        let Ok(parts) = root.names() else {
            return out;
        };
        let now = SystemTime::now();
        for part in parts {
            if !root.stat(&part).is_ok_and(|s| s.is_dir) {
                continue;
            }
            let (Ok(dir), Some(part)) = (root.existing_subdir(&part), part.to_str()) else {
                continue;
            };
            let Ok(names) = dir.names() else {
                continue;
            };
            for name in names {
                let Some(name) = name.to_str() else { continue };
                let Some(kind) = Name::parse(name) else {
                    continue;
                };
                let Ok(stat) = dir.stat(OsStr::new(name)) else {
                    continue;
                };
                if kind.tmp {
                    let old = now
                        .duration_since(stat.modified)
                        .is_ok_and(|age| age > STALE);
                    if old {
                        let _ = dir.remove(OsStr::new(name));
                    }
                }
                out.push(FileInfo {
                    part: part.to_owned(),
                    bytes: stat.len,
                    events: kind.events,
                    ready: kind.ready,
                    name: name.to_owned(),
                });
            }
        }
        out
    }
}
