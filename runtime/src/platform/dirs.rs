//! Where per-user files live when the configuration names no place: the spool's default
//! root, and the user's label for per-user directories in the temp dir (the spool's
//! fallback, the chain files).

use std::path::PathBuf;

/// The per-user default spool directory: the user's cache directory, else a per-user
/// directory in the temp dir.
pub(crate) fn default_spool_root() -> PathBuf {
    let var = |name: &str| {
        std::env::var_os(name)
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    let cache = if cfg!(windows) {
        var("LOCALAPPDATA")
    } else if cfg!(target_os = "macos") {
        var("HOME").map(|h| h.join("Library").join("Caches"))
    } else {
        var("XDG_CACHE_HOME").or_else(|| var("HOME").map(|h| h.join(".cache")))
    };
    match cache {
        Some(dir) => dir.join("trunk-ci-analytics").join("spool"),
        None => std::env::temp_dir()
            .join(format!("trunk-ci-analytics-{}", user_label()))
            .join("spool"),
    }
}

/// The user's name as a plain file-name part, for per-user directories in the temp dir.
pub(crate) fn user_label() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "user".into());
    user.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}
