//! Local files: the events file is the owner's alone, and paths that are not UTF-8 are
//! used as they are, not silently ignored.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use crate::hostile_support::{TOKEN, child_command, run};

fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tca-hostile-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `dir/<stem>-\xff` : a name that is not UTF-8.
fn non_utf8(dir: &std::path::Path, stem: &str) -> PathBuf {
    let mut name = stem.as_bytes().to_vec();
    name.extend_from_slice(b"-\xff\xfe");
    dir.join(OsString::from_vec(name))
}

#[test]
fn the_events_file_is_owner_only_even_at_a_non_utf8_path() {
    let dir = fresh_dir("events-file");
    for path in [dir.join("events.jsonl"), non_utf8(&dir, "events")] {
        one_event_into(&path);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn one_event_into(path: &std::path::Path) {
    let mut cmd = child_command("one_event");
    cmd.env("TRUNK_EVENTS_FILE", path);
    let (out, stdout, stderr) = run(&mut cmd);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let meta = std::fs::metadata(path).unwrap_or_else(|e| panic!("{e}; {stderr}"));
    assert_eq!(
        meta.permissions().mode() & 0o077,
        0,
        "{:o}",
        meta.permissions().mode()
    );
    assert_eq!(std::fs::read_to_string(path).unwrap().lines().count(), 1);
}

#[test]
fn a_non_utf8_spool_dir_is_used() {
    let dir = fresh_dir("spool-dir");
    let spool = non_utf8(&dir, "spool");
    let mut cmd = child_command("one_event");
    // Nothing listens on port 1: the event goes to the spool.
    cmd.env("TRUNK_API_TOKEN", TOKEN)
        .env("TRUNK_PUBLIC_API_ADDRESS", "http://127.0.0.1:1")
        .env("TRUNK_REPO", "acme/widgets")
        .env("TRUNK_SPOOL_DIR", &spool);
    let (out, stdout, stderr) = run(&mut cmd);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let files: Vec<_> = walk(&spool)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}\n{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
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
    // may have made `trunk-ci-analytics-<user>` first. Simulated with a world-writable,
    // non-sticky directory of that name.
    let tmp = fresh_dir("tmp-fallback");
    let planted = tmp.join("trunk-ci-analytics-victim");
    std::fs::create_dir(&planted).unwrap();
    std::fs::set_permissions(&planted, std::fs::Permissions::from_mode(0o777)).unwrap();
    let mut cmd = child_command("one_event");
    cmd.env("TRUNK_API_TOKEN", TOKEN)
        .env("TRUNK_PUBLIC_API_ADDRESS", "http://127.0.0.1:1")
        .env("TRUNK_REPO", "acme/widgets")
        .env_remove("HOME")
        .env_remove("XDG_CACHE_HOME")
        .env("USER", "victim")
        .env("TMPDIR", &tmp);
    let (out, stdout, stderr) = run(&mut cmd);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let written: Vec<_> = walk(&planted)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    assert!(
        written.is_empty(),
        "spooled into a planted dir: {written:?}"
    );
    assert!(stderr.contains("not sticky"), "{stderr}");
    let _ = std::fs::remove_dir_all(&tmp);
}
