//! A process's end of the chain file of the chain it inherited: its events appended as
//! whole lines, up to the file's bound ([`MAX_BYTES`]); past it they are only counted, and
//! the count is added to the file at the process's exit.

use std::fs::File;
use std::io;

use super::{MAX_BYTES, Node, Omitted, dir, file_name, prune_once};
use crate::platform::append;
use crate::platform::owner_only::Access;

#[derive(Debug)]
pub(crate) struct ChainWriter {
    /// The file's name; `None` when no root of ours reads this chain.
    name: Option<String>,
    file: Option<File>,
    buf: Vec<u8>,
    /// The file reached its bound: events are counted, not written.
    full: bool,
    /// Events left out past the bound, not yet counted in the file.
    omitted: usize,
    failed: bool,
}

impl ChainWriter {
    /// The writer for the inherited chain `chain` (its wire id).
    pub(crate) fn new(chain: &str) -> ChainWriter {
        ChainWriter {
            name: file_name(chain),
            file: None,
            buf: Vec::new(),
            full: false,
            omitted: 0,
            failed: false,
        }
    }

    pub(crate) fn push(&mut self, node: &Node) {
        if self.failed || self.name.is_none() {
            return;
        }
        if self.full {
            self.omitted += 1;
            return;
        }
        if serde_json::to_writer(&mut self.buf, node).is_ok() {
            self.buf.push(b'\n');
        }
        if append::is_full(&self.buf) {
            self.write();
        }
    }

    /// Appends the lines waiting, as many as the file's bound still allows.
    pub(crate) fn write(&mut self) {
        if self.buf.is_empty() || self.failed {
            return;
        }
        let buf = std::mem::take(&mut self.buf);
        let written = self.append_within_bound(&buf);
        self.buf = buf;
        self.buf.clear();
        if let Err(e) = written {
            self.fail(&e);
        }
    }

    /// At the process's exit: says in the file how many events were left out.
    pub(crate) fn finish(&mut self) {
        self.write();
        if self.omitted == 0 || self.failed {
            return;
        }
        let Ok(mut line) = serde_json::to_vec(&Omitted {
            count: self.omitted,
        }) else {
            return;
        };
        line.push(b'\n');
        let written = self.file().and_then(|f| append::write_lines(f, &line));
        match written {
            Ok(()) => self.omitted = 0,
            Err(e) => self.fail(&e),
        }
    }

    fn append_within_bound(&mut self, buf: &[u8]) -> io::Result<()> {
        let file = self.file()?;
        let room =
            usize::try_from(MAX_BYTES.saturating_sub(file.metadata()?.len())).unwrap_or(usize::MAX);
        let cut = whole_lines_within(buf, room);
        let written = append::write_lines(file, &buf[..cut]);
        if cut < buf.len() {
            self.full = true;
            self.omitted += buf[cut..].iter().filter(|&&b| b == b'\n').count();
        }
        written
    }

    /// The file, opened on first use (the directory pruned first).
    fn file(&mut self) -> io::Result<&mut File> {
        if self.file.is_none() {
            let (Some(name), Some(dir)) = (self.name.as_deref(), dir()) else {
                return Err(io::ErrorKind::NotFound.into());
            };
            prune_once(dir);
            self.file = Some(dir.open_file(name, Access::Append)?);
        }
        self.file
            .as_mut()
            .ok_or_else(|| io::ErrorKind::NotFound.into())
    }

    fn fail(&mut self, e: &io::Error) {
        self.failed = true;
        // Without the directory (said once already) there is nothing more to say.
        if let (Some(name), Some(dir)) = (self.name.as_deref(), dir()) {
            crate::log!(
                Warn,
                "cannot append to {} ({e}): the run's summary misses this process's events",
                dir.path().join(name).display()
            );
        }
    }
}

/// How much of `buf` (whole lines) fits in `room` bytes: all of it, or up to the end of
/// the last line that fits.
fn whole_lines_within(buf: &[u8], room: usize) -> usize {
    if buf.len() <= room {
        return buf.len();
    }
    buf[..room]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::whole_lines_within;

    #[test]
    fn only_whole_lines_fit() {
        assert_eq!(whole_lines_within(b"ab\ncd\n", 100), 6);
        assert_eq!(whole_lines_within(b"ab\ncd\n", 5), 3);
        assert_eq!(whole_lines_within(b"ab\ncd\n", 2), 0);
    }
}
