//! Directories no other test or run shares, gone when the test is done.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, Once, PoisonError};

/// A fresh directory under the temp dir, unique to this process and call (`tca-<label>-<pid>-
/// <n>`), removed on drop. A test that fails keeps it, and says where, for a look at what
/// was left there.
#[derive(Debug)]
pub struct Scratch {
    path: PathBuf,
}

impl Scratch {
    pub fn new(label: &str) -> Scratch {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let pid = std::process::id();
        loop {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let path = std::env::temp_dir().join(format!("tca-{label}-{pid}-{n}"));
            // `create_dir`, not `create_dir_all`: a directory left by an earlier process with
            // the same pid is never reused.
            match std::fs::create_dir(&path) {
                Ok(()) => return Scratch { path },
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => panic!("cannot create {}: {e}", path.display()),
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn join(&self, part: impl AsRef<Path>) -> PathBuf {
        self.path.join(part)
    }
}

/// A [`Scratch`] for the rest of this process, for what lives as long as it does (the
/// runtime a test binary sets up once, and its files): removed when the process exits, after
/// the exit hooks registered later (the runtime's exit flush among them) have run.
pub fn process_scratch(label: &str) -> PathBuf {
    static DIRS: Mutex<Vec<Scratch>> = Mutex::new(Vec::new());
    static HOOK: Once = Once::new();
    extern "C" fn remove_all() {
        let dirs = std::mem::take(&mut *DIRS.lock().unwrap_or_else(PoisonError::into_inner));
        drop(dirs);
    }
    unsafe extern "C" {
        fn atexit(hook: extern "C" fn()) -> std::ffi::c_int;
    }
    HOOK.call_once(|| {
        // SAFETY: registers a plain function without arguments, as `atexit` expects.
        unsafe { atexit(remove_all) };
    });
    let dir = Scratch::new(label);
    let path = dir.path().to_owned();
    DIRS.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(dir);
    path
}

impl AsRef<Path> for Scratch {
    fn as_ref(&self) -> &Path {
        &self.path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "kept {} for a look at what the failed test left",
                self.path.display()
            );
            return;
        }
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_scratch_is_new_and_goes_away() {
        let (a, b) = (Scratch::new("kit"), Scratch::new("kit"));
        assert_ne!(a.path(), b.path());
        std::fs::write(a.join("file"), b"x").unwrap_or_else(|e| panic!("{e}"));
        let path = a.path().to_owned();
        drop(a);
        assert!(!path.exists());
        assert!(b.path().is_dir());
    }
}
