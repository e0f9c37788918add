//! A cancelled job (SIGINT/SIGTERM) records its open events as CANCELLED, flushes, and ends
//! as the signal ends it; a program with its own handler keeps it; a killed job (SIGKILL)
//! still shows its long-running steps through their started events.

use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;
use trunk_ci_analytics::{Config, EventBuilder, track_event};
use trunk_ci_analytics_testkit::{Scratch, wait_within};
use trunk_ci_analytics_testserver::{Fault, TestServer};

use crate::hostile_support::{CHILD_LIMIT, TOKEN, field, run, uploading};
use crate::upload_support::files;

/// A scenario running, ready for its signal, with its own events file and spool.
pub(crate) struct Running {
    child: Child,
    dir: Scratch,
}

impl Running {
    pub(crate) fn events(&self) -> PathBuf {
        self.dir.join("events.jsonl")
    }

    pub(crate) fn spool(&self) -> PathBuf {
        self.dir.join("spool")
    }

    pub(crate) fn signal(&self, sig: i32) {
        // SAFETY: signals the child this test spawned and has not reaped yet.
        let rc = unsafe { libc::kill(self.child.id() as i32, sig) };
        assert_eq!(rc, 0);
    }

    /// Waits for the child's end: a liveness bound, not a timing assertion.
    pub(crate) fn wait(&mut self, limit: Duration) -> ExitStatus {
        wait_within(&mut self.child, limit)
    }
}

/// Runs `scenario` uploading to `url` with an events file; returns once it printed `READY`.
pub(crate) fn start(
    scenario: &str,
    url: &str,
    configure: impl FnOnce(&mut std::process::Command),
) -> Running {
    let dir = Scratch::new(&format!("signal-{scenario}"));
    let mut cmd = uploading(scenario, url, &dir.join("spool"));
    cmd.env("TRUNK_EVENTS_FILE", dir.join("events.jsonl"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    configure(&mut cmd);
    let mut child = cmd.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    // Read on a thread of its own, which keeps draining it, so the wait for `READY` is
    // bounded and the child never blocks on a full pipe.
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut running = Running { child, dir };
    let mut selected = false;
    loop {
        match lines.recv_timeout(CHILD_LIMIT) {
            Ok(line) if line.contains("READY") => break,
            Ok(line) => selected |= line.trim() == "running 1 test",
            Err(_) => {
                let status = running.wait(Duration::from_secs(5));
                panic!("{scenario}: the child never got ready ({status:?})");
            }
        }
    }
    assert!(selected, "{scenario}: the child ran no test");
    running
}

/// Waits until the server has received an event named `name` that `pred` accepts.
fn wait_for(server: &TestServer, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let until = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(e) = server.events().into_iter().find(|e| pred(e)) {
            return e;
        }
        assert!(Instant::now() < until, "no {what}: {:#?}", server.events());
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub(crate) fn name(e: &Value) -> &str {
    e["sequence"]["name"].as_str().unwrap_or_default()
}

fn is_started(e: &Value) -> bool {
    e.get("finishedAt").is_none() && e.get("conclusion").is_none()
}

fn file_events(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The events of every spool file under `spool`.
pub(crate) fn spooled(spool: &Path) -> Vec<Value> {
    files(spool)
        .iter()
        .filter(|(p, _)| p.extension().is_some_and(|e| e == "json"))
        .flat_map(|(_, body)| {
            let body: Value = serde_json::from_slice(body).unwrap();
            body["events"].as_array().cloned().unwrap_or_default()
        })
        .collect()
}

/// The events the `cancelled` scenario has running when its signal comes.
pub(crate) const CANCELLED: [&str; 5] = ["job", "step", "side_work", "awaits", "manual_phase"];

#[test]
fn sigterm_and_sigint_record_open_events_as_cancelled_and_end_as_the_signal() {
    for sig in [libc::SIGTERM, libc::SIGINT] {
        let server = TestServer::start_with_token(TOKEN);
        let mut child = start("cancelled", &server.url(), |_| {});
        // Running for over a second: its started event goes out first.
        let started = wait_for(&server, "started event of `step`", |e| {
            name(e) == "step" && is_started(e)
        });
        child.signal(sig);
        let status = child.wait(CHILD_LIMIT);
        assert_eq!(status.signal(), Some(sig), "{status:?}");

        let events = server.events();
        let finished = |n: &str| {
            events
                .iter()
                .find(|e| name(e) == n && !is_started(e))
                .unwrap_or_else(|| panic!("no finished `{n}`: {events:#?}"))
        };
        let (job, step, side) = (finished("job"), finished("step"), finished("side_work"));
        let (suspended, manual) = (finished("awaits"), finished("manual_phase"));
        for e in [job, step, side, suspended, manual] {
            assert_eq!(e["conclusion"], "CANCELLED", "{e}");
            assert!(e["finishedAt"].as_u64() >= e["createdAt"].as_u64(), "{e}");
        }
        assert_eq!(
            step["id"], started["id"],
            "the started event has the same id"
        );
        assert_eq!(step["createdAt"], started["createdAt"]);
        assert_eq!(step["parent"]["eventId"], job["id"]);
        assert_eq!(
            side["parent"]["eventId"], job["id"],
            "another thread's event"
        );
        // `done` ended before the signal, with its own conclusion.
        assert_eq!(finished("done")["conclusion"], "SUCCESS");
        // Each finished once: a late end of a cancelled event is not sent again.
        for n in CANCELLED {
            let ends = events
                .iter()
                .filter(|e| name(e) == n && !is_started(e))
                .count();
            assert_eq!(ends, 1, "{n}: {events:#?}");
        }

        // The events file holds finished events only.
        let in_file = file_events(&child.events());
        assert!(in_file.iter().all(|e| !is_started(e)), "{in_file:#?}");
        let mut names: Vec<&str> = in_file.iter().map(name).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            ["awaits", "done", "job", "manual_phase", "side_work", "step"]
        );
    }
}

#[test]
fn a_program_with_its_own_handler_keeps_it() {
    for scenario in ["own_handler_first", "own_handler_later"] {
        let server = TestServer::start_with_token(TOKEN);
        let mut child = start(scenario, &server.url(), |_| {});
        child.signal(libc::SIGTERM);
        let status = child.wait(CHILD_LIMIT);
        assert_eq!(status.code(), Some(0), "{scenario}: {status:?}");
        let in_file = file_events(&child.events());
        let job = in_file
            .iter()
            .find(|e| name(e) == "job")
            .unwrap_or_else(|| panic!("{scenario}: {in_file:#?}"));
        // The program saw the signal and ended its job its own way.
        assert_eq!(job["conclusion"], "SUCCESS", "{scenario}: {job}");
        assert!(
            in_file.iter().all(|e| e["conclusion"] != "CANCELLED"),
            "{scenario}: {in_file:#?}"
        );
    }
}

#[test]
fn a_killed_job_shows_its_long_steps_as_started_and_nothing_short() {
    let server = TestServer::start_with_token(TOKEN);
    let mut child = start("killed", &server.url(), |_| {});
    let started = wait_for(&server, "started event of `hangs`", |e| {
        name(e) == "hangs" && is_started(e)
    });
    child.signal(libc::SIGKILL);
    let status = child.wait(CHILD_LIMIT);
    assert_eq!(status.signal(), Some(libc::SIGKILL));

    assert!(started.get("payload").is_some(), "{started}");
    let events = server.events();
    // Started events only for what ran a second: the 200 short calls and the finished
    // `setup` have none.
    let quick: Vec<&Value> = events.iter().filter(|e| name(e) == "quick").collect();
    assert_eq!(quick.len(), 200, "{events:#?}");
    assert!(quick.iter().all(|e| !is_started(e)));
    let setup: Vec<&Value> = events.iter().filter(|e| name(e) == "setup").collect();
    assert_eq!(setup.len(), 1, "{setup:#?}");
    assert_eq!(setup[0]["conclusion"], "SUCCESS");
    // The parent of `hangs` ran as long: it is there too, and `hangs` hangs under it.
    let outer = events
        .iter()
        .find(|e| name(e) == "killed_job")
        .unwrap_or_else(|| panic!("{events:#?}"));
    assert!(is_started(outer), "{outer}");
    assert_eq!(started["parent"]["eventId"], outer["id"]);
    assert_eq!(
        events.iter().filter(|e| name(e) == "hangs").count(),
        1,
        "sent once, not at every look"
    );
    // The events file never holds a started event.
    let in_file = file_events(&child.events());
    assert!(in_file.iter().all(|e| !is_started(e)), "{in_file:#?}");
    assert!(in_file.iter().all(|e| name(e) != "hangs"), "{in_file:#?}");
}

#[test]
fn a_started_event_that_cannot_be_sent_is_dropped_never_spooled_nor_counted() {
    let server = TestServer::start_with_token(TOKEN);
    // Every answer a 503: retried until the exit flush's deadline parks what is left.
    server.set_persistent(Some(Fault::Status(503)));
    let dir = Scratch::new("signal-started-spooled");
    let mut cmd = uploading("started_then_spooled", &server.url(), &dir.join("spool"));
    cmd.env("TRUNK_FLUSH_TIMEOUT_MS", "1000");
    let (out, stdout, stderr) = run(&mut cmd);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert_eq!(field(&stdout, "SPOOLED", "delivered").as_deref(), Some("0"));
    assert_eq!(
        field(&stdout, "SPOOLED", "spooled").as_deref(),
        Some("1"),
        "the finished event only: {stdout}"
    );

    let spooled = spooled(&dir.join("spool"));
    assert_eq!(spooled.len(), 1, "{spooled:#?}");
    assert_eq!(name(&spooled[0]), "slow_step");
    assert!(!is_started(&spooled[0]), "{}", spooled[0]);
    // Its started event was tried while it ran: a request carried it without `finishedAt`
    // (the finished event's own requests carry the same id, so the id alone proves nothing).
    let id = spooled[0]["id"].as_str().unwrap().to_owned();
    assert!(
        server
            .requests()
            .iter()
            .any(|r| r.started_ids.contains(&id)),
        "{:#?}",
        server.requests()
    );
}

// --- the children ---

fn ready() {
    println!("READY");
}

#[track_event]
fn done() {}

#[track_event]
fn side_work(stop: &AtomicBool, running: mpsc::Sender<()>) {
    let _ = running.send(());
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[track_event]
fn step(until: Duration) {
    ready();
    std::thread::sleep(until);
}

/// Suspended (off every thread's stack) while the job is cancelled.
#[track_event]
async fn awaits(running: mpsc::Sender<()>) {
    let _ = running.send(());
    tokio::time::sleep(Duration::from_secs(120)).await;
}

#[track_event]
fn job() {
    done();
    static STOP: AtomicBool = AtomicBool::new(false);
    let ctx = trunk_ci_analytics::current_context();
    let side_ctx = ctx.clone();
    // Both other threads' events run before `step` says it is ready for the signal.
    let (running, started) = mpsc::channel();
    let side_running = running.clone();
    let side = std::thread::spawn(move || match side_ctx {
        Some(ctx) => ctx.attach(|| side_work(&STOP, side_running)),
        None => side_work(&STOP, side_running),
    });
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        match ctx {
            Some(ctx) => rt.block_on(ctx.instrument(awaits(running))),
            None => rt.block_on(awaits(running)),
        }
    });
    for _ in 0..2 {
        let _ = started.recv_timeout(Duration::from_secs(60));
    }
    let manual = EventBuilder::new("manual_phase").start();
    step(Duration::from_secs(120));
    drop(manual);
    STOP.store(true, Ordering::Relaxed);
    let _ = side.join();
}

/// A job cancelled while a step runs on the main thread and side work on another.
pub fn cancelled_child() {
    let _guard = trunk_ci_analytics::init(Config::from_env().summary(false));
    // Answered by the background thread once it runs: from then on a signal is its to act
    // on (before, it ends the process at once; `signal_edges` tests that).
    trunk_ci_analytics::flush(Duration::from_secs(60));
    job();
}

static SIGNALLED: AtomicBool = AtomicBool::new(false);

extern "C" fn note_signal(_: i32) {
    SIGNALLED.store(true, Ordering::SeqCst);
}

/// The previous handler, for a handler that calls it in turn (as signal-hook does).
static PREVIOUS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

extern "C" fn note_and_chain(sig: i32) {
    SIGNALLED.store(true, Ordering::SeqCst);
    let previous = PREVIOUS.load(Ordering::SeqCst);
    if previous != libc::SIG_DFL && previous != libc::SIG_IGN {
        // SAFETY: `previous` is the handler `sigaction` reported, a plain `fn(i32)`.
        let f: extern "C" fn(i32) = unsafe { std::mem::transmute(previous) };
        f(sig);
    }
}

fn install(handler: extern "C" fn(i32)) {
    // SAFETY: installs a handler that only stores atomics (and calls the handler it
    // replaced), reading the old action into a zeroed struct.
    unsafe {
        let mut new: libc::sigaction = std::mem::zeroed();
        new.sa_sigaction = handler as libc::sighandler_t;
        libc::sigemptyset(&mut new.sa_mask);
        let mut old: libc::sigaction = std::mem::zeroed();
        assert_eq!(libc::sigaction(libc::SIGTERM, &new, &mut old), 0);
        PREVIOUS.store(old.sa_sigaction, Ordering::SeqCst);
    }
}

#[track_event]
fn waits_for_its_signal() {
    ready();
    let until = Instant::now() + Duration::from_secs(60);
    while !SIGNALLED.load(Ordering::SeqCst) && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[track_event(name = "job")]
fn handled_job() {
    waits_for_its_signal();
}

/// The program's handler is there before analytics is set up.
pub fn own_handler_first_child() {
    install(note_signal);
    let guard = trunk_ci_analytics::init(Config::from_env().summary(false));
    handled_job();
    drop(guard);
}

/// The program installs its handler after analytics did, and calls the one it replaced.
pub fn own_handler_later_child() {
    let guard = trunk_ci_analytics::init(Config::from_env().summary(false));
    install(note_and_chain);
    handled_job();
    drop(guard);
}

#[track_event]
fn quick(i: u32) -> u32 {
    i
}

#[track_event]
fn setup() {}

#[track_event]
fn hangs() {
    ready();
    std::thread::sleep(Duration::from_secs(120));
}

#[track_event]
fn killed_job() {
    setup();
    for i in 0..200 {
        std::hint::black_box(quick(i));
    }
    hangs();
}

/// A job killed while a step hangs.
pub fn killed_child() {
    let _guard = trunk_ci_analytics::init(Config::from_env().summary(false));
    killed_job();
}

#[track_event]
fn slow_step() {
    std::thread::sleep(Duration::from_millis(1_700));
}

/// A step that runs long enough for its started event, against an endpoint that refuses
/// everything, then a flush.
pub fn started_then_spooled_child() {
    let _guard = trunk_ci_analytics::init(Config::from_env().summary(false));
    slow_step();
    let report = trunk_ci_analytics::flush(Duration::from_secs(1));
    println!(
        "SPOOLED delivered={} spooled={}",
        report.delivered, report.spooled
    );
}
