//! A circuit breaker that all processes of a pipeline share, through a marker file in the
//! spool root: one process learns the endpoint is unreachable or hanging, and the others spool
//! straight away instead of each waiting out its own timeout.
//!
//! The marker (`breaker-<endpoint hash>`) holds the time it expires. While it is fresh, no
//! process sends. The first process to see it expired becomes the probe: it claims the marker
//! by renaming it (exactly one rename wins), writes a short-lived one so the others keep
//! waiting, and sends. Success removes the marker; failure writes a fresh one.

use std::ffi::OsStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use trunk_ci_analytics_rules::fnv1a64;

use crate::platform::clock::wall_ms;
use crate::platform::owner_only::PrivateDir;

/// How long a read of the marker is trusted.
const RECHECK: Duration = Duration::from_secs(1);

/// The file name of the marker for `api_address`, in the spool root.
pub(crate) fn marker_name(api_address: &str) -> String {
    format!("breaker-{:016x}", fnv1a64(api_address.as_bytes()))
}

/// What a marker file holds: until when (ms since the epoch) the breaker is open, and why.
pub(crate) fn read_marker(text: &str) -> Option<(u64, String)> {
    let mut lines = text.lines();
    let until = lines.next()?.trim().parse().ok()?;
    Some((until, lines.next().unwrap_or_default().trim().to_owned()))
}

#[derive(Debug)]
pub(crate) struct Breaker {
    /// The spool root and the marker's name in it; `None` without a usable spool directory:
    /// the breaker is then this process's alone.
    marker: Option<(Arc<PrivateDir>, String)>,
    tag: String,
    cooldown: Duration,
    probe_window: Duration,
    open_until: Option<u64>,
    checked: Option<Instant>,
    probing: bool,
}

impl Breaker {
    /// `cooldown`: how long a trip keeps every process off the network; `probe_window`: how
    /// long the others wait for a probe's answer (a probe that dies leaves the marker to
    /// expire after it).
    pub(crate) fn new(
        root: Option<Arc<PrivateDir>>,
        api_address: &str,
        tag: String,
        cooldown: Duration,
        probe_window: Duration,
    ) -> Breaker {
        Breaker {
            marker: root.map(|r| (r, marker_name(api_address))),
            tag,
            cooldown,
            probe_window,
            open_until: None,
            checked: None,
            probing: false,
        }
    }

    /// Whether a request may go out now. Reads the shared marker at most once per second.
    pub(crate) fn allows(&mut self, now: Instant) -> bool {
        if self.probing {
            return true;
        }
        let wall = wall_ms();
        let fresh = self
            .checked
            .is_some_and(|at| now.duration_since(at) < RECHECK);
        if !fresh {
            self.checked = Some(now);
            self.open_until = self.read();
        }
        match self.open_until {
            None => true,
            Some(until) if until > wall => false,
            Some(_) => self.try_probe(now, wall),
        }
    }

    /// Whether the breaker was open at the last look (no disk access).
    pub(crate) fn is_open(&self) -> bool {
        !self.probing && self.open_until.is_some_and(|until| until > wall_ms())
    }

    fn try_probe(&mut self, now: Instant, wall: u64) -> bool {
        let Some((root, marker)) = &self.marker else {
            // Alone: the cooldown is over, go.
            self.open_until = None;
            return true;
        };
        let mine = format!("{marker}.probe-{}", self.tag);
        if root.rename(marker, &mine).is_err() {
            // Someone else probes (or closed it): look again.
            self.checked = Some(now);
            self.open_until = self.read();
            return self.open_until.is_none();
        }
        self.write(wall.saturating_add(millis(self.probe_window)), "probing");
        let _ = root.remove(OsStr::new(&mine));
        self.probing = true;
        true
    }

    /// The endpoint answered: close the breaker for everyone.
    pub(crate) fn record_success(&mut self) {
        if self.probing || self.open_until.is_some() {
            if let Some((root, marker)) = &self.marker {
                let _ = root.remove(OsStr::new(marker));
            }
        }
        self.probing = false;
        self.open_until = None;
    }

    /// The endpoint is unreachable or hanging: open the breaker for everyone.
    pub(crate) fn trip(&mut self, why: &str) {
        let until = wall_ms().saturating_add(millis(self.cooldown));
        self.write(until, why);
        self.open_until = Some(until);
        self.checked = Some(Instant::now());
        self.probing = false;
    }

    pub(crate) fn cooldown(&self) -> Duration {
        self.cooldown
    }

    fn read(&self) -> Option<u64> {
        let (root, marker) = self.marker.as_ref()?;
        let text = String::from_utf8(root.read(marker).ok()?).ok()?;
        read_marker(&text).map(|(until, _)| until)
    }

    fn write(&self, until_ms: u64, why: &str) {
        let Some((root, marker)) = &self.marker else {
            return;
        };
        let tmp = format!(".{marker}.{}.tmp", self.tag);
        let _ = root.remove(OsStr::new(&tmp));
        let body = format!("{until_ms}\n{why}\n");
        if root.write_new(&tmp, body.as_bytes()).is_ok() && root.rename(&tmp, marker).is_err() {
            let _ = root.remove(OsStr::new(&tmp));
        }
    }
}

/// Whole milliseconds of `d`, saturated at `u64::MAX`.
fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(label: &str) -> Arc<PrivateDir> {
        let p = std::env::temp_dir().join(format!(
            "tca-breaker-{label}-{}-{}",
            std::process::id(),
            wall_ms()
        ));
        Arc::new(PrivateDir::open(&p).unwrap_or_else(|e| panic!("{e}")))
    }

    fn breaker(root: &Arc<PrivateDir>, tag: &str, cooldown_ms: u64) -> Breaker {
        Breaker::new(
            Some(Arc::clone(root)),
            "http://127.0.0.1:1",
            tag.into(),
            Duration::from_millis(cooldown_ms),
            Duration::from_millis(cooldown_ms),
        )
    }

    #[test]
    fn a_trip_is_seen_by_other_processes_then_one_probes() {
        let dir = root("shared");
        let mut a = breaker(&dir, "a", 150);
        let mut b = breaker(&dir, "b", 150);
        let mut c = breaker(&dir, "c", 150);
        let t0 = Instant::now();
        assert!(a.allows(t0) && b.allows(t0));
        a.trip("connect timeout");
        // b's cached view is fresh: it rereads only after RECHECK.
        assert!(!b.allows(t0 + RECHECK));
        assert!(b.is_open());
        std::thread::sleep(Duration::from_millis(200));
        // Expired: the first to look becomes the probe, the next one waits for it.
        assert!(b.allows(t0 + RECHECK * 2));
        assert!(!c.allows(t0 + RECHECK * 2));
        b.record_success();
        assert!(c.allows(t0 + RECHECK * 3));
        let _ = std::fs::remove_dir_all(dir.path());
    }

    #[test]
    fn without_a_spool_dir_it_is_per_process() {
        let mut a = Breaker::new(
            None,
            "x",
            "a".into(),
            Duration::from_millis(50),
            Duration::from_millis(50),
        );
        a.trip("refused");
        assert!(!a.allows(Instant::now()));
        std::thread::sleep(Duration::from_millis(60));
        assert!(a.allows(Instant::now() + RECHECK));
    }
}
