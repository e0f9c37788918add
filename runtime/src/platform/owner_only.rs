//! Directories only this user can change, and the files in them: spool files are request
//! bodies that a later run sends with its token, chain files feed the summary, so nobody else
//! may read them, nor plant, swap or redirect one.
//!
//! A [`PrivateDir`] is opened once, by descriptor, one path component at a time from the
//! filesystem root without following a link it was not sure of, and checked on what was
//! opened; every later open, listing, rename and removal is relative to that descriptor, so
//! a link planted on the path afterwards changes nothing (`/tmp/trunk-ci-analytics-<uid>`
//! replaced by a link to someone's home, say). Files in it are opened without following
//! links, and made owner-only (0600).
//!
//! The rules, checked on each opened directory: every directory on the way belongs to this
//! user or to root, and is not writable by others unless sticky (as `/tmp`, where nobody can
//! rename or remove another user's entries); a link on the way is followed only if this user
//! or root made it (`/var` → `/private/var` on macOS, a home's `.cache` on a bigger disk);
//! the directory itself belongs to this user, and nobody else can write to it.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

#[cfg(unix)]
use crate::platform::sys;

/// How [`PrivateDir::open_file`] opens a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Access {
    /// Reading an existing file.
    Read,
    /// Appending, creating it (0600) if missing.
    Append,
    /// Reading and writing a file that must not exist yet (made 0600).
    CreateNew,
    /// Reading and writing, creating it (0600) if missing; never truncated.
    ReadWrite,
}

/// What a directory entry is, as [`PrivateDir::stat`] sees it (a link is not followed).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Stat {
    pub(crate) is_dir: bool,
    pub(crate) is_file: bool,
    pub(crate) len: u64,
    pub(crate) modified: std::time::SystemTime,
}

/// A directory only this user can change, held open (see the module's rules).
#[derive(Debug)]
pub(crate) struct PrivateDir {
    #[cfg(unix)]
    fd: std::os::fd::OwnedFd,
    path: PathBuf,
}

/// Most links followed while opening one path, as the kernel allows.
#[cfg(unix)]
const MAX_LINKS: usize = 40;

impl PrivateDir {
    /// Opens the directory at `path`, making it and its missing parents (0700), under the
    /// module's rules.
    pub(crate) fn open(path: &Path) -> io::Result<PrivateDir> {
        #[cfg(unix)]
        {
            walk(path, true)
        }
        #[cfg(not(unix))]
        {
            std::fs::create_dir_all(path)?;
            Ok(PrivateDir {
                path: path.to_owned(),
            })
        }
    }

    /// Opens the directory at `path` if it exists, under the module's rules; makes nothing.
    // Only cargo recording's run directories need it.
    #[cfg(feature = "cargo")]
    pub(crate) fn open_existing(path: &Path) -> io::Result<PrivateDir> {
        #[cfg(unix)]
        {
            walk(path, false)
        }
        #[cfg(not(unix))]
        {
            if !path.is_dir() {
                return Err(io::ErrorKind::NotFound.into());
            }
            Ok(PrivateDir {
                path: path.to_owned(),
            })
        }
    }

    /// Its subdirectory `name`, made (0700) if missing, under the same rules.
    pub(crate) fn subdir(&self, name: &str) -> io::Result<PrivateDir> {
        self.child_dir(OsStr::new(name), true)
    }

    /// Its subdirectory `name` if it exists.
    pub(crate) fn existing_subdir(&self, name: &OsStr) -> io::Result<PrivateDir> {
        self.child_dir(name, false)
    }

    fn child_dir(&self, name: &OsStr, create: bool) -> io::Result<PrivateDir> {
        let path = self.path.join(name);
        #[cfg(unix)]
        {
            use std::os::fd::AsFd;
            let fd = open_or_make(self.fd.as_fd(), name, create, &path)?;
            held_private(&fd, &path)?;
            Ok(PrivateDir { fd, path })
        }
        #[cfg(not(unix))]
        {
            if create {
                std::fs::create_dir_all(&path)?;
            } else if !path.is_dir() {
                return Err(io::ErrorKind::NotFound.into());
            }
            Ok(PrivateDir { path })
        }
    }

    /// Its path, for messages (what it pointed to when it was opened).
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Opens the file `name` in it, never through a link.
    pub(crate) fn open_file(&self, name: &str, access: Access) -> io::Result<File> {
        #[cfg(unix)]
        {
            use std::os::fd::AsFd;
            let flags = match access {
                Access::Read => libc::O_RDONLY,
                Access::Append => libc::O_WRONLY | libc::O_APPEND | libc::O_CREAT,
                Access::CreateNew => libc::O_RDWR | libc::O_CREAT | libc::O_EXCL,
                Access::ReadWrite => libc::O_RDWR | libc::O_CREAT,
            };
            sys::files::open_at(self.fd.as_fd(), OsStr::new(name), flags, 0o600).map(File::from)
        }
        #[cfg(not(unix))]
        {
            let mut options = std::fs::OpenOptions::new();
            match access {
                Access::Read => options.read(true),
                Access::Append => options.append(true).create(true),
                Access::CreateNew => options.read(true).write(true).create_new(true),
                Access::ReadWrite => options.read(true).write(true).create(true),
            };
            options.open(self.path.join(name))
        }
    }

    /// Writes a new file `name` (0600) holding `body`; fails if it exists.
    pub(crate) fn write_new(&self, name: &str, body: &[u8]) -> io::Result<()> {
        self.open_file(name, Access::CreateNew)?.write_all(body)
    }

    /// The whole of file `name`.
    pub(crate) fn read(&self, name: &str) -> io::Result<Vec<u8>> {
        let mut body = Vec::new();
        self.open_file(name, Access::Read)?.read_to_end(&mut body)?;
        Ok(body)
    }

    /// The names of its entries.
    pub(crate) fn names(&self) -> io::Result<Vec<OsString>> {
        #[cfg(unix)]
        {
            use std::os::fd::AsFd;
            sys::files::list(self.fd.as_fd())
        }
        #[cfg(not(unix))]
        {
            std::fs::read_dir(&self.path)?
                .map(|e| e.map(|e| e.file_name()))
                .collect()
        }
    }

    /// What the entry `name` is (a link is not followed).
    pub(crate) fn stat(&self, name: &OsStr) -> io::Result<Stat> {
        #[cfg(unix)]
        {
            use std::os::fd::AsFd;
            let e = sys::files::stat_at(self.fd.as_fd(), name)?;
            Ok(Stat {
                is_dir: e.kind == sys::files::Kind::Dir,
                is_file: e.kind == sys::files::Kind::File,
                len: e.len,
                modified: e.modified,
            })
        }
        #[cfg(not(unix))]
        {
            let meta = std::fs::symlink_metadata(self.path.join(name))?;
            Ok(Stat {
                is_dir: meta.is_dir(),
                is_file: meta.is_file(),
                len: meta.len(),
                modified: meta.modified()?,
            })
        }
    }

    /// Removes the file `name`.
    pub(crate) fn remove(&self, name: &OsStr) -> io::Result<()> {
        #[cfg(unix)]
        {
            use std::os::fd::AsFd;
            sys::files::unlink_at(self.fd.as_fd(), name, false)
        }
        #[cfg(not(unix))]
        {
            std::fs::remove_file(self.path.join(name))
        }
    }

    /// Removes its subdirectory `name`, which must be empty.
    // Only cargo recording's run directories need it.
    #[cfg(feature = "cargo")]
    pub(crate) fn remove_subdir(&self, name: &OsStr) -> io::Result<()> {
        #[cfg(unix)]
        {
            use std::os::fd::AsFd;
            sys::files::unlink_at(self.fd.as_fd(), name, true)
        }
        #[cfg(not(unix))]
        {
            std::fs::remove_dir(self.path.join(name))
        }
    }

    /// Makes `name` in it a symbolic link to `target` (for a program started through the
    /// link, its name says what it is).
    // Only cargo recording's run directories need it.
    #[cfg(feature = "cargo")]
    pub(crate) fn symlink(&self, name: &str, target: &Path) -> io::Result<()> {
        #[cfg(unix)]
        {
            use std::os::fd::AsFd;
            sys::files::symlink_at(self.fd.as_fd(), OsStr::new(name), target.as_os_str())
        }
        #[cfg(not(unix))]
        {
            let _ = (name, target);
            Err(io::ErrorKind::Unsupported.into())
        }
    }

    /// Renames its entry `from` to `to` (replacing `to`).
    pub(crate) fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        #[cfg(unix)]
        {
            use std::os::fd::AsFd;
            sys::files::rename_at(self.fd.as_fd(), OsStr::new(from), OsStr::new(to))
        }
        #[cfg(not(unix))]
        {
            std::fs::rename(self.path.join(from), self.path.join(to))
        }
    }
}

/// Opens `path` one component at a time from the root (see the module's rules); with
/// `create`, makes the missing directories (0700).
#[cfg(unix)]
fn walk(path: &Path, create: bool) -> io::Result<PrivateDir> {
    use std::collections::VecDeque;
    use std::os::fd::{AsFd, OwnedFd};
    use std::path::Component;

    let absolute = std::path::absolute(path)?;
    let mut todo: VecDeque<OsString> = VecDeque::new();
    push_front(&mut todo, &absolute);
    // The directories walked, the root first: `..` goes back to the one before.
    let mut stack: Vec<(OwnedFd, PathBuf)> = Vec::new();
    let root = sys::files::open_root()?;
    held_on_the_way(&root, Path::new("/"))?;
    stack.push((root, PathBuf::from("/")));
    let mut links = 0;
    while let Some(name) = todo.pop_front() {
        match Path::new(&name).components().next() {
            Some(Component::CurDir) => continue,
            Some(Component::ParentDir) => {
                if stack.len() > 1 {
                    stack.pop();
                }
                continue;
            }
            _ => {}
        }
        let (parent, parent_path) = stack.last().ok_or(io::ErrorKind::NotFound)?;
        let here = parent_path.join(&name);
        let opened = sys::files::open_dir_at(parent.as_fd(), &name);
        let fd = match opened {
            Ok(fd) => fd,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                open_or_make(parent.as_fd(), &name, create, &here)?
            }
            Err(e) => {
                let entry = sys::files::stat_at(parent.as_fd(), &name)?;
                if entry.kind != sys::files::Kind::Link {
                    return Err(e);
                }
                let me = sys::user_id();
                if entry.uid != me && entry.uid != 0 {
                    return Err(refused(format!(
                        "{} is a symbolic link made by user id {} (not this user, {me}, nor \
                         root): not followed",
                        here.display(),
                        entry.uid
                    )));
                }
                links += 1;
                if links > MAX_LINKS {
                    return Err(refused(format!("{}: too many links", path.display())));
                }
                let target = PathBuf::from(sys::files::read_link_at(parent.as_fd(), &name)?);
                if target.is_absolute() {
                    stack.truncate(1);
                }
                push_front(&mut todo, &target);
                continue;
            }
        };
        held_on_the_way(&fd, &here)?;
        stack.push((fd, here));
    }
    let (fd, path) = stack.pop().ok_or(io::ErrorKind::NotFound)?;
    held_private(&fd, &path)?;
    Ok(PrivateDir { fd, path })
}

/// Puts the normal components of `path` (and its `.`/`..`) in front of `todo`, in order.
#[cfg(unix)]
fn push_front(todo: &mut std::collections::VecDeque<OsString>, path: &Path) {
    use std::path::Component;
    let parts: Vec<OsString> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_owned()),
            Component::CurDir => Some(".".into()),
            Component::ParentDir => Some("..".into()),
            Component::RootDir | Component::Prefix(_) => None,
        })
        .collect();
    for part in parts.into_iter().rev() {
        todo.push_front(part);
    }
}

/// Opens the directory `name` of `parent`, making it (0700) first if `create` and missing.
#[cfg(unix)]
fn open_or_make(
    parent: std::os::fd::BorrowedFd<'_>,
    name: &OsStr,
    create: bool,
    path: &Path,
) -> io::Result<std::os::fd::OwnedFd> {
    match sys::files::open_dir_at(parent, name) {
        Err(e) if e.kind() == io::ErrorKind::NotFound && create => {
            match sys::files::mkdir_at(parent, name, 0o700) {
                // Made by another process meanwhile: judged like any other below.
                Err(e) if e.kind() != io::ErrorKind::AlreadyExists => {
                    return Err(with_path(e, path));
                }
                _ => {}
            }
            sys::files::open_dir_at(parent, name).map_err(|e| with_path(e, path))
        }
        other => other.map_err(|e| with_path(e, path)),
    }
}

/// A directory on the way: this user's or root's, and nobody else may swap its entries.
#[cfg(unix)]
fn held_on_the_way(fd: &std::os::fd::OwnedFd, path: &Path) -> io::Result<()> {
    use std::os::fd::AsFd;
    let e = sys::files::stat_fd(fd.as_fd())?;
    let me = sys::user_id();
    if e.uid != me && e.uid != 0 {
        return Err(refused(format!(
            "{} belongs to user id {}, not to this user ({me}) or root",
            path.display(),
            e.uid
        )));
    }
    if e.mode & 0o022 != 0 && e.mode & 0o1000 == 0 {
        return Err(refused(format!(
            "{} can be written by other users (mode {:o}) and is not sticky",
            path.display(),
            e.mode
        )));
    }
    Ok(())
}

/// The directory itself: this user's, and nobody else may write to it.
#[cfg(unix)]
fn held_private(fd: &std::os::fd::OwnedFd, path: &Path) -> io::Result<()> {
    use std::os::fd::AsFd;
    let e = sys::files::stat_fd(fd.as_fd())?;
    let me = sys::user_id();
    if e.uid != me {
        return Err(refused(format!(
            "{} belongs to user id {}, not to this user ({me})",
            path.display(),
            e.uid
        )));
    }
    if e.mode & 0o022 != 0 {
        return Err(refused(format!(
            "{} can be written by other users (mode {:o})",
            path.display(),
            e.mode
        )));
    }
    Ok(())
}

#[cfg(unix)]
fn refused(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::PermissionDenied, message)
}

#[cfg(unix)]
fn with_path(e: io::Error, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

#[cfg(all(test, unix))]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn set_mode(dir: &Path, mode: u32) {
        fs::set_permissions(dir, fs::Permissions::from_mode(mode)).unwrap();
    }

    fn base(label: &str) -> PathBuf {
        let base = std::env::temp_dir().join(format!("tca-private-{label}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&base);
        base
    }

    #[test]
    fn a_directory_others_can_write_on_the_path_is_refused() {
        let base = base("shared");
        let spool = base.join("shared").join("spool");
        PrivateDir::open(&spool).unwrap();
        assert_eq!(
            fs::metadata(&spool).unwrap().permissions().mode() & 0o777,
            0o700
        );
        set_mode(&base.join("shared"), 0o777);
        let err = PrivateDir::open(&spool).unwrap_err();
        assert!(err.to_string().contains("not sticky"), "{err}");
        // Sticky, like /tmp: others cannot swap our entries.
        set_mode(&base.join("shared"), 0o1777);
        assert!(PrivateDir::open(&spool).is_ok());
        // The directory itself must be ours alone to write.
        set_mode(&spool, 0o770);
        let err = PrivateDir::open(&spool).unwrap_err();
        assert!(err.to_string().contains("written by other users"), "{err}");
        set_mode(&spool, 0o700);
        set_mode(&base.join("shared"), 0o700);
        fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn own_links_are_followed_and_the_handle_keeps_its_directory() {
        let base = base("links");
        let real = base.join("real");
        fs::create_dir_all(&real).unwrap();
        std::os::unix::fs::symlink("real", base.join("via")).unwrap();
        let dir = PrivateDir::open(&base.join("via").join("..").join("via").join("sub")).unwrap();
        dir.write_new("a", b"1").unwrap();
        assert_eq!(fs::read(real.join("sub").join("a")).unwrap(), b"1");
        // The path now points elsewhere; the handle does not follow it.
        fs::rename(&real, base.join("moved")).unwrap();
        fs::create_dir_all(real.join("sub")).unwrap();
        dir.write_new("b", b"2").unwrap();
        assert!(base.join("moved").join("sub").join("b").exists());
        assert!(!real.join("sub").join("b").exists());
        assert_eq!(dir.read("a").unwrap(), b"1");
        // A link inside is never followed.
        std::os::unix::fs::symlink("/etc/hostname", base.join("moved/sub/l")).unwrap();
        assert!(dir.open_file("l", Access::Read).is_err());
        assert!(dir.open_file("l", Access::Append).is_err());
        let mut names = dir.names().unwrap();
        names.sort();
        assert_eq!(names, ["a", "b", "l"]);
        dir.remove(OsStr::new("l")).unwrap();
        assert!(dir.stat(OsStr::new("a")).unwrap().is_file);
        fs::remove_dir_all(&base).unwrap();
    }
}
