//! Files and directories only this user can read or change: spool files are request bodies
//! that a later run sends with its token, so nobody else may read them, nor plant or swap
//! one (a directory on the path that another user can write to lets them do exactly that).

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

/// Creates `dir` and its missing parents, owner-only (0700).
pub(crate) fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut b = fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir)
}

/// Refuses `dir` unless every directory from the filesystem root down to it belongs to this
/// user or to root, and none that others may write to lacks the sticky bit (as `/tmp` has:
/// there nobody can rename or remove another user's entries). Catches a shared temp dir
/// someone prepared, e.g. `/tmp/trunk-ci-analytics-<user>` made by another user.
pub(crate) fn check_path(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let me = crate::platform::sys::user_id();
        let absolute = std::path::absolute(dir)?;
        for component in absolute.ancestors() {
            let meta = fs::metadata(component)?;
            let owner = meta.uid();
            if owner != me && owner != 0 {
                return Err(io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    format!(
                        "{} belongs to user id {owner}, not to this user ({me}) or root",
                        component.display()
                    ),
                ));
            }
            let others_write = meta.mode() & 0o022 != 0;
            let sticky = meta.mode() & 0o1000 != 0;
            if others_write && !sticky {
                return Err(io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    format!(
                        "{} can be written by other users (mode {:o}) and is not sticky",
                        component.display(),
                        meta.mode() & 0o7777
                    ),
                ));
            }
        }
    }
    let _ = dir;
    Ok(())
}

/// Writes a new file, owner-only (0600); fails if it exists.
pub(crate) fn write_private(path: &Path, body: &[u8]) -> io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(body)
}

#[cfg(all(test, unix))]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn set_mode(dir: &Path, mode: u32) {
        fs::set_permissions(dir, fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn a_directory_others_can_write_on_the_path_is_refused() {
        let base = std::env::temp_dir().join(format!("tca-private-{}", std::process::id()));
        let spool = base.join("shared").join("spool");
        create_private_dir(&spool).unwrap();
        assert!(
            check_path(&spool).is_ok(),
            "a private tree under the temp dir"
        );
        set_mode(&base.join("shared"), 0o777);
        let err = check_path(&spool).unwrap_err();
        assert!(err.to_string().contains("not sticky"), "{err}");
        // Sticky, like /tmp: others cannot swap our entries.
        set_mode(&base.join("shared"), 0o1777);
        assert!(check_path(&spool).is_ok());
        set_mode(&base.join("shared"), 0o700);
        fs::remove_dir_all(&base).unwrap();
    }
}
