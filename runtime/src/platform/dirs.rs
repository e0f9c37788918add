//! Where per-user files live when the configuration names no place: the spool's default
//! root, and this user's own directory in the temp dir (the spool's fallback, the chain
//! files).

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
        None => user_temp_dir().join("spool"),
    }
}

/// This user's directory in the temp dir, `trunk-ci-analytics-<uid>`: named by the user id,
/// which no environment variable can make two users share (with `USER` unset, a name
/// would be the same for everyone, and the first user to make it would lock out the rest).
pub(crate) fn user_temp_dir() -> PathBuf {
    std::env::temp_dir().join(format!("trunk-ci-analytics-{}", user_label()))
}

#[cfg(unix)]
fn user_label() -> String {
    crate::platform::sys::user_id().to_string()
}

/// No numeric user id: the account name, as a plain file-name part.
#[cfg(not(unix))]
fn user_label() -> String {
    let user = std::env::var("USERNAME")
        .or_else(|_| std::env::var("USER"))
        .unwrap_or_else(|_| "user".into());
    user.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}
