//! A first-in first-out queue of encoded records: in memory up to a byte bound, then in
//! one sequential file, read back in the order written.
//!
//! Records are kept in segments of whole records. The segment being written stays in
//! memory; a full one joins the queue in memory while the memory bound allows, else it is
//! appended to the file. Reading takes the oldest segment (from the file when it is a file
//! one). Once no segment remains in the file, the file is emptied.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;

use crate::platform::owner_only::{Access, PrivateDir};

/// Bytes per segment: large enough that a file segment is one cheap sequential write.
const SEGMENT: usize = 256 * 1024;

#[derive(Debug)]
enum Place {
    Memory(Vec<u8>),
    File { offset: u64, len: usize },
}

#[derive(Debug)]
struct Segment {
    place: Place,
    records: usize,
}

/// Where the file goes, and the bounds.
#[derive(Debug)]
pub(crate) struct Bounds {
    pub(crate) memory_bytes: usize,
    pub(crate) file_bytes: u64,
    /// The directory of the file; `None`: memory only.
    pub(crate) dir: Option<PathBuf>,
}

#[derive(Debug)]
pub(crate) struct Fifo {
    bounds: Bounds,
    /// The segment being read, and how far.
    front: Vec<u8>,
    read: usize,
    front_records: usize,
    queue: VecDeque<Segment>,
    /// The segment being written.
    tail: Vec<u8>,
    tail_records: usize,
    /// Bytes of the queue's memory segments and the tail.
    memory: usize,
    file: Option<File>,
    /// Where the next file segment goes; the file's live bytes end there.
    file_end: u64,
    /// The file could not be created or written: memory only from then on.
    file_failed: bool,
    /// Where the platform cannot unlink an open file: removed when the fifo goes.
    remove_on_drop: Option<PathBuf>,
    records: usize,
}

impl Drop for Fifo {
    fn drop(&mut self) {
        self.file = None;
        if let Some(path) = self.remove_on_drop.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

impl Fifo {
    pub(crate) fn new(bounds: Bounds) -> Fifo {
        Fifo {
            bounds,
            front: Vec::new(),
            read: 0,
            front_records: 0,
            queue: VecDeque::new(),
            tail: Vec::new(),
            tail_records: 0,
            memory: 0,
            file: None,
            file_end: 0,
            file_failed: false,
            remove_on_drop: None,
            records: 0,
        }
    }

    /// Records held.
    pub(crate) fn len(&self) -> usize {
        self.records
    }

    /// Whether no more can be taken: memory is at its bound and the file at its own (or
    /// unusable).
    pub(crate) fn full(&self) -> bool {
        self.memory >= self.bounds.memory_bytes
            && (self.file_failed
                || self.bounds.dir.is_none()
                || self.file_end + SEGMENT as u64 > self.bounds.file_bytes)
    }

    /// Appends one record, written by `write` into the buffer it is given.
    pub(crate) fn push(&mut self, write: impl FnOnce(&mut Vec<u8>)) {
        let before = self.tail.len();
        write(&mut self.tail);
        self.memory += self.tail.len() - before;
        self.tail_records += 1;
        self.records += 1;
        if self.tail.len() >= SEGMENT {
            self.seal_tail();
        }
    }

    fn seal_tail(&mut self) {
        let bytes = std::mem::replace(&mut self.tail, Vec::with_capacity(SEGMENT + 1024));
        let records = std::mem::take(&mut self.tail_records);
        let place = if self.memory > self.bounds.memory_bytes {
            match self.append_to_file(&bytes) {
                Some(offset) => {
                    self.memory -= bytes.len();
                    Place::File {
                        offset,
                        len: bytes.len(),
                    }
                }
                None => Place::Memory(bytes),
            }
        } else {
            Place::Memory(bytes)
        };
        self.queue.push_back(Segment { place, records });
    }

    /// Appends `bytes` to the file; its offset, or `None` if the file cannot take them.
    fn append_to_file(&mut self, bytes: &[u8]) -> Option<u64> {
        if self.file_failed || self.file_end + bytes.len() as u64 > self.bounds.file_bytes {
            return None;
        }
        let offset = self.file_end;
        let written = self.open().and_then(|f| {
            f.seek(SeekFrom::Start(offset))?;
            f.write_all(bytes)
        });
        match written {
            Ok(()) => {
                self.file_end += bytes.len() as u64;
                Some(offset)
            }
            Err(e) => {
                self.fail(&e);
                None
            }
        }
    }

    fn open(&mut self) -> std::io::Result<&mut File> {
        if let Some(ref mut f) = self.file {
            return Ok(f);
        }
        let Some(dir) = &self.bounds.dir else {
            return Err(std::io::ErrorKind::NotFound.into());
        };
        let dir = PrivateDir::open(dir)?;
        // Two fifos of one process (the background thread's overflow, the senders') may open
        // theirs in the same millisecond: a counter keeps the names apart.
        static OPENED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let name = format!(
            "overflow-{}-{:x}-{}.bin",
            std::process::id(),
            crate::platform::clock::wall_ms(),
            OPENED.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let file = dir.open_file(&name, Access::CreateNew)?;
        // Only this process reads it, through the open handle: unlinked at once where the
        // platform allows, so a crash leaves nothing behind.
        #[cfg(unix)]
        let _ = dir.remove(std::ffi::OsStr::new(&name));
        #[cfg(not(unix))]
        {
            self.remove_on_drop = Some(dir.path().join(&name));
        }
        Ok(self.file.insert(file))
    }

    fn fail(&mut self, e: &std::io::Error) {
        self.file_failed = true;
        crate::log_once!(
            Warn,
            "cannot write the overflow file ({e}); events recorded faster than they can be \
             sent are held in memory only, and dropped past its bound"
        );
    }

    /// Gives up to `max` records, oldest first, to `f` as bytes of whole records: `f`
    /// returns how many bytes and records it consumed. Returns the records given; records
    /// lost (a file segment that cannot be read back) are counted in `lost`.
    pub(crate) fn pop(
        &mut self,
        max: usize,
        lost: &mut u64,
        mut f: impl FnMut(&[u8], usize) -> (usize, usize),
    ) -> usize {
        let mut given = 0;
        while given < max && self.records > 0 {
            if self.front_records == 0 {
                if !self.next_front(lost) {
                    break;
                }
                continue;
            }
            let (bytes, records) = f(&self.front[self.read..], max - given);
            if records == 0 {
                // Bytes this fifo did not write: the segment's rest is lost.
                *lost += self.front_records as u64;
                self.records -= self.front_records;
                self.front_records = 0;
                self.memory -= self.front.len().min(self.memory);
                self.front.clear();
                self.read = 0;
                continue;
            }
            self.read += bytes;
            self.front_records -= records;
            self.records -= records;
            given += records;
            if self.front_records == 0 {
                // Read to its end: its memory is free (the buffer is kept for reuse).
                self.memory -= self.front.len().min(self.memory);
                self.front.clear();
                self.read = 0;
            }
        }
        given
    }

    /// Makes the oldest segment the one read; `false` when there is none.
    fn next_front(&mut self, lost: &mut u64) -> bool {
        let segment = match self.queue.pop_front() {
            Some(s) => s,
            None if self.tail_records > 0 => {
                let bytes = std::mem::take(&mut self.tail);
                Segment {
                    place: Place::Memory(bytes),
                    records: std::mem::take(&mut self.tail_records),
                }
            }
            None => return false,
        };
        let spent = std::mem::take(&mut self.front);
        self.memory -= spent.len().min(self.memory);
        self.read = 0;
        self.front_records = segment.records;
        match segment.place {
            Place::Memory(bytes) => self.front = bytes,
            Place::File { offset, len } => match self.read_file(offset, len, spent) {
                Ok(bytes) => {
                    self.memory += bytes.len();
                    self.front = bytes;
                }
                Err(e) => {
                    self.fail(&e);
                    *lost += segment.records as u64;
                    self.records -= segment.records;
                    self.front_records = 0;
                }
            },
        }
        if !self
            .queue
            .iter()
            .any(|s| matches!(s.place, Place::File { .. }))
            && self.file_end > 0
        {
            // Nothing left in the file: start it over.
            self.file_end = 0;
            if let Some(f) = &self.file {
                let _ = f.set_len(0);
            }
        }
        true
    }

    fn read_file(&mut self, offset: u64, len: usize, mut buf: Vec<u8>) -> std::io::Result<Vec<u8>> {
        let file = self.open()?;
        buf.clear();
        buf.resize(len, 0);
        file.seek(SeekFrom::Start(offset))?;
        file.read_exact(&mut buf)?;
        Ok(buf)
    }
}
