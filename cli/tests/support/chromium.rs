//! Real headless Chromium (Debian's `chromium` package; `scripts/install-chromium.sh`).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use trunk_ci_analytics_testkit::{clean_command, keep};

/// A Chromium that is stuck (not slow) is killed after this long, so the test fails
/// instead of hanging CI.
const HANG_LIMIT: Duration = Duration::from_secs(180);

/// How a machine names its proxy, for the install script's package manager.
const PROXIES: [&str; 6] = [
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
];

const NAMES: [&str; 4] = [
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
];

#[derive(Debug)]
pub struct Chromium {
    program: PathBuf,
}

impl Chromium {
    /// The browser from `$CHROMIUM`, else the first of the usual names on `PATH`; with none,
    /// `scripts/install-chromium.sh` installs Debian's package once (under a lock, so the
    /// test binaries and threads running at once install it once) and the search runs again.
    /// Where it cannot be had, the test fails with what to do: never skipped.
    pub fn find() -> Chromium {
        static FOUND: OnceLock<Result<PathBuf, String>> = OnceLock::new();
        match FOUND.get_or_init(|| locate().map_or_else(install, Ok)) {
            Ok(program) => Chromium {
                program: program.clone(),
            },
            Err(why) => panic!(
                "no Chromium found (looked for {NAMES:?} on PATH and $CHROMIUM) and none could be \
                 installed ({why}): these tests drive a real headless browser; install Chromium \
                 (Debian: scripts/install-chromium.sh as root) or point $CHROMIUM at one"
            ),
        }
    }

    /// The DOM after the page's scripts ran.
    pub fn dump_dom(&self, url: &str) -> String {
        self.run(&["--dump-dom", "--window-size=1400,900", url])
    }

    /// A 1400×900 PNG of the page.
    pub fn screenshot(&self, url: &str, png: &Path) {
        let target = format!("--screenshot={}", png.display());
        self.run(&[&target, "--window-size=1400,900", url]);
        let bytes = std::fs::read(png).unwrap();
        assert!(
            bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
            "{} is not a PNG",
            png.display()
        );
    }

    fn run(&self, args: &[&str]) -> String {
        static PROFILES: AtomicUsize = AtomicUsize::new(0);
        let profile = std::env::temp_dir().join(format!(
            "report-chromium-{}-{}",
            std::process::id(),
            PROFILES.fetch_add(1, Ordering::Relaxed)
        ));
        let mut child = clean_command(&self.program)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--virtual-time-budget=5000",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.program.display()));
        let mut stdout = child.stdout.take().unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let out = std::thread::spawn(move || {
            let mut text = String::new();
            stdout.read_to_string(&mut text).map(|_| text)
        });
        let err = std::thread::spawn(move || {
            let mut text = String::new();
            stderr.read_to_string(&mut text).map(|_| text)
        });
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if started.elapsed() > HANG_LIMIT {
                let _ = child.kill();
                let _ = child.wait();
                panic!("chromium {args:?} did not finish in {HANG_LIMIT:?}");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let stdout = out.join().unwrap().unwrap();
        let stderr = err.join().unwrap().unwrap();
        let _ = std::fs::remove_dir_all(&profile);
        assert!(
            status.success(),
            "chromium {args:?} failed ({status}): {stderr}"
        );
        stdout
    }
}

fn locate() -> Option<PathBuf> {
    let from_env = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .filter(|program| program.is_file());
    let on_path = || {
        let path = std::env::var_os("PATH")?;
        NAMES.iter().find_map(|name| {
            std::env::split_paths(&path)
                .map(|dir| dir.join(name))
                .find(|candidate| candidate.is_file())
        })
    };
    from_env.or_else(on_path)
}

/// Runs the install script under `flock` on a lock file in Cargo's scratch directory (test
/// binaries run at once, or nextest's one process per test, would otherwise race apt), then
/// looks again. The error is the script's last line.
fn install() -> Result<PathBuf, String> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or(Path::new(".."));
    let script = repo.join("scripts/install-chromium.sh");
    let lock = Path::new(env!("CARGO_TARGET_TMPDIR")).join("install-chromium.lock");
    eprintln!("no Chromium found: installing it with {}", script.display());
    let mut cmd = if Path::new("/usr/bin/flock").is_file() {
        let mut cmd = clean_command("/usr/bin/flock");
        cmd.arg(&lock).arg("bash");
        cmd
    } else {
        clean_command("bash")
    };
    // The package manager reaches its mirrors through the machine's proxy, if it has one.
    keep(&mut cmd, &PROXIES);
    let out = cmd
        .arg(&script)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let last = stderr.lines().rev().find(|l| !l.trim().is_empty());
        return Err(last
            .unwrap_or("the install script failed")
            .trim()
            .to_owned());
    }
    locate().ok_or_else(|| "the install script ran but no browser is on PATH".to_owned())
}
