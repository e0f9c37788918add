//! Appending whole lines to a file several processes share.
//!
//! Each `write` goes to an `O_APPEND` descriptor and holds whole lines only, so lines of
//! concurrent writers never interleave or break.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;

/// Largest single `write`; whole lines only, so one huge batch does not become one syscall
/// that another process's lines must wait behind.
const CHUNK: usize = 64 * 1024;

/// Opens `path` for appending, creating it (and its directory) if needed, readable by the
/// owner only, like the spool: events name the repository's code paths and tags. (A file
/// that already exists keeps its mode.)
pub(crate) fn open_append(path: &Path) -> std::io::Result<File> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// Writes `buf` (whole lines) to `file` in writes of at most [`CHUNK`] bytes, each ending
/// at a line's end.
pub(crate) fn write_lines(file: &mut File, buf: &[u8]) -> std::io::Result<()> {
    let mut rest = buf;
    while !rest.is_empty() {
        let cut = if rest.len() <= CHUNK {
            rest.len()
        } else {
            // End the chunk after the last newline within it (or the first line's end).
            match rest[..CHUNK].iter().rposition(|b| *b == b'\n') {
                Some(i) => i + 1,
                None => rest
                    .iter()
                    .position(|b| *b == b'\n')
                    .map_or(rest.len(), |i| i + 1),
            }
        };
        file.write_all(&rest[..cut])?;
        rest = &rest[cut..];
    }
    Ok(())
}

/// Whether a pending buffer is large enough to write out before the hand-off catches up.
pub(crate) fn is_full(buf: &[u8]) -> bool {
    buf.len() >= CHUNK
}
