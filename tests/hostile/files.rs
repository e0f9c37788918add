//! Local files: the events file is the owner's alone when the runtime creates it and keeps
//! its mode when it exists, paths that are not UTF-8 are used as they are, and the spool goes
//! to the user's cache directory unless told otherwise — never to a directory others could
//! have planted.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use trunk_ci_analytics_testkit::Scratch;
use trunk_ci_analytics_testserver::ClosedPort;

use crate::hostile_support::{child_command, run, uploading};

/// `dir/<stem>-\xff` : a name that is not UTF-8.
fn non_utf8(dir: &Path, stem: &str) -> PathBuf {
    let mut name = stem.as_bytes().to_vec();
    name.extend_from_slice(b"-\xff\xfe");
    dir.join(OsString::from_vec(name))
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// Runs the one-event child writing its event into `path`.
fn one_event_into(path: &Path) {
    let mut cmd = child_command("one_event");
    cmd.env("TRUNK_EVENTS_FILE", path);
    let (out, stdout, stderr) = run(&mut cmd);
    assert!(out.status.success(), "{stdout}\n{stderr}");
}

#[test]
fn the_events_file_is_owner_only_even_at_a_non_utf8_path() {
    let dir = Scratch::new("events-file");
    for path in [dir.join("events.jsonl"), non_utf8(dir.path(), "events")] {
        one_event_into(&path);
        assert_eq!(mode(&path) & 0o077, 0, "{:o}", mode(&path));
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 1);
    }
}

#[test]
fn an_existing_events_file_keeps_its_mode_and_its_lines() {
    let dir = Scratch::new("events-file-mode");
    let path = dir.join("events.jsonl");
    // Shared on purpose by its owner (a CI job's artifact, read by another user).
    std::fs::write(&path, "{\"earlier\":true}\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    one_event_into(&path);
    assert_eq!(mode(&path), 0o644, "the owner's choice was changed");
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(lines[0], "{\"earlier\":true}");
}

/// Spool files holding events under `dir`.
/// The spool files (`*.json`) under `dir`.
pub fn spooled(dir: &Path) -> Vec<PathBuf> {
    walk(dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect()
}

#[test]
fn a_non_utf8_spool_dir_is_used() {
    let dir = Scratch::new("spool-dir");
    let spool = non_utf8(dir.path(), "spool");
    let down = ClosedPort::new();
    let (out, stdout, stderr) = run(&mut uploading("one_event", &down.url(), &spool));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert_eq!(spooled(&spool).len(), 1, "{stderr}");
}

#[test]
fn without_a_spool_dir_the_spool_is_in_the_users_cache() {
    let dir = Scratch::new("default-spool");
    let (home, cache) = (dir.join("home"), dir.join("xdg-cache"));
    std::fs::create_dir(&home).unwrap();
    let down = ClosedPort::new();
    let run_with = |xdg: Option<&Path>| {
        let mut cmd = uploading("one_event", &down.url(), Path::new(""));
        cmd.env_remove("TRUNK_SPOOL_DIR").env("HOME", &home);
        if let Some(xdg) = xdg {
            cmd.env("XDG_CACHE_HOME", xdg);
        }
        let (out, stdout, stderr) = run(&mut cmd);
        assert!(out.status.success(), "{stdout}\n{stderr}");
        stderr
    };

    let stderr = run_with(Some(&cache));
    assert_eq!(
        spooled(&cache.join("trunk-ci-analytics/spool")).len(),
        1,
        "XDG_CACHE_HOME wins: {stderr}"
    );
    assert!(spooled(&home).is_empty(), "{stderr}");

    let stderr = run_with(None);
    assert_eq!(
        spooled(&home.join(".cache/trunk-ci-analytics/spool")).len(),
        1,
        "then HOME/.cache: {stderr}"
    );
}

/// Every file under `dir`, recursively; links are listed, not followed (a test may plant
/// one that points anywhere).
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

#[test]
fn a_temp_spool_dir_others_can_write_to_is_refused() {
    // No HOME nor XDG_CACHE_HOME: the spool falls back to the temp dir, where another user
    // may have made `trunk-ci-analytics-<uid>` first. Simulated with a world-writable,
    // non-sticky directory of that name.
    let tmp = Scratch::new("tmp-fallback");
    // SAFETY: getuid has no preconditions.
    let uid = unsafe { libc::getuid() };
    let planted = tmp.join(format!("trunk-ci-analytics-{uid}"));
    std::fs::create_dir(&planted).unwrap();
    std::fs::set_permissions(&planted, std::fs::Permissions::from_mode(0o777)).unwrap();
    let down = ClosedPort::new();
    let mut cmd = uploading("one_event", &down.url(), Path::new(""));
    cmd.env_remove("TRUNK_SPOOL_DIR")
        .env_remove("HOME")
        .env("TMPDIR", tmp.path());
    let (out, stdout, stderr) = run(&mut cmd);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        spooled(&planted).is_empty(),
        "spooled into a planted dir: {:?}",
        spooled(&planted)
    );
    assert!(stderr.contains("not sticky"), "{stderr}");
}
