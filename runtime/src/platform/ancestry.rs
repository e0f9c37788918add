//! Whether a process is an ancestor of this one. The run's uploader announces its pid to
//! the processes under it (`TRUNK_UPLOADER`), and a process hands its events over only while
//! that pid is one of its ancestors: a variable left in an unrelated environment, or a pid
//! reused by another program, must not make a process wait for an uploader that is not
//! there.
//!
//! On Linux the parent chain is walked in `/proc`; elsewhere on Unix the pid is only known
//! to be alive; on other systems nothing is an ancestor (processes then send or spool by
//! themselves, which loses nothing).

/// Most parents looked at: deeper chains (there are none in practice) count as not found.
#[cfg(target_os = "linux")]
const MAX_DEPTH: usize = 64;

/// Whether `pid` is this process's parent, or its parent's, and so on.
#[cfg(target_os = "linux")]
pub(crate) fn is_ancestor(pid: u32) -> bool {
    let mut current = std::os::unix::process::parent_id();
    for _ in 0..MAX_DEPTH {
        if current == pid {
            return true;
        }
        if current <= 1 {
            return false;
        }
        match parent_of(current) {
            Some(parent) => current = parent,
            None => return false,
        }
    }
    false
}

/// The parent of `pid`, from `/proc/<pid>/stat`: `pid (comm) state ppid …`, where `comm` may
/// hold spaces and parentheses, so the fields are read after its last `)`.
#[cfg(target_os = "linux")]
fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, fields) = stat.rsplit_once(')')?;
    fields.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(all(unix, not(target_os = "linux")))]
pub(crate) fn is_ancestor(pid: u32) -> bool {
    pid != std::process::id() && crate::platform::sys::is_alive(pid)
}

#[cfg(not(unix))]
pub(crate) fn is_ancestor(_pid: u32) -> bool {
    false
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn the_parent_and_its_parents_are_ancestors_and_this_process_is_not() {
        let parent = std::os::unix::process::parent_id();
        assert!(is_ancestor(parent));
        if let Some(grandparent) = parent_of(parent).filter(|&p| p > 0) {
            assert!(is_ancestor(grandparent));
        }
        assert!(!is_ancestor(std::process::id()), "not its own ancestor");
        // A child of this process is not its ancestor. (`sleep` is on every Linux: a
        // machine without it fails here rather than skipping the check.)
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start `sleep`: {e}"));
        assert!(!is_ancestor(child.id()));
        let _ = child.kill();
        let _ = child.wait();
        assert!(!is_ancestor(u32::MAX), "no such process");
    }

    #[test]
    fn the_stat_line_gives_the_parent_std_knows() {
        assert_eq!(
            parent_of(std::process::id()),
            Some(std::os::unix::process::parent_id())
        );
    }
}
