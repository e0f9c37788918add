//! Directories and the files in them by descriptor (`openat` and its family): a directory
//! opened once is the one every later call acts in, whatever its path points to by then.
//! No call here follows a symbolic link in the name it is given.

use std::ffi::{CStr, CString, OsStr, OsString};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::time::{Duration, SystemTime};

/// What `fstatat` says about an entry, without following a link.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Entry {
    pub(crate) uid: u32,
    /// Permission bits and the sticky bit (`mode & 0o7777`).
    pub(crate) mode: u32,
    pub(crate) kind: Kind,
    pub(crate) len: u64,
    pub(crate) modified: SystemTime,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Dir,
    File,
    Link,
    Other,
}

/// `name` for the C calls: one plain entry of a directory, never a path.
fn c_name(name: &OsStr) -> io::Result<CString> {
    let bytes = name.as_bytes();
    if bytes.is_empty() || bytes == b"." || bytes == b".." || bytes.contains(&b'/') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("`{}` is not a plain file name", name.to_string_lossy()),
        ));
    }
    CString::new(bytes).map_err(|_| io::ErrorKind::InvalidInput.into())
}

fn check(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

/// Opens the filesystem root as a directory.
pub(crate) fn open_root() -> io::Result<OwnedFd> {
    open_raw(libc::AT_FDCWD, c"/", dir_flags(), 0)
}

/// Opens the directory `name` in `dir`; a link there is not followed (`ELOOP` or, on some
/// systems, `ENOTDIR`).
pub(crate) fn open_dir_at(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<OwnedFd> {
    open_raw(dir.as_raw_fd(), &c_name(name)?, dir_flags(), 0)
}

fn dir_flags() -> libc::c_int {
    libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC
}

/// Opens the file `name` in `dir` with `flags` (`O_RDONLY`, `O_CREAT | O_EXCL`, …) and, if
/// it is made, `mode`; never through a link.
pub(crate) fn open_at(
    dir: BorrowedFd<'_>,
    name: &OsStr,
    flags: libc::c_int,
    mode: u32,
) -> io::Result<OwnedFd> {
    open_raw(
        dir.as_raw_fd(),
        &c_name(name)?,
        flags | libc::O_NOFOLLOW | libc::O_CLOEXEC,
        mode,
    )
}

fn open_raw(dir: libc::c_int, name: &CStr, flags: libc::c_int, mode: u32) -> io::Result<OwnedFd> {
    loop {
        // SAFETY: `name` is a NUL-terminated string that lives across the call; `dir` is
        // an open directory or AT_FDCWD; the mode is passed as the variadic `mode_t`.
        let fd = unsafe { libc::openat(dir, name.as_ptr(), flags, mode as libc::c_uint) };
        if fd >= 0 {
            // SAFETY: `openat` just returned this descriptor; nothing else owns it.
            return Ok(unsafe { OwnedFd::from_raw_fd(fd) });
        }
        let error = io::Error::last_os_error();
        if error.kind() != io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
}

/// Makes `name` in `dir` a symbolic link to `target`.
#[cfg(feature = "cargo")]
pub(crate) fn symlink_at(dir: BorrowedFd<'_>, name: &OsStr, target: &OsStr) -> io::Result<()> {
    let name = c_name(name)?;
    let target = CString::new(target.as_bytes()).map_err(|_| io::ErrorKind::InvalidInput)?;
    // SAFETY: both strings are NUL-terminated and live across the call; `dir` is open.
    check(unsafe { libc::symlinkat(target.as_ptr(), dir.as_raw_fd(), name.as_ptr()) }).map(drop)
}

/// Makes the directory `name` in `dir` with `mode` (less the umask).
pub(crate) fn mkdir_at(dir: BorrowedFd<'_>, name: &OsStr, mode: u32) -> io::Result<()> {
    let name = c_name(name)?;
    // SAFETY: `name` is NUL-terminated and lives across the call; `dir` is open.
    check(unsafe { libc::mkdirat(dir.as_raw_fd(), name.as_ptr(), mode as libc::mode_t) }).map(drop)
}

/// The entry `name` of `dir` as it is (a link is described, not followed).
pub(crate) fn stat_at(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<Entry> {
    let name = c_name(name)?;
    // SAFETY: a zeroed `stat` is a valid buffer for fstatat to fill; `name` is
    // NUL-terminated and lives across the call.
    let st = unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        check(libc::fstatat(
            dir.as_raw_fd(),
            name.as_ptr(),
            &mut st,
            libc::AT_SYMLINK_NOFOLLOW,
        ))?;
        st
    };
    Ok(entry(&st))
}

/// What `fd` is (the object it refers to, whatever its path is now).
pub(crate) fn stat_fd(fd: BorrowedFd<'_>) -> io::Result<Entry> {
    // SAFETY: a zeroed `stat` is a valid buffer for fstat to fill; `fd` is open.
    let st = unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        check(libc::fstat(fd.as_raw_fd(), &mut st))?;
        st
    };
    Ok(entry(&st))
}

// `st_mode` is a `u32` here, a `u16` on macOS.
#[allow(clippy::useless_conversion)]
fn entry(st: &libc::stat) -> Entry {
    let kind = match st.st_mode & libc::S_IFMT {
        libc::S_IFDIR => Kind::Dir,
        libc::S_IFREG => Kind::File,
        libc::S_IFLNK => Kind::Link,
        _ => Kind::Other,
    };
    let secs = u64::try_from(st.st_mtime).unwrap_or(0);
    let nanos = u32::try_from(st.st_mtime_nsec)
        .unwrap_or(0)
        .min(999_999_999);
    Entry {
        uid: st.st_uid,
        mode: u32::from(st.st_mode) & 0o7777,
        kind,
        len: u64::try_from(st.st_size).unwrap_or(0),
        modified: SystemTime::UNIX_EPOCH + Duration::new(secs, nanos),
    }
}

/// What the link `name` in `dir` points to.
pub(crate) fn read_link_at(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<OsString> {
    let name = c_name(name)?;
    let mut buf = vec![0u8; libc::PATH_MAX as usize + 1];
    // SAFETY: `buf` has room for `buf.len()` bytes; `name` is NUL-terminated.
    let n = unsafe {
        libc::readlinkat(
            dir.as_raw_fd(),
            name.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    let n = usize::try_from(n).map_err(|_| io::Error::last_os_error())?;
    if n >= buf.len() {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "link too long"));
    }
    buf.truncate(n);
    Ok(OsString::from_vec(buf))
}

/// Removes the file (or, with `dir_entry`, the empty directory) `name` of `dir`.
pub(crate) fn unlink_at(dir: BorrowedFd<'_>, name: &OsStr, dir_entry: bool) -> io::Result<()> {
    let name = c_name(name)?;
    let flags = if dir_entry { libc::AT_REMOVEDIR } else { 0 };
    // SAFETY: `name` is NUL-terminated and lives across the call; `dir` is open.
    check(unsafe { libc::unlinkat(dir.as_raw_fd(), name.as_ptr(), flags) }).map(drop)
}

/// Renames `from` to `to`, both in `dir` (replacing `to` if it exists).
pub(crate) fn rename_at(dir: BorrowedFd<'_>, from: &OsStr, to: &OsStr) -> io::Result<()> {
    let (from, to) = (c_name(from)?, c_name(to)?);
    let fd = dir.as_raw_fd();
    // SAFETY: both names are NUL-terminated and live across the call; `dir` is open.
    check(unsafe { libc::renameat(fd, from.as_ptr(), fd, to.as_ptr()) }).map(drop)
}

/// The names in `dir` (not `.` and `..`).
pub(crate) fn list(dir: BorrowedFd<'_>) -> io::Result<Vec<OsString>> {
    // A copy of the descriptor for the stream to own (closedir closes it), with its own
    // position, so listing twice starts at the beginning each time.
    let own = open_raw(dir.as_raw_fd(), c".", dir_flags(), 0)?.into_raw_fd();
    // SAFETY: `own` is an open directory descriptor; on success the stream owns it.
    let stream = unsafe { libc::fdopendir(own) };
    if stream.is_null() {
        let error = io::Error::last_os_error();
        // SAFETY: the stream did not take `own`: it is still ours, and closed here.
        drop(unsafe { OwnedFd::from_raw_fd(own) });
        return Err(error);
    }
    let mut names = Vec::new();
    loop {
        // SAFETY: `stream` is an open stream used by this thread alone; the entry it
        // returns is valid until the next call, and its name is read before that.
        let entry = unsafe { libc::readdir(stream) };
        if entry.is_null() {
            break;
        }
        // SAFETY: `d_name` of a returned entry is a NUL-terminated string.
        let name = unsafe { CStr::from_ptr((*entry).d_name.as_ptr()) };
        let bytes = name.to_bytes();
        if bytes != b"." && bytes != b".." {
            names.push(OsStr::from_bytes(bytes).to_owned());
        }
    }
    // SAFETY: `stream` is open and closed once, here (with the descriptor it owns).
    unsafe { libc::closedir(stream) };
    Ok(names)
}
/// Rewrites `bytes` at `offset` of the file `fd` even if it was opened to append (where a
/// positioned write would append instead), then puts the append mode back.
pub(crate) fn overwrite_at(fd: BorrowedFd<'_>, bytes: &[u8], offset: u64) -> io::Result<()> {
    let raw = fd.as_raw_fd();
    let offset = libc::off_t::try_from(offset)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "offset"))?;
    // SAFETY: `fcntl` reads and sets the descriptor's status flags; `pwrite` reads
    // `bytes.len()` bytes from a live slice.
    unsafe {
        let flags = check(libc::fcntl(raw, libc::F_GETFL))?;
        check(libc::fcntl(raw, libc::F_SETFL, flags & !libc::O_APPEND))?;
        let written = libc::pwrite(raw, bytes.as_ptr().cast(), bytes.len(), offset);
        let error = io::Error::last_os_error();
        libc::fcntl(raw, libc::F_SETFL, flags);
        if usize::try_from(written).ok() != Some(bytes.len()) {
            return Err(if written < 0 {
                error
            } else {
                io::ErrorKind::WriteZero.into()
            });
        }
    }
    Ok(())
}
