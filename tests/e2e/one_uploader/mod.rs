//! One uploader per run (DESIGN.md §14), with real processes, real cargo and the loopback
//! server: build scripts on the library without its default features (the
//! `light_buildscripts` fixture) under an xtask-like parent that uploads, and under
//! `trunk-ci-analytics exec`, hand their events to it; the server sees requests from that
//! one process only, and every event exactly once. Killed before it delivered, the parent
//! leaves them in the spool for `flush`, exactly once; with no uploading parent they wait
//! there too; many children at once, and a child that outlives its parent, lose nothing.
//!
//! The parent and its children are this test binary run again ([`processes`]).

mod processes;

use std::collections::BTreeSet;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;
use trunk_ci_analytics_testkit::{Scratch, assert_selected, keep_toolchain, rerun, wait_within};
use trunk_ci_analytics_testserver::{Fault, TestServer};

use crate::fixture::{Fixture, LIGHT_BUILD_SCRIPTS, copy_of};
use crate::harness::{self, COLD_BUILD_LIMIT, QUICK_LIMIT, REPO};
use crate::support::{Events, id, key, name, parent_id, tag_of};
use processes::{CARGO, CARGO_THEN_HOLD, CHILDREN, OUTLIVE, PARENT, wait_for_marker};

/// The functions of each build script of the fixture.
const FUNCTIONS: [&str; 3] = ["main", "generate", "checksum"];

/// A server, a spool and a directory for the processes' marker files, all of this test.
struct Setup {
    server: TestServer,
    spool: Scratch,
    markers: Scratch,
}

fn setup() -> Setup {
    Setup {
        server: TestServer::start(),
        spool: Scratch::new("one-uploader-spool"),
        markers: Scratch::new("one-uploader-markers"),
    }
}

impl Setup {
    /// Points `cmd`'s analytics at this test's server and spool, for the test's repository.
    fn analytics<'c>(&self, cmd: &'c mut Command) -> &'c mut Command {
        harness::upload_to(cmd, &self.server, self.spool.path()).env("TRUNK_REPO", REPO)
    }

    /// The xtask-like parent in `mode`, uploading to the server.
    fn parent(&self, mode: &str) -> Command {
        let mut cmd = rerun(PARENT);
        keep_toolchain(&mut cmd);
        self.analytics(&mut cmd)
            .env("TCA_PARENT", mode)
            .env("TCA_MARKERS", self.markers.path());
        cmd
    }

    /// The parent in `mode`, running cargo on `fixture`.
    fn parent_building(&self, mode: &str, fixture: &Fixture) -> Command {
        let mut cmd = self.parent(mode);
        cmd.env("TCA_FIXTURE", fixture.dir())
            .env("CARGO_TARGET_DIR", harness::fixture_target());
        cmd
    }

    /// `trunk-ci-analytics flush`, as the next CI step runs it; fails unless it succeeds.
    fn flush(&self) -> String {
        let out = harness::run(self.analytics(harness::cli().arg("flush")), QUICK_LIMIT);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "flush failed:\n{stdout}\n{}",
            harness::stderr(&out)
        );
        stdout
    }

    /// The names of the spool's files (in its partitions) that contain `containing`:
    /// `.json` for a ready one, `.claim-` for one a process claimed.
    fn spool_files(&self, containing: &str) -> Vec<String> {
        let mut found = Vec::new();
        for part in std::fs::read_dir(self.spool.path()).into_iter().flatten() {
            let Ok(part) = part else { continue };
            for file in std::fs::read_dir(part.path()).into_iter().flatten() {
                let Ok(file) = file else { continue };
                let name = file.file_name().to_string_lossy().into_owned();
                if name.contains(containing) {
                    found.push(name);
                }
            }
        }
        found
    }

    /// The TCP connections the server's requests came over.
    fn connections(&self) -> BTreeSet<u64> {
        self.server
            .requests()
            .iter()
            .map(|r| r.connection)
            .collect()
    }

    /// Requests came from one process: over one kept-alive connection, which the run's
    /// uploader holds. A build script that sent its events itself would open one of its own.
    fn assert_one_connection(&self) {
        let connections = self.connections();
        assert_eq!(
            connections.len(),
            1,
            "requests came over connections {connections:?}: {:#?}",
            self.server.requests()
        );
    }
}

/// The light fixture, its dependency tree built (without analytics: nothing is sent or
/// spooled), its build scripts to run again in the build under test.
fn light_fixture() -> Fixture {
    let fixture = copy_of(&LIGHT_BUILD_SCRIPTS);
    let out = harness::run(
        &mut fixture.cargo(&["build", "--workspace"]),
        COLD_BUILD_LIMIT,
    );
    assert!(
        out.status.success(),
        "building the fixture failed:\n{}",
        harness::stderr(&out)
    );
    fixture.rerun_build_scripts();
    fixture
}

/// Runs a parent to its end; fails unless it ran its entry and succeeded.
fn run_parent(cmd: &mut Command) -> Output {
    let out = harness::run(cmd, COLD_BUILD_LIMIT);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_selected(&stdout);
    assert!(
        out.status.success(),
        "the parent failed:\n{stdout}\n{}",
        harness::stderr(&out)
    );
    out
}

/// The `STEP <event id> <chain id>` line a parent prints.
fn step_of(out: &Output) -> (String, String) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    // The harness may have begun the line (`test … `).
    let mut words = stdout
        .split("STEP ")
        .nth(1)
        .unwrap_or_else(|| panic!("no STEP line:\n{stdout}"))
        .split_whitespace();
    let (step, chain) = (words.next().unwrap(), words.next().unwrap());
    (step.to_owned(), chain.to_owned())
}

/// The finished events the server holds, each accepted once.
fn received_once(server: &TestServer) -> Events {
    assert!(
        server.duplicate_ids().is_empty(),
        "accepted more than once: {:?}",
        server.duplicate_ids()
    );
    Events::settled(server.events())
}

/// Every build script's events, each once: one `main` per crate, a child of `parent` in
/// `chain` (or, without a parent, the root of a chain of its own), and its helpers under it.
fn assert_build_scripts(events: &Events, parent: Option<(&str, &str)>) {
    let scripts: Vec<&Value> = events
        .0
        .iter()
        .filter(|e| key(e).contains("::build_script_build::"))
        .collect();
    let keys: Vec<&str> = scripts.iter().map(|e| key(e)).collect();
    let expected: BTreeSet<String> = LIGHT_BUILD_SCRIPTS
        .crates
        .iter()
        .flat_map(|c| FUNCTIONS.map(|f| format!("{c}::build_script_build::{f}")))
        .collect();
    assert_eq!(
        keys.len(),
        expected.len(),
        "one event per crate and function: {keys:?}"
    );
    assert_eq!(
        keys.iter().map(|k| k.to_string()).collect::<BTreeSet<_>>(),
        expected
    );
    for main in scripts.iter().filter(|e| name(e) == "main") {
        match parent {
            Some((step, chain)) => {
                assert_eq!(parent_id(main), Some(step), "{main:#}");
                assert_eq!(main["chainId"], chain, "{main:#}");
            }
            None => assert_eq!(main["chainId"], main["id"], "a root: {main:#}"),
        }
        let helpers = scripts
            .iter()
            .filter(|e| parent_id(e) == Some(id(main)))
            .count();
        assert_eq!(helpers, 2, "generate and checksum under {main:#}");
    }
}

#[test]
fn build_scripts_without_upload_hand_their_events_to_the_xtask_that_ran_cargo() {
    let s = setup();
    let fixture = light_fixture();
    let out = run_parent(&mut s.parent_building(CARGO, &fixture));
    let (step, chain) = step_of(&out);
    let events = received_once(&s.server);
    assert_build_scripts(&events, Some((&step, &chain)));
    assert!(
        events.0.iter().any(|e| id(e) == step),
        "the step itself: {:?}",
        events.names()
    );
    s.assert_one_connection();
    assert!(
        s.spool_files(".json").is_empty(),
        "nothing left behind: {:?}",
        s.spool_files("")
    );
}

#[test]
fn build_scripts_under_exec_hand_their_events_to_exec() {
    let s = setup();
    let fixture = light_fixture();
    let mut exec = harness::cli();
    keep_toolchain(&mut exec);
    s.analytics(&mut exec)
        .args(["exec", "--name", "build", "--"])
        .arg(harness::cargo())
        .args(["build", "--workspace"])
        .current_dir(fixture.dir())
        .env("CARGO_TARGET_DIR", harness::fixture_target());
    let out = harness::run(&mut exec, COLD_BUILD_LIMIT);
    assert!(out.status.success(), "{}", harness::stderr(&out));
    let events = received_once(&s.server);
    let step = events.one("build");
    assert_build_scripts(&events, Some((id(step), id(step))));
    // `exec` records cargo's own work as well (DESIGN §13), and delivers it over the same
    // connection as what the build scripts handed over: one `build_script_run` per crate
    // under the step, beside that script's own `main`.
    let mut runs: Vec<&str> = events
        .0
        .iter()
        .filter(|e| e["sequence"]["kind"] == "build_script_run")
        .inspect(|e| assert_eq!(parent_id(e), Some(id(step)), "{e:#}"))
        .filter_map(|e| tag_of(e, "crate")?.as_str())
        .collect();
    runs.sort_unstable();
    let mut crates = LIGHT_BUILD_SCRIPTS.crates.to_vec();
    crates.sort_unstable();
    assert_eq!(runs, crates, "one recorded run per build script");
    s.assert_one_connection();
    assert!(s.spool_files(".json").is_empty(), "{:?}", s.spool_files(""));
}

#[test]
fn events_handed_to_an_xtask_that_is_killed_are_delivered_once_by_the_next_flush() {
    let s = setup();
    let fixture = light_fixture();
    // The endpoint hangs: the parent's first request — a file a build script handed over,
    // claimed — stays in flight, the rest waits in the spool.
    s.server
        .set_persistent(Some(Fault::Stall(Duration::from_secs(600))));
    let log = std::fs::File::create(s.markers.join("parent.log")).unwrap();
    let mut parent = s
        .parent_building(CARGO_THEN_HOLD, &fixture)
        .stdin(Stdio::piped())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    wait_for_marker(s.markers.path(), "built");
    assert!(
        s.server.wait_for_requests(1, COLD_BUILD_LIMIT),
        "the parent sent nothing"
    );
    // SIGKILL: no exit flush, no claim given back.
    parent.kill().unwrap();
    wait_within(&mut parent, QUICK_LIMIT);
    let stalled = s.server.requests();
    assert!(
        stalled.iter().all(|r| !r.event_ids.is_empty()),
        "the parent sent what its children handed over: {stalled:#?}"
    );
    s.assert_one_connection();
    assert!(
        !s.spool_files(".claim-").is_empty(),
        "the dead parent's claim is left: {:?}",
        s.spool_files("")
    );
    assert_eq!(
        s.server.event_count(),
        0,
        "a stalled request records nothing"
    );

    s.server.set_persistent(None);
    s.flush();
    let events = received_once(&s.server);
    assert_build_scripts(&events, Some(("stepkill", "chainkill")));
    let left: Vec<String> = s
        .spool_files("")
        .into_iter()
        .filter(|f| f.ends_with(".json") || f.contains(".claim-"))
        .collect();
    assert!(left.is_empty(), "delivered files are gone: {left:?}");
}

#[test]
fn build_scripts_without_upload_or_uploader_spool_their_events_for_flush() {
    let s = setup();
    let fixture = light_fixture();
    let out = harness::run(
        s.analytics(&mut fixture.cargo(&["build", "--workspace"])),
        COLD_BUILD_LIMIT,
    );
    assert!(out.status.success(), "{}", harness::stderr(&out));
    assert!(
        s.server.requests().is_empty(),
        "no build script sends: {:#?}",
        s.server.requests()
    );
    assert_eq!(
        s.spool_files(".json").len(),
        LIGHT_BUILD_SCRIPTS.crates.len(),
        "one file per build script"
    );

    let said = s.flush();
    let events = received_once(&s.server);
    assert_build_scripts(&events, None);
    assert!(said.contains("delivered: 9"), "{said}");
    assert!(s.spool_files(".json").is_empty(), "{:?}", s.spool_files(""));
    // A second flush finds nothing to send again.
    s.flush();
    received_once(&s.server);
}

#[test]
fn many_children_at_once_hand_their_events_to_one_uploader() {
    const CHILDREN_AT_ONCE: usize = 12;
    let s = setup();
    let mut parent = s.parent(CHILDREN);
    parent.env("TCA_CHILDREN", CHILDREN_AT_ONCE.to_string());
    let out = run_parent(&mut parent);
    let (step, chain) = step_of(&out);
    let events = received_once(&s.server);
    let mains = events.all("child_main");
    assert_eq!(mains.len(), CHILDREN_AT_ONCE, "{:?}", events.names());
    for main in &mains {
        assert_eq!(parent_id(main), Some(step.as_str()), "{main:#}");
        assert_eq!(main["chainId"], chain.as_str());
    }
    let work = events.all("child_work");
    assert_eq!(work.len(), 2 * CHILDREN_AT_ONCE);
    let pids: BTreeSet<&str> = mains.iter().map(|m| id(m)).collect();
    assert!(
        work.iter()
            .all(|w| parent_id(w).is_some_and(|p| pids.contains(p)))
    );
    s.assert_one_connection();
}

#[test]
fn a_child_that_outlives_its_uploader_leaves_its_events_for_the_next_flush() {
    let s = setup();
    let mut parent = s.parent(OUTLIVE);
    parent.env("TCA_LOG", s.markers.join("outliver.log"));
    let out = run_parent(&mut parent);
    let (step, chain) = step_of(&out);
    // The parent is gone; its child records the rest of its events now, and ends.
    std::fs::write(s.markers.join("start"), b"").unwrap();
    wait_for_marker(s.markers.path(), "done");
    let log = std::fs::read_to_string(s.markers.join("outliver.log")).unwrap_or_default();
    assert_selected(&log);
    assert!(
        Events::finished(s.server.events()).all("late").is_empty(),
        "the child did not send by itself: {:#?}",
        s.server.requests()
    );
    assert!(
        !s.spool_files(".json").is_empty(),
        "its events wait in the spool"
    );

    s.flush();
    let events = received_once(&s.server);
    let early = events.one("early");
    let late = events.one("late");
    assert_eq!(parent_id(early), Some(step.as_str()));
    assert_eq!(parent_id(late), Some(step.as_str()));
    assert_eq!(late["chainId"], chain.as_str());
    events.assert_child("late_part", "late");
    assert!(s.spool_files(".json").is_empty(), "{:?}", s.spool_files(""));
}
