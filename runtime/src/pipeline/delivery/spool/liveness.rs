//! Whether the process that claimed a spool file still runs, without waiting for the claim
//! to age: a claiming process holds an exclusive `flock` on `<root>/.alive-<tag>` for as long
//! as it lives, and the kernel drops that lock when the process dies, however it dies
//! (SIGKILL included). A claim whose owner's lock can be taken belongs to a dead process.
//!
//! Where `flock` is missing (not Unix) or the lock file cannot be made, claims fall back to
//! their age alone.

#[cfg(unix)]
use std::ffi::OsStr;
use std::fs::File;

#[cfg(unix)]
use crate::platform::owner_only::Access;
use crate::platform::owner_only::PrivateDir;

/// The lock file's name of the process tagged `tag`.
fn lock_name(tag: &str) -> String {
    format!(".alive-{tag}")
}

/// This process's held lock: alive as long as the value (and the process) is.
#[derive(Debug)]
pub(crate) struct Alive {
    _file: File,
}

/// Takes this process's lock; `None` when it cannot (then claims only age).
#[cfg(unix)]
pub(crate) fn hold(root: &PrivateDir, tag: &str) -> Option<Alive> {
    let file = root.open_file(&lock_name(tag), Access::ReadWrite).ok()?;
    crate::platform::sys::try_lock_exclusive(&file)
        .ok()?
        .then_some(Alive { _file: file })
}

#[cfg(not(unix))]
pub(crate) fn hold(_root: &PrivateDir, _tag: &str) -> Option<Alive> {
    None
}

/// Whether the process tagged `tag` is known to be dead: its lock file exists and its lock
/// can be taken. Removes the lock file of a dead process.
#[cfg(unix)]
pub(crate) fn is_dead(root: &PrivateDir, tag: &str) -> bool {
    let name = lock_name(tag);
    let Ok(file) = root.open_file(&name, Access::Read) else {
        return false;
    };
    if crate::platform::sys::try_lock_exclusive(&file).unwrap_or(false) {
        let _ = root.remove(OsStr::new(&name));
        return true;
    }
    false
}

#[cfg(not(unix))]
pub(crate) fn is_dead(_root: &PrivateDir, _tag: &str) -> bool {
    false
}

/// Removes the lock files of processes that are gone (a process that claimed once leaves
/// its file behind).
pub(crate) fn sweep(root: &PrivateDir) {
    let Ok(names) = root.names() else {
        return;
    };
    for name in names {
        if let Some(tag) = name.to_str().and_then(|n| n.strip_prefix(".alive-")) {
            is_dead(root, tag);
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_held_lock_says_alive_and_a_released_one_says_dead() {
        let path = std::env::temp_dir().join(format!("tca-alive-{}", std::process::id()));
        let root = PrivateDir::open(&path).unwrap();
        let alive = hold(&root, "t1").unwrap();
        assert!(
            !is_dead(&root, "t1"),
            "held by this process through another handle"
        );
        assert!(
            !is_dead(&root, "never-claimed"),
            "no lock file: not known dead"
        );
        drop(alive);
        assert!(is_dead(&root, "t1"));
        assert!(
            !path.join(lock_name("t1")).exists(),
            "a dead owner's file is removed"
        );
        std::fs::remove_dir_all(&path).unwrap();
    }
}
