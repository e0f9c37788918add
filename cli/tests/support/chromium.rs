//! Real headless Chromium (Debian's `chromium` package; `scripts/install-chromium.sh`).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// A Chromium that is stuck (not slow) is killed after this long, so the test fails
/// instead of hanging CI.
const HANG_LIMIT: Duration = Duration::from_secs(180);

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
    /// The browser from `$CHROMIUM`, else the first of the usual names on `PATH`.
    pub fn find() -> Chromium {
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
        match from_env.or_else(on_path) {
            Some(program) => Chromium { program },
            None => panic!(
                "no Chromium found (looked for {NAMES:?} on PATH and $CHROMIUM): these tests \
                 drive a real headless browser; install it with scripts/install-chromium.sh"
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
        let mut child = Command::new(&self.program)
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
