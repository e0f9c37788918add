//! Whole lines appended to a file several processes share, at a path the user chose
//! (`TRUNK_EVENTS_FILE`, `TRUNK_TRACE_FILE`).
//!
//! Each `write` goes to an `O_APPEND` descriptor and holds whole lines only, so lines of
//! concurrent writers never interleave or break; a line a full disk cut is blanked, so it
//! never joins the next writer's.
//!
//! The path may be in a directory everyone can write to (`/tmp`), where another user may
//! have planted a link or a file of their own at that name, or at the name of a temporary
//! file: there a link is never followed and another user's file is refused; temporary files
//! are made new (`O_EXCL`, which never follows a link) under names nobody can predict.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

/// Largest single `write`; whole lines only, so one huge batch does not become one syscall
/// that another process's lines must wait behind.
const CHUNK: usize = 64 * 1024;

/// Opens `path` for appending, creating it (and its directory) if needed, readable by the
/// owner only, like the spool: events name the repository's code paths and tags. (A file
/// that already exists keeps its mode.) In a directory everyone can write to, a link is not
/// followed and a file another user owns is refused.
pub(crate) fn open_append(path: &Path) -> io::Result<File> {
    if let Some(dir) = parent(path) {
        std::fs::create_dir_all(dir)?;
    }
    #[cfg(unix)]
    if let Some(file) = open_in_shared_dir(path)? {
        return Ok(file);
    }
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

fn parent(path: &Path) -> Option<&Path> {
    path.parent().filter(|d| !d.as_os_str().is_empty())
}

/// Opens `path` for appending if its directory is one everyone can write to: without
/// following a link, and only if this user owns the file. `None` for any other directory.
#[cfg(unix)]
fn open_in_shared_dir(path: &Path) -> io::Result<Option<File>> {
    use std::os::fd::AsFd;

    use crate::platform::sys;

    let Some(name) = path.file_name() else {
        return Ok(None);
    };
    let dir = File::open(parent(path).unwrap_or(Path::new(".")))?;
    let shared = sys::files::stat_fd(dir.as_fd())?.mode & 0o002 != 0;
    if !shared {
        return Ok(None);
    }
    let flags = libc::O_WRONLY | libc::O_APPEND | libc::O_CREAT;
    let file = File::from(sys::files::open_at(dir.as_fd(), name, flags, 0o600)?);
    let me = sys::user_id();
    let owner = sys::files::stat_fd(file.as_fd())?.uid;
    if owner != me {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "it belongs to user id {owner}, not to this user ({me}), in a directory \
                 everyone can write to"
            ),
        ));
    }
    Ok(Some(file))
}

/// Makes `path` holding `first` unless something is there already, all at once, so that no
/// reader ever sees the file without it: `first` goes into a new temporary file beside it
/// (0600, an unpredictable name), which is then linked into place, where a link fails if
/// another process got there first (then that one stays).
pub(crate) fn create_whole(path: &Path, first: &[u8]) -> io::Result<()> {
    if std::fs::symlink_metadata(path).is_ok() {
        return Ok(());
    }
    if let Some(dir) = parent(path) {
        std::fs::create_dir_all(dir)?;
    }
    let mut name = path.file_name().unwrap_or_default().to_owned();
    name.push(format!(".{:016x}.tmp", unpredictable()));
    let tmp = path.with_file_name(name);
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&tmp).and_then(|mut f| f.write_all(first));
    let linked = written.and_then(|()| std::fs::hard_link(&tmp, path));
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        other => other,
    }
}

/// 64 bits nobody else can guess: std's per-process random hash keys, over the time and a
/// counter.
fn unpredictable() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNT.fetch_add(1, Ordering::Relaxed));
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    h.finish()
}

/// Writes `buf` (whole lines) to `file` in writes of at most [`CHUNK`] bytes, each ending
/// at a line's end; each line is written whole or not at all ([`write_whole`]).
pub(crate) fn write_lines(file: &mut File, buf: &[u8]) -> io::Result<()> {
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
        write_whole(file, &rest[..cut])?;
        rest = &rest[cut..];
    }
    Ok(())
}

/// Appends `chunk` (whole lines). When the disk is full (or a file size limit is reached)
/// part way, the part of its last line that got written is blanked in place (spaces, then a
/// newline): it reads as an empty line, which JSON lines readers skip and JSON allows
/// between the trace's values, so no torn line is left for the next writer's line to join.
fn write_whole(file: &mut File, chunk: &[u8]) -> io::Result<()> {
    let mut written = 0;
    // Where in `chunk` the last write that wrote anything began.
    let mut last_start = 0;
    while written < chunk.len() {
        match file.write(&chunk[written..]) {
            Ok(0) => {
                blank_torn(file, chunk, last_start, written);
                return Err(io::ErrorKind::WriteZero.into());
            }
            Ok(n) => {
                last_start = written;
                written += n;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                blank_torn(file, chunk, last_start, written);
                return Err(e);
            }
        }
    }
    Ok(())
}

/// Blanks what was written of the last line of `chunk[..written]`, if it is not whole. The
/// file's position is the end of the last write (an append leaves it there), and the bytes
/// from `last_start` lie just before it, whatever other writers appended since.
fn blank_torn(file: &mut File, chunk: &[u8], last_start: usize, written: usize) {
    let line_start = chunk[..written]
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i + 1);
    let from = line_start.max(last_start);
    if from >= written {
        return;
    }
    let Ok(end) = io::Seek::stream_position(file) else {
        return;
    };
    let torn = written - from;
    let mut blank = vec![b' '; torn];
    blank[torn - 1] = b'\n';
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        let at = end.saturating_sub(torn as u64);
        let _ = crate::platform::sys::files::overwrite_at(file.as_fd(), &blank, at);
    }
    #[cfg(not(unix))]
    let _ = (end, blank);
}

/// Whether a pending buffer is large enough to write out before the hand-off catches up.
pub(crate) fn is_full(buf: &[u8]) -> bool {
    buf.len() >= CHUNK
}
