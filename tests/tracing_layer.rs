//! `tracing` spans join the tree through `trunk_ci_analytics::tracing::layer()`: real
//! `tracing`-instrumented code (spans, `#[instrument]`, `#[instrument(err)]`, `.instrument`
//! on a multi-threaded tokio runtime, spans handed to other threads, fields recorded after
//! creation) mixed with `#[track_event]` calls both ways, read back from the events file.
//!
//! One global subscriber per test process (the registry and our layer, with a per-layer
//! filter), set before any test records; each test owns the root names it asserts on.

// Tests may unwrap: a failure here is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Once;
use std::time::Duration;

use support::{Events, conclusion, key, parent_id, tag_of};
use tracing::{Instrument, error, info_span, instrument, warn};
use tracing_subscriber::Layer as _;
use tracing_subscriber::layer::SubscriberExt;
use trunk_ci_analytics::{CommandExt, track_event};
use trunk_ci_analytics_testkit::{Scratch, wait_within};

/// The analytics runtime (events file, local mode) and the global subscriber, once.
fn setup() {
    static TRACING: Once = Once::new();
    support::init();
    TRACING.call_once(|| {
        // The usual per-layer filter decides which spans become events.
        let ours = trunk_ci_analytics::tracing::layer().with_filter(
            tracing_subscriber::filter::filter_fn(|meta| !meta.name().starts_with("filtered_")),
        );
        tracing::subscriber::set_global_default(tracing_subscriber::registry().with(ours))
            .expect("the only global subscriber of this process");
    });
}

fn kind(e: &serde_json::Value) -> &str {
    e["sequence"]["kind"].as_str().unwrap()
}

fn duration_ms(e: &serde_json::Value) -> f64 {
    support::metric_of(e, "duration_ms").unwrap()
}

#[track_event]
fn tracked_under_span() {
    let span = info_span!("span_under_tracked", shard = 3, os = "linux", ratio = 0.5);
    let _entered = span.enter();
    tracked_leaf();
}

#[track_event]
fn tracked_leaf() {}

#[test]
fn spans_and_tracked_calls_nest_both_ways_on_one_thread() {
    setup();
    {
        let root = info_span!("root_one_thread");
        let _entered = root.enter();
        tracked_under_span();
        // Not one of ours: a filtered span is not an event, and what runs in it belongs to
        // the nearest span that is.
        let hidden = info_span!("filtered_one_thread");
        hidden.in_scope(tracked_leaf_in_filtered);
    }
    let events = support::tree("root_one_thread");
    assert_eq!(events.len(), 5, "{:?}", events.names());
    events.assert_child("tracked_under_span", "root_one_thread");
    events.assert_child("span_under_tracked", "tracked_under_span");
    events.assert_child("tracked_leaf", "span_under_tracked");
    events.assert_child("tracked_leaf_in_filtered", "root_one_thread");

    let root = events.one("root_one_thread");
    assert_eq!(kind(root), "span");
    assert_eq!(key(root), "tracing_layer::root_one_thread");
    assert_eq!(conclusion(root), "SUCCESS");
    assert_eq!(kind(events.one("tracked_under_span")), "function");
    let span = events.one("span_under_tracked");
    assert_eq!(tag_of(span, "shard"), Some(&serde_json::json!(3)));
    assert_eq!(tag_of(span, "ratio"), Some(&serde_json::json!(0.5)));
    assert_eq!(tag_of(span, "os"), Some(&serde_json::json!("linux")));
}

#[track_event]
fn tracked_leaf_in_filtered() {}

#[track_event]
fn work_on_other_thread() -> u32 {
    7
}

#[test]
fn a_span_handed_to_other_threads_parents_what_runs_there() {
    setup();
    {
        let root = info_span!("root_threads");
        let _entered = root.enter();
        let current = tracing::Span::current();
        let explicit_parent = root.clone();
        std::thread::spawn(move || {
            current.in_scope(work_on_other_thread);
            // An explicit parent, on a thread where nothing is current.
            let child = info_span!(parent: &explicit_parent, "explicit_child");
            child.in_scope(|| {});
        })
        .join()
        .unwrap();
        // Entered on two threads at once: still one event.
        let both = info_span!("entered_on_two_threads");
        let elsewhere = both.clone();
        let _here = both.enter();
        std::thread::spawn(move || elsewhere.in_scope(work_on_other_thread))
            .join()
            .unwrap();
    }
    let events = support::tree("root_threads");
    events.assert_child("explicit_child", "root_threads");
    events.assert_child("entered_on_two_threads", "root_threads");
    let work = events.all("work_on_other_thread");
    assert_eq!(work.len(), 2, "{:?}", events.names());
    let parents: Vec<_> = work.iter().map(|e| parent_id(e).unwrap()).collect();
    assert!(parents.contains(&support::id(events.one("root_threads"))));
    assert!(parents.contains(&support::id(events.one("entered_on_two_threads"))));
    assert_eq!(events.all("entered_on_two_threads").len(), 1);
}

#[track_event]
async fn tracked_in_future(n: u32) -> u32 {
    tokio::task::yield_now().await;
    n + 1
}

#[instrument]
async fn instrumented_fn(rounds: u32) -> u32 {
    let mut total = 0;
    for i in 0..rounds {
        // Each yield is another poll: the span is entered and exited each time.
        tokio::task::yield_now().await;
        total += tracked_in_future(i).await;
    }
    tokio::time::sleep(Duration::from_millis(30)).await;
    total
}

#[test]
fn futures_on_a_multi_threaded_runtime_give_one_event_per_span() {
    setup();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap();
    runtime.block_on(
        async {
            let a = tokio::spawn(instrumented_fn(5).in_current_span());
            let b = tokio::spawn(
                async { tracked_in_future(100).await }.instrument(info_span!("instrumented_block")),
            );
            assert_eq!(a.await.unwrap(), 15);
            assert_eq!(b.await.unwrap(), 101);
        }
        .instrument(info_span!("root_futures")),
    );
    let events = support::tree("root_futures");
    events.assert_child("instrumented_fn", "root_futures");
    events.assert_child("instrumented_block", "root_futures");
    let under_fn = events
        .all("tracked_in_future")
        .into_iter()
        .filter(|e| parent_id(e) == Some(support::id(events.one("instrumented_fn"))))
        .count();
    assert_eq!(under_fn, 5, "{:?}", events.names());
    let span = events.one("instrumented_fn");
    assert_eq!(tag_of(span, "rounds"), Some(&serde_json::json!(5)));
    // Its whole life, not the last poll.
    assert!(duration_ms(span) >= 30.0, "{span:#}");
}

#[instrument(err)]
fn fails_with_err() -> Result<(), String> {
    Err("disk full on /dev/sda1".into())
}

#[instrument(err)]
fn succeeds_with_err() -> Result<u8, String> {
    Ok(1)
}

#[test]
fn an_error_event_in_a_span_concludes_it_failure_with_its_message() {
    setup();
    {
        let root = info_span!("root_errors");
        let _entered = root.enter();
        assert!(fails_with_err().is_err());
        assert!(succeeds_with_err().is_ok());
        info_span!("logs_an_error").in_scope(|| error!(code = 3, "upload failed: {}", 503));
        info_span!("only_warns").in_scope(|| warn!("slow"));
    }
    let events = support::tree("root_errors");
    let failed = events.one("fails_with_err");
    assert_eq!(conclusion(failed), "FAILURE");
    assert_eq!(
        tag_of(failed, "error.message"),
        Some(&serde_json::json!("disk full on /dev/sda1"))
    );
    assert_eq!(conclusion(events.one("succeeds_with_err")), "SUCCESS");
    let logged = events.one("logs_an_error");
    assert_eq!(conclusion(logged), "FAILURE");
    assert_eq!(
        tag_of(logged, "error.message"),
        Some(&serde_json::json!("upload failed: 503"))
    );
    assert_eq!(conclusion(events.one("only_warns")), "SUCCESS");
    // An error inside a child span is the child's, not its parent's.
    assert_eq!(conclusion(events.one("root_errors")), "SUCCESS");
}

#[test]
fn fields_recorded_after_creation_become_tags() {
    setup();
    {
        let root = info_span!(
            "root_recorded",
            exit_code = tracing::field::Empty,
            step = "build",
            attempt = 1
        );
        root.record("exit_code", 0);
        root.record("attempt", 2);
        root.record("step", tracing::field::debug(vec!["lint", "test"]));
    }
    let events = support::tree("root_recorded");
    let root = events.one("root_recorded");
    assert_eq!(tag_of(root, "exit_code"), Some(&serde_json::json!(0)));
    // Recorded again: the last value, once.
    assert_eq!(tag_of(root, "attempt"), Some(&serde_json::json!(2)));
    assert_eq!(
        tag_of(root, "step"),
        Some(&serde_json::json!("[\"lint\", \"test\"]"))
    );
}

#[test]
fn a_span_never_entered_or_entered_often_is_one_event_over_its_whole_life() {
    setup();
    {
        let never = info_span!("root_never_entered");
        std::thread::sleep(Duration::from_millis(20));
        drop(never);
        let often = info_span!("root_entered_often");
        for _ in 0..100 {
            often.in_scope(|| {});
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let events = support::flushed();
    assert!(duration_ms(events.one("root_never_entered")) >= 20.0);
    let often = events.one("root_entered_often");
    assert!(duration_ms(often) >= 20.0, "{often:#}");
}

/// The child process's side of the cross-process test.
#[track_event]
fn child_process_work() {}

#[test]
#[ignore = "entry point of the child processes the other tests run"]
fn child() {
    match support::scenario().as_deref() {
        Some("tracing") => {
            support::init();
            child_process_work();
            trunk_ci_analytics::flush(Duration::from_secs(10));
        }
        Some("cancelled") => cancelled_child(),
        _ => {}
    }
}

#[track_event]
fn job_with_hanging_span() {
    let span = info_span!("hanging_span", shard = 1);
    let _entered = span.enter();
    hanging_step();
}

#[track_event]
fn hanging_step() {
    // Until the test's signal ends the process.
    std::thread::sleep(Duration::from_secs(120));
}

/// Uploads to the test's server (from the environment), with the layer as global default.
fn cancelled_child() {
    let _guard = trunk_ci_analytics::init(trunk_ci_analytics::Config::from_env().summary(false));
    let subscriber = tracing_subscriber::registry().with(trunk_ci_analytics::tracing::layer());
    tracing::subscriber::set_global_default(subscriber).unwrap();
    job_with_hanging_span();
}

#[test]
fn a_running_span_is_sent_as_started_and_cancelled_on_sigterm() {
    use std::os::unix::process::ExitStatusExt;
    let server = trunk_ci_analytics_testserver::TestServer::start();
    let scratch = Scratch::new("tracing-cancel");
    let mut cmd = support::child("child", "cancelled", &scratch.join("events.jsonl"));
    cmd.env_remove("TRUNK_EVENTS_FILE")
        .env("TRUNK_API_TOKEN", server.token())
        .env("TRUNK_PUBLIC_API_ADDRESS", server.url())
        .env("TRUNK_REPO", "acme/widgets")
        .env("TRUNK_SPOOL_DIR", scratch.join("spool"))
        .stdout(std::process::Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let is_started = |e: &serde_json::Value| e.get("finishedAt").is_none();
    // A watchdog, not a timing assertion: the started event comes after about a second.
    let until = std::time::Instant::now() + Duration::from_secs(60);
    let started = loop {
        let found = server
            .events()
            .into_iter()
            .find(|e| support::name(e) == "hanging_span" && is_started(e));
        if let Some(e) = found {
            break e;
        }
        if std::time::Instant::now() > until {
            let _ = child.kill();
            panic!("no started event of the span: {:#?}", server.events());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    // SAFETY: signals the child this test spawned and has not reaped yet.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    let status = wait_within(&mut child, Duration::from_secs(60));
    assert_eq!(status.signal(), Some(libc::SIGTERM), "{status:?}");

    let finished = Events(
        server
            .events()
            .into_iter()
            .filter(|e| !is_started(e))
            .collect(),
    );
    let span = finished.one("hanging_span");
    assert_eq!(conclusion(span), "CANCELLED");
    assert_eq!(span["id"], started["id"]);
    assert_eq!(span["createdAt"], started["createdAt"]);
    finished.assert_child("hanging_span", "job_with_hanging_span");
    finished.assert_child("hanging_step", "hanging_span");
    assert_eq!(conclusion(finished.one("hanging_step")), "CANCELLED");
    assert_eq!(
        conclusion(finished.one("job_with_hanging_span")),
        "CANCELLED"
    );
}

#[test]
fn a_child_process_started_inside_a_span_is_its_child() {
    setup();
    let dir = Scratch::new("tracing-child");
    let child_events = dir.join("events.jsonl");
    {
        let root = info_span!("root_process");
        let _entered = root.enter();
        let out = support::run(
            support::child("child", "tracing", &child_events)
                .env_remove("TRUNK_CI_ANALYTICS")
                .with_event_context(),
        );
        assert!(out.status.success());
    }
    let parent = support::tree("root_process");
    let child = support::read(&child_events);
    let work = child.one("child_process_work");
    assert_eq!(
        parent_id(work),
        Some(support::id(parent.one("root_process")))
    );
    assert_eq!(work["chainId"], parent.one("root_process")["chainId"]);
}

/// The same pipeline written with `tracing` spans and with `#[track_event]`: the same tree.
fn shape(events: &Events, root: &str) -> Vec<(String, String, String)> {
    let by_id: std::collections::HashMap<&str, &str> = events
        .0
        .iter()
        .map(|e| (support::id(e), support::name(e)))
        .collect();
    let mut shape: Vec<_> = events
        .0
        .iter()
        .map(|e| {
            let parent = parent_id(e)
                .and_then(|p| by_id.get(p))
                .copied()
                .unwrap_or("-");
            (
                support::name(e).replace(root, "ROOT"),
                parent.replace(root, "ROOT"),
                conclusion(e).to_owned(),
            )
        })
        .collect();
    shape.sort();
    shape
}

#[track_event(name = "pipeline_tracked")]
fn pipeline_tracked() -> Result<(), String> {
    build()?;
    test()
}

#[track_event(name = "build")]
fn build() -> Result<(), String> {
    Ok(())
}

#[track_event(name = "test")]
fn test() -> Result<(), String> {
    Err("1 failed".into())
}

#[instrument(name = "pipeline_traced", err)]
fn pipeline_traced() -> Result<(), String> {
    span_build()?;
    span_test()
}

#[instrument(name = "build", err)]
fn span_build() -> Result<(), String> {
    Ok(())
}

#[instrument(name = "test", err)]
fn span_test() -> Result<(), String> {
    Err("1 failed".into())
}

#[test]
fn a_traced_program_gives_the_tree_of_the_tracked_one() {
    setup();
    let _ = pipeline_tracked();
    let tracked = support::tree("pipeline_tracked");
    let _ = pipeline_traced();
    let traced = support::tree("pipeline_traced");
    assert_eq!(
        shape(&tracked, "pipeline_tracked"),
        shape(&traced, "pipeline_traced")
    );
    assert_eq!(
        tag_of(traced.one("test"), "error.message"),
        Some(&serde_json::json!("1 failed"))
    );
}
