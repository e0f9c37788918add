//! What waits in the spool, read from the directory without touching it.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::Settings;
use crate::model::wire::Repo;
use crate::pipeline::delivery::breaker::{marker_name, read_marker};
use crate::pipeline::delivery::spool::file_name::Name;
use crate::pipeline::sinks::trunk::partition;
use crate::platform::sort;

/// The spool as found on disk.
///
/// ```
/// use trunk_ci_analytics::{Config, diagnose};
///
/// let dir = std::env::temp_dir().join(format!("doc-spool-{}", std::process::id()));
/// let settings = diagnose::settings(&Config::default().spool_dir(&dir));
/// let spool = diagnose::spool(&settings, None);
/// assert!(spool.partitions.is_empty() && spool.breaker.is_none());
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SpoolState {
    /// The spool's root directory.
    pub root: PathBuf,
    /// Whether the root exists (it is made at the first upload).
    pub exists: bool,
    /// One entry per partition (repository and endpoint), by name.
    pub partitions: Vec<Partition>,
    /// The circuit breaker of the configured `trackEvents` endpoint, if a marker exists.
    pub breaker: Option<BreakerState>,
    /// The circuit breaker of the configured OTLP endpoint, if a marker exists.
    pub otlp_breaker: Option<BreakerState>,
}

/// One partition: the undelivered events of one repository for one endpoint.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Partition {
    /// Its directory name: `owner.name-<hash of endpoint and repository>`.
    pub name: String,
    /// Its directory.
    pub dir: PathBuf,
    /// Whether this configuration uploads and replays it: the `trackEvents` partition of
    /// the configured endpoint and the given repository, or the configured OTLP endpoint's.
    pub current: bool,
    /// Files waiting to be sent.
    pub files: usize,
    /// Events in those files.
    pub events: usize,
    /// Bytes in those files.
    pub bytes: u64,
    /// Files a process is sending right now (or died sending; they are taken up again
    /// after ten minutes).
    pub claimed: usize,
}

/// The shared circuit breaker of an endpoint: while open, no process sends to it.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct BreakerState {
    /// Until when it stays open.
    pub open_until: SystemTime,
    /// Why it opened (e.g. the connection error).
    pub reason: String,
}

impl BreakerState {
    /// Whether it is still open at `now`.
    ///
    /// ```
    /// # fn check(state: &trunk_ci_analytics::diagnose::BreakerState) {
    /// if state.is_open(std::time::SystemTime::now()) {
    ///     println!("open ({})", state.reason);
    /// }
    /// # }
    /// ```
    pub fn is_open(&self, now: SystemTime) -> bool {
        self.open_until > now
    }
}

/// Reads the spool of `settings`; `repo` (configured or detected) marks the partition this
/// configuration uses. A missing or unreadable directory reads as empty.
///
/// ```
/// use trunk_ci_analytics::{Config, diagnose, wire::Repo};
///
/// let settings = diagnose::settings(&Config::from_env());
/// let repo = Repo { host: "github.com".into(), owner: "acme".into(), name: "app".into() };
/// for p in diagnose::spool(&settings, Some(&repo)).partitions {
///     println!("{}: {} events in {} files{}", p.name, p.events, p.files,
///              if p.current { " (this repository)" } else { "" });
/// }
/// ```
pub fn spool(settings: &Settings, repo: Option<&Repo>) -> SpoolState {
    let root = settings.spool_root.clone();
    let current = repo.map(|r| partition(&settings.api_address, r));
    let mut partitions: Vec<Partition> = fs::read_dir(&root)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let mut p = survey(&e.path());
            p.current = current.as_deref() == Some(name.as_str())
                || settings.otlp_partition.as_deref() == Some(name.as_str());
            p.name = name;
            p
        })
        .collect();
    sort::sort_by(&mut partitions, |a, b| a.name.cmp(&b.name));
    let breaker = read_breaker(&root, &settings.api_address);
    let otlp_breaker = settings
        .otlp_traces_endpoint
        .as_deref()
        .and_then(|url| read_breaker(&root, url));
    SpoolState {
        exists: root.is_dir(),
        root,
        partitions,
        breaker,
        otlp_breaker,
    }
}

fn read_breaker(root: &Path, address: &str) -> Option<BreakerState> {
    let text = fs::read_to_string(root.join(marker_name(address))).ok()?;
    let (until, reason) = read_marker(&text)?;
    Some(BreakerState {
        open_until: SystemTime::UNIX_EPOCH + Duration::from_millis(until),
        reason,
    })
}

fn survey(dir: &Path) -> Partition {
    let mut p = Partition {
        name: String::new(),
        dir: dir.to_owned(),
        current: false,
        files: 0,
        events: 0,
        bytes: 0,
        claimed: 0,
    };
    for e in fs::read_dir(dir).into_iter().flatten().flatten() {
        let file_name = e.file_name();
        let Some(name) =
            Name::parse(&file_name.to_string_lossy()).map(|n| (n.ready, n.events, n.claimed_ms))
        else {
            continue;
        };
        match name {
            (true, events, _) => {
                p.files += 1;
                p.events += events;
                p.bytes += e.metadata().map(|m| m.len()).unwrap_or(0);
            }
            (false, _, Some(_)) => p.claimed += 1,
            _ => {}
        }
    }
    p
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a test fails by panicking
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::pipeline::delivery::breaker::Breaker;
    use crate::pipeline::delivery::spool::Spool;

    fn repo(name: &str) -> Repo {
        Repo {
            host: "github.com".into(),
            owner: "acme".into(),
            name: name.into(),
        }
    }

    #[test]
    fn counts_what_waits_per_partition_and_reads_the_breaker() {
        let root = std::env::temp_dir().join(format!(
            "tca-diagnose-{}-{}",
            std::process::id(),
            crate::platform::clock::wall_ms()
        ));
        let address = "http://127.0.0.1:9";
        let settings =
            super::super::settings(&Config::default().spool_dir(&root).api_address(address));
        let (app, lib) = (repo("app"), repo("lib"));
        let mut mine = Spool::new(
            root.clone(),
            &partition(address, &app),
            1 << 20,
            "t1".into(),
        );
        mine.write(b"{}", 3).unwrap();
        mine.write(b"{}", 4).unwrap();
        let mut theirs = Spool::new(
            root.clone(),
            &partition(address, &lib),
            1 << 20,
            "t2".into(),
        );
        theirs.write(b"{}", 5).unwrap();
        let mut breaker = Breaker::new(
            mine.root(),
            address,
            "t1".into(),
            Duration::from_secs(30),
            Duration::from_secs(1),
        );
        breaker.trip("connection refused");

        let state = spool(&settings, Some(&app));
        assert!(state.exists);
        assert_eq!(state.partitions.len(), 2);
        let current: Vec<&Partition> = state.partitions.iter().filter(|p| p.current).collect();
        assert_eq!(current.len(), 1);
        assert_eq!(
            (current[0].events, current[0].files, current[0].bytes),
            (7, 2, 4)
        );
        assert_eq!(state.partitions.iter().map(|p| p.events).sum::<usize>(), 12);
        let breaker = state.breaker.unwrap();
        assert!(breaker.is_open(SystemTime::now()));
        assert_eq!(breaker.reason, "connection refused");

        // Another endpoint has no breaker of its own, and no partition is its.
        let elsewhere = super::super::settings(
            &Config::default()
                .spool_dir(&root)
                .api_address("http://127.0.0.1:10"),
        );
        let state = spool(&elsewhere, Some(&app));
        assert!(state.breaker.is_none());
        assert!(state.partitions.iter().all(|p| !p.current));
        let _ = fs::remove_dir_all(&root);
    }
}
