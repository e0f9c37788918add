//! What the second round of hostile tests (issue 26) share beyond `hostile_support`: their
//! child scenarios, a second local user to play the attacker, and the kernel's symlink
//! protection switched off where the attack needs it.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::sync::{Mutex, OnceLock};

use trunk_ci_analytics_testkit::{clean_command, require};

use crate::hostile_support::SCENARIO;

/// Runs the scenario the parent named, if it is one of this round's; `false` otherwise.
pub fn child_main() -> bool {
    let Ok(scenario) = std::env::var(SCENARIO) else {
        return false;
    };
    match scenario.as_str() {
        "r2_root_event" => crate::shared_dirs::root_event_child(),
        "r2_wait_then_event" => crate::shared_dirs::wait_then_event_child(),
        "r2_many_events" => crate::shared_dirs::many_events_child(),
        "r2_sigwait" => crate::signal_mask::sigwait_child(),
        "r2_stuck_stderr" => crate::signal_mask::stuck_stderr_child(),
        "r2_stuck_sink" => crate::signal_mask::stuck_sink_child(),
        "r2_hostile_names" => crate::summaries::hostile_names_child(),
        "r2_full_disk" => crate::disk_full::many_for_a_full_disk_child(),
        _ => return false,
    }
    true
}

pub fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// This process's user id.
pub fn my_uid() -> u32 {
    // SAFETY: getuid has no preconditions.
    unsafe { libc::getuid() }
}

/// A second local user, to act as someone else on the machine.
#[derive(Clone, Copy, Debug)]
pub struct User {
    pub uid: u32,
    pub gid: u32,
}

const ATTACKER: &str = "tca-hostile-attacker";

/// The second local user, made (with `useradd`: no home, no login) when the tests run as
/// root, and left for the next run. Without root there is none: the test skips, loudly, and
/// fails under CI ([`require`]).
pub fn attacker() -> Option<User> {
    static MADE: OnceLock<Option<User>> = OnceLock::new();
    let user = *MADE.get_or_init(|| {
        if my_uid() != 0 {
            return None;
        }
        if lookup(ATTACKER).is_none() {
            // Another test binary may make it meanwhile: looked up again below.
            let _ = clean_command("useradd")
                .args(["--no-create-home", "--shell", "/usr/sbin/nologin", ATTACKER])
                .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
                .status();
        }
        lookup(ATTACKER)
    });
    require(
        "a second local user (run the tests as root to have one made with useradd)",
        user.is_some(),
    )
    .then_some(user)
    .flatten()
}

fn lookup(name: &str) -> Option<User> {
    let id = |flag: &str| {
        let out = clean_command("id").args([flag, name]).output().ok()?;
        String::from_utf8_lossy(&out.stdout).trim().parse().ok()
    };
    Some(User {
        uid: id("-u")?,
        gid: id("-g")?,
    })
}

/// Runs `program args` as `user`, from a cleared environment; asserts it succeeded.
pub fn as_user(user: User, program: &str, args: &[&std::ffi::OsStr]) {
    let out = clean_command(program)
        .args(args)
        .uid(user.uid)
        .gid(user.gid)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?} as uid {}: {}",
        user.uid,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `fs.protected_symlinks` set to 0 while it lives (as on many CI hosts and containers, and
/// what the attacks need), put back when dropped. Tests that need it hold it one at a time.
pub struct Unprotected {
    before: Option<String>,
    _one_at_a_time: std::sync::MutexGuard<'static, ()>,
}

const PROTECTED_SYMLINKS: &str = "/proc/sys/fs/protected_symlinks";

pub fn unprotected_symlinks() -> Unprotected {
    static ONE: Mutex<()> = Mutex::new(());
    let guard = ONE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let before = std::fs::read_to_string(PROTECTED_SYMLINKS).ok();
    if before.as_deref().map(str::trim) == Some("1") {
        std::fs::write(PROTECTED_SYMLINKS, "0").unwrap_or_else(|e| {
            panic!("cannot switch fs.protected_symlinks off for the attack: {e}")
        });
    }
    Unprotected {
        before,
        _one_at_a_time: guard,
    }
}

impl Drop for Unprotected {
    fn drop(&mut self) {
        if self.before.as_deref().map(str::trim) == Some("1") {
            let _ = std::fs::write(PROTECTED_SYMLINKS, "1");
        }
    }
}
