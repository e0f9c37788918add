//! What the second round of hostile tests (issue 26) share: children that start from a
//! cleared environment, a second local user to play the attacker, the kernel's symlink
//! protection switched off where the attack needs it, and the child scenarios.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::hostile_support::{SCENARIO, TOKEN, child_args};

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

/// The command that runs this binary's `child` test with `scenario`, from an empty
/// environment: `PATH`, the scenario, and what the test adds.
pub fn clean_child(scenario: &str) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(child_args())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env(SCENARIO, scenario);
    cmd
}

/// Runs `cmd` and returns its outputs as text; the token is in neither.
pub fn run(cmd: &mut Command) -> (Output, String, String) {
    crate::hostile_support::run(cmd)
}

/// A fresh directory of this test under the temp dir, owned by the test's user.
pub fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tca-r2-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
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

/// The second local user: made (with `useradd`, no home, no login) when the test runs as
/// root. Without root there is none: the test is skipped with a loud message, unless `CI`
/// is set, where a skipped test would hide a gap: then it fails.
pub fn attacker(test: &str) -> Option<User> {
    static MADE: OnceLock<Option<User>> = OnceLock::new();
    let user = *MADE.get_or_init(|| {
        if my_uid() != 0 {
            return None;
        }
        if lookup(ATTACKER).is_none() {
            let status = Command::new("useradd")
                .args(["--no-create-home", "--shell", "/usr/sbin/nologin", ATTACKER])
                .env_clear()
                .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
                .status();
            // Another test binary may have made it meanwhile: looked up again below.
            let _ = status;
        }
        lookup(ATTACKER)
    });
    if user.is_none() {
        let why = format!(
            "SKIPPED {test}: needs a second local user (run the tests as root to have one \
             made with useradd)"
        );
        assert!(std::env::var_os("CI").is_none(), "{why}; CI is set");
        eprintln!("\n!!!!! {why} !!!!!\n");
    }
    user
}

fn lookup(name: &str) -> Option<User> {
    let out = Command::new("id")
        .args(["-u", name])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .output()
        .ok()?;
    let uid = String::from_utf8_lossy(&out.stdout).trim().parse().ok()?;
    let out = Command::new("id")
        .args(["-g", name])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .output()
        .ok()?;
    let gid = String::from_utf8_lossy(&out.stdout).trim().parse().ok()?;
    Some(User { uid, gid })
}

/// Runs `program args` as `user`, from an empty environment; asserts it succeeded.
pub fn as_user(user: User, program: &str, args: &[&std::ffi::OsStr]) {
    let out = Command::new(program)
        .args(args)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
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

/// The environment of a child that uploads: the token, a repository, and an address where
/// nothing listens, so its events go to the spool.
pub fn unreachable_upload(cmd: &mut Command) -> &mut Command {
    cmd.env("TRUNK_API_TOKEN", TOKEN)
        .env("TRUNK_REPO", "acme/widgets")
        .env("TRUNK_PUBLIC_API_ADDRESS", "http://127.0.0.1:1")
        .env("TRUNK_FLUSH_TIMEOUT_MS", "500")
}

/// Waits for `child` to end, at most a minute (a liveness bound, not a timing assertion).
pub fn wait(child: &mut std::process::Child, what: &str) -> std::process::ExitStatus {
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > until {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: the child did not end within a minute");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Every file under `dir`, recursively, links not followed.
pub fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}
