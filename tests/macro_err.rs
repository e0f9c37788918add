//! `#[track_event(err)]`: a returned `Err`'s `Display` becomes the event's `error.message`
//! tag, bounded, for sync and async functions and the future-returning shapes; nothing is
//! recorded without `err`, for `Ok`, or with `err = false`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails by panicking

mod support;

use std::future::Future;
use std::pin::Pin;

use serde_json::Value;
use support::{conclusion, tag_of};
use trunk_ci_analytics::track_event;

/// What the error tag may hold at most, marker included.
const MAX_CHARS: usize = 1024;
const MARKER: &str = "… [truncated]";

fn error_message<'a>(events: &'a support::Events, name: &str) -> Option<&'a str> {
    tag_of(events.one(name), "error.message").map(|v| v.as_str().expect("a string"))
}

#[derive(Debug)]
struct DiskFull(&'static str);

impl std::fmt::Display for DiskFull {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "disk full: {}", self.0)
    }
}

#[track_event(err)]
fn sync_err(path: &'static str) -> Result<u8, DiskFull> {
    Err(DiskFull(path))
}

#[track_event(err)]
fn sync_ok() -> Result<u8, DiskFull> {
    Ok(1)
}

#[track_event]
fn sync_err_untracked() -> Result<u8, DiskFull> {
    Err(DiskFull("/secret"))
}

#[track_event(err = false)]
fn sync_err_switched_off() -> Result<u8, DiskFull> {
    Err(DiskFull("/secret"))
}

#[track_event(err, tags(stage = "link"))]
fn sync_question_mark() -> std::io::Result<()> {
    std::fs::read("/nonexistent/trunk-ci-analytics/err-test")?;
    Ok(())
}

#[track_event(err)]
fn sync_long(n: usize) -> Result<(), String> {
    Err("ü".repeat(n))
}

#[test]
fn sync_functions_record_the_error_text_only_with_err() {
    support::init();
    assert!(sync_err("/var/cache").is_err());
    assert!(sync_ok().is_ok());
    assert!(sync_err_untracked().is_err());
    assert!(sync_err_switched_off().is_err());
    let io_error = sync_question_mark().unwrap_err().to_string();
    let events = support::flushed();

    assert_eq!(
        error_message(&events, "sync_err"),
        Some("disk full: /var/cache")
    );
    assert_eq!(conclusion(events.one("sync_err")), "FAILURE");
    assert_eq!(error_message(&events, "sync_ok"), None);
    assert_eq!(error_message(&events, "sync_err_untracked"), None);
    assert_eq!(error_message(&events, "sync_err_switched_off"), None);

    let q = events.one("sync_question_mark");
    assert_eq!(
        error_message(&events, "sync_question_mark"),
        Some(&*io_error)
    );
    assert_eq!(tag_of(q, "stage"), Some(&Value::from("link")));
}

#[test]
fn long_error_texts_are_truncated_on_a_character_boundary() {
    support::init();
    let _ = sync_long(MAX_CHARS);
    let _ = sync_long(MAX_CHARS + 1);
    let events = support::flushed();
    let texts: Vec<&str> = events
        .all("sync_long")
        .iter()
        .map(|e| tag_of(e, "error.message").unwrap().as_str().unwrap())
        .collect();
    assert_eq!(texts.len(), 2);
    let whole = "ü".repeat(MAX_CHARS);
    assert!(
        texts.contains(&whole.as_str()),
        "a text at the limit is kept"
    );
    let cut = texts
        .iter()
        .find(|t| t.ends_with(MARKER))
        .expect("a cut text");
    assert_eq!(cut.chars().count(), MAX_CHARS);
    assert!(whole.starts_with(cut.trim_end_matches(MARKER)));
}

#[track_event(err)]
async fn async_err(fail: bool) -> Result<u32, String> {
    tokio::task::yield_now().await;
    let n: u32 = if fail { "x" } else { "7" }
        .parse()
        .map_err(|e| format!("not a number: {e}"))?;
    Ok(n)
}

#[track_event]
async fn async_err_untracked() -> Result<u32, String> {
    Err("no".into())
}

#[async_trait::async_trait]
trait Job {
    async fn run(&self, input: &str) -> Result<usize, String>;
}

struct Compile;

#[async_trait::async_trait]
impl Job for Compile {
    #[track_event(err)]
    async fn run(&self, input: &str) -> Result<usize, String> {
        tokio::task::yield_now().await;
        if input.is_empty() {
            return Err("no input".into());
        }
        Ok(input.len())
    }
}

#[track_event(err)]
fn boxed_err() -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>> {
    Box::pin(async move {
        tokio::task::yield_now().await;
        Err("boxed failed".to_string())
    })
}

// The shape under test, not an oversight.
#[allow(clippy::manual_async_fn)]
#[track_event(err)]
fn impl_future_err() -> impl Future<Output = Result<(), String>> {
    async move { Err("impl future failed".to_string()) }
}

#[test]
fn async_functions_and_future_shapes_record_the_error_text() {
    support::init();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        assert!(async_err(true).await.is_err());
        assert!(async_err_untracked().await.is_err());
        assert!(Compile.run("").await.is_err());
        assert!(boxed_err().await.is_err());
        assert!(impl_future_err().await.is_err());
    });
    let events = support::flushed();
    assert_eq!(
        error_message(&events, "async_err"),
        Some("not a number: invalid digit found in string")
    );
    assert_eq!(conclusion(events.one("async_err")), "FAILURE");
    assert_eq!(error_message(&events, "async_err_untracked"), None);
    assert_eq!(error_message(&events, "run"), Some("no input"));
    assert_eq!(error_message(&events, "boxed_err"), Some("boxed failed"));
    assert_eq!(
        error_message(&events, "impl_future_err"),
        Some("impl future failed")
    );
}

#[track_event(err)]
async fn async_ok() -> Result<u32, String> {
    Ok(1)
}

#[test]
fn an_async_ok_records_no_error_text() {
    support::init();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    assert_eq!(rt.block_on(async_ok()), Ok(1));
    let events = support::flushed();
    assert_eq!(error_message(&events, "async_ok"), None);
    assert_eq!(conclusion(events.one("async_ok")), "SUCCESS");
}
