//! The processes of the one-uploader scenarios, each an `#[ignore]`d entry of this test
//! binary run again ([`rerun`]): an xtask-like parent that uploads and runs cargo, or children
//! of its own, and the children it starts. The parent passes its environment on to them as
//! an xtask's own children inherit it; what it announces comes with `with_event_context`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use trunk_ci_analytics::{CommandExt, Config, EventContext, current_context, track_event};
use trunk_ci_analytics_testkit::{keep, rerun, wait_within};

/// The entries, as `rerun` selects them.
pub const PARENT: &str = "one_uploader::processes::parent";
const CHILD: &str = "one_uploader::processes::child";
const OUTLIVER: &str = "one_uploader::processes::outliver";

/// What the parent does (`TCA_PARENT`).
pub const CARGO: &str = "cargo";
pub const CARGO_THEN_HOLD: &str = "cargo-then-hold";
pub const CHILDREN: &str = "children";
pub const OUTLIVE: &str = "outlive";

/// The variables a parent passes on to the children it starts from a cleared environment,
/// as an xtask's children inherit them.
const PASSED_ON: [&str; 9] = [
    "TRUNK_API_TOKEN",
    "TRUNK_PUBLIC_API_ADDRESS",
    "TRUNK_SPOOL_DIR",
    "TRUNK_REPO",
    "TRUNK_FLUSH_TIMEOUT_MS",
    "TCA_CHILDREN",
    "TCA_MARKERS",
    "TCA_LOG",
    "TRUNK_CI_ANALYTICS_LOG",
];

/// Longest any wait of these processes lasts: a liveness bound, never a timing assertion.
const LIMIT: Duration = Duration::from_secs(300);

/// Where the parent and its children leave marker files the test waits for (`TCA_MARKERS`).
fn markers() -> PathBuf {
    PathBuf::from(std::env::var_os("TCA_MARKERS").unwrap_or_default())
}

fn write_marker(name: &str) {
    std::fs::write(markers().join(name), b"").unwrap();
}

/// Waits (bounded) until the marker `name` exists.
pub fn wait_for_marker(dir: &Path, name: &str) {
    let until = Instant::now() + LIMIT;
    while !dir.join(name).exists() {
        assert!(Instant::now() < until, "{name} never appeared");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
#[ignore = "entry point of the parent processes the one-uploader scenarios start"]
fn parent() {
    let Ok(mode) = std::env::var("TCA_PARENT") else {
        return;
    };
    let _guard = trunk_ci_analytics::init(Config::from_env().summary(false));
    match mode.as_str() {
        CARGO => {
            step(|| {
                let status = cargo().with_event_context().status().unwrap();
                assert!(status.success(), "cargo failed: {status}");
            });
        }
        CARGO_THEN_HOLD => cargo_then_hold(),
        CHILDREN => step(children),
        OUTLIVE => step(outliver_started),
        other => panic!("no parent mode {other}"),
    }
    // Dropping the guard flushes at exit: what the children handed over goes out too.
}

/// A tracked step running `work`: what an xtask's `fn build()` is. Prints its ids.
#[track_event(kind = "step")]
fn step(work: fn()) {
    let ctx = current_context().unwrap();
    println!("STEP {} {}", ctx.event_id(), ctx.chain_id());
    work();
}

/// `cargo build` of the fixture named by `TCA_FIXTURE`, on the target dir the environment
/// names, with this process's environment.
fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.args(["build", "--workspace"])
        .current_dir(std::env::var_os("TCA_FIXTURE").unwrap());
    cmd
}

/// Runs cargo under a context of its own (no event of this process runs, so nothing of its
/// own is sent: the first request it makes is a file its children handed over), says so in a
/// marker, then waits to be killed.
fn cargo_then_hold() {
    let ctx = EventContext::from_ids("chainkill", "stepkill", "xtask::build");
    let status = cargo().envs(ctx.env_vars()).status().unwrap();
    assert!(status.success(), "cargo failed: {status}");
    write_marker("built");
    let mut line = String::new();
    // Until the test kills this process (or closes stdin).
    let _ = std::io::stdin().read_line(&mut line);
}

/// `TCA_CHILDREN` children at once, each recording a small tree of its own.
fn children() {
    let n: usize = std::env::var("TCA_CHILDREN").unwrap().parse().unwrap();
    let mut running: Vec<_> = (0..n)
        .map(|_| {
            let mut cmd = passed_on(rerun(CHILD));
            // The parent's stdout is the test's to read.
            cmd.stdout(Stdio::null())
                .with_event_context()
                .spawn()
                .unwrap()
        })
        .collect();
    for child in &mut running {
        let status = wait_within(child, LIMIT);
        assert!(status.success(), "a child failed: {status}");
    }
}

/// Starts a child that outlives this process: it records its first event now, the others
/// after this process is gone.
fn outliver_started() {
    let log = std::fs::File::create(std::env::var_os("TCA_LOG").unwrap()).unwrap();
    let mut cmd = passed_on(rerun(OUTLIVER));
    cmd.stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log);
    // Not waited for: it is to outlive this process, whose exit hands it to init to reap.
    #[allow(clippy::zombie_processes)]
    let _outliver = cmd.with_event_context().spawn().unwrap();
    wait_for_marker(&markers(), "ready");
}

/// `cmd` with what this process passes on to its children.
fn passed_on(mut cmd: Command) -> Command {
    keep(&mut cmd, &PASSED_ON);
    cmd
}

#[test]
#[ignore = "entry point of the children the parent of the scenario with many children starts"]
fn child() {
    if std::env::var_os("TCA_CHILDREN").is_none() {
        return;
    }
    let _guard = trunk_ci_analytics::init(Config::from_env().summary(false));
    child_main();
}

#[track_event]
fn child_main() {
    child_work();
    child_work();
}

#[track_event(kind = "work")]
fn child_work() -> u64 {
    (0..1000u64).sum()
}

#[test]
#[ignore = "entry point of the child that outlives its parent"]
fn outliver() {
    if std::env::var_os("TCA_MARKERS").is_none() {
        return;
    }
    let guard = trunk_ci_analytics::init(Config::from_env().summary(false));
    early();
    write_marker("ready");
    wait_for_marker(&markers(), "start");
    late();
    drop(guard);
    write_marker("done");
}

#[track_event]
fn early() {}

#[track_event]
fn late() {
    late_part();
}

#[track_event]
fn late_part() {}
