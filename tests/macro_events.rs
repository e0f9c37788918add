//! What one `#[track_event]` call records: the conclusion for every rule of DESIGN §5, panics,
//! dropped futures, tags, metrics, sequence fields and the default key.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails by panicking

mod support;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::process::{ExitCode, ExitStatus, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::json;
use support::{conclusion, metric_of, sequence_tag_of, tag_of};
use trunk_ci_analytics::{Conclusion, IntoConclusion, metric, set_conclusion, tag, track_event};

#[cfg(unix)]
fn exit_status(code: i32) -> ExitStatus {
    std::os::unix::process::ExitStatusExt::from_raw(code << 8)
}

#[cfg(windows)]
fn exit_status(code: i32) -> ExitStatus {
    std::os::windows::process::ExitStatusExt::from_raw(code as u32)
}

mod conclusions {
    use super::*;

    type Res<T> = Result<T, String>;

    #[track_event]
    pub fn result_ok() -> Result<u8, String> {
        Ok(1)
    }
    #[track_event]
    pub fn result_err() -> Result<u8, String> {
        Err("no".into())
    }
    #[track_event]
    pub fn io_alias_err() -> std::io::Result<()> {
        std::fs::metadata("/this/path/does/not/exist")?;
        Ok(())
    }
    #[track_event]
    pub fn local_alias_ok() -> Res<()> {
        Ok(())
    }
    #[track_event]
    pub fn question_mark_err() -> Res<u32> {
        let n: u32 = "not a number".parse().map_err(|_| "parse".to_string())?;
        Ok(n)
    }
    #[track_event]
    pub fn early_return_err(x: i32) -> Res<i32> {
        if x < 0 {
            return Err("negative".into());
        }
        Ok(x)
    }
    #[track_event]
    pub fn unit() {}
    #[track_event]
    pub fn bool_true() -> bool {
        true
    }
    #[track_event]
    pub fn bool_false() -> bool {
        false
    }
    #[track_event]
    pub fn status_ok() -> ExitStatus {
        exit_status(0)
    }
    #[track_event]
    pub fn status_failed() -> ExitStatus {
        exit_status(2)
    }
    #[track_event]
    pub fn output_failed() -> Output {
        Output {
            status: exit_status(1),
            stdout: Vec::new(),
            stderr: Vec::new(),
        }
    }
    #[track_event]
    pub fn exit_code_success() -> ExitCode {
        ExitCode::SUCCESS
    }
    #[track_event]
    pub fn exit_code_three() -> ExitCode {
        ExitCode::from(3)
    }
    #[track_event]
    pub fn option_none() -> Option<u8> {
        None
    }
    #[track_event]
    pub fn option_some() -> Option<u8> {
        Some(1)
    }
    pub struct Opaque;
    #[track_event]
    pub fn other_type() -> Opaque {
        Opaque
    }
    #[track_event]
    pub fn impl_trait_err() -> Result<impl Iterator<Item = u8>, String> {
        if true {
            return Err("no".into());
        }
        Ok(0..1)
    }

    pub enum Step {
        Ran,
        NotNeeded,
    }
    impl IntoConclusion for Step {
        fn conclusion(&self) -> Conclusion {
            match self {
                Step::Ran => Conclusion::Success,
                Step::NotNeeded => Conclusion::Skipped,
            }
        }
    }
    #[track_event]
    pub fn own_mapping() -> Step {
        Step::NotNeeded
    }
    #[track_event]
    pub fn own_mapping_ran() -> Step {
        Step::Ran
    }

    fn over_budget(took: &u64) -> Conclusion {
        if *took > 100 {
            Conclusion::TimedOut
        } else {
            Conclusion::Success
        }
    }
    #[track_event(conclusion = over_budget)]
    pub fn by_path() -> u64 {
        250
    }
    #[track_event(conclusion = over_budget)]
    pub async fn by_path_async() -> u64 {
        500
    }

    #[track_event]
    pub fn set_wins_over_err() -> Result<(), String> {
        set_conclusion(Conclusion::Skipped);
        Err("ignored".into())
    }
    #[track_event]
    pub fn set_wins_over_ok() -> Result<(), String> {
        set_conclusion(Conclusion::Failure);
        Ok(())
    }
    #[track_event(conclusion = over_budget)]
    pub fn set_wins_over_path() -> u64 {
        set_conclusion(Conclusion::Cancelled);
        1
    }
    #[track_event]
    pub fn set_wins_over_panic() {
        set_conclusion(Conclusion::TimedOut);
        panic!("after setting the conclusion");
    }
    #[track_event]
    pub async fn async_err() -> Result<(), String> {
        tokio::task::yield_now().await;
        Err("async".into())
    }
    #[track_event]
    pub async fn async_set_conclusion() -> bool {
        set_conclusion(Conclusion::Skipped);
        tokio::task::yield_now().await;
        true
    }

    #[track_event]
    pub fn conclusions_root() {
        let _ = result_ok();
        let _ = result_err();
        let _ = io_alias_err();
        let _ = local_alias_ok();
        let _ = question_mark_err();
        let _ = early_return_err(-1);
        unit();
        bool_true();
        bool_false();
        status_ok();
        status_failed();
        let _ = output_failed();
        let _ = exit_code_success();
        let _ = exit_code_three();
        let _ = option_none();
        let _ = option_some();
        let _ = other_type();
        let _ = impl_trait_err().map(|i| i.count());
        let _ = own_mapping();
        let _ = own_mapping_ran();
        let _ = by_path();
        let _ = set_wins_over_err();
        let _ = set_wins_over_ok();
        let _ = set_wins_over_path();
        let _ = catch_unwind(set_wins_over_panic);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let _ = by_path_async().await;
            let _ = async_err().await;
            let _ = async_set_conclusion().await;
        });
    }
}

#[test]
fn every_return_type_maps_to_its_conclusion() {
    support::init();
    conclusions::conclusions_root();
    let events = support::tree("conclusions_root");
    let expected = [
        ("result_ok", "SUCCESS"),
        ("result_err", "FAILURE"),
        ("io_alias_err", "FAILURE"),
        ("local_alias_ok", "SUCCESS"),
        ("question_mark_err", "FAILURE"),
        ("early_return_err", "FAILURE"),
        ("unit", "SUCCESS"),
        ("bool_true", "SUCCESS"),
        ("bool_false", "FAILURE"),
        ("status_ok", "SUCCESS"),
        ("status_failed", "FAILURE"),
        ("output_failed", "FAILURE"),
        ("exit_code_success", "SUCCESS"),
        ("exit_code_three", "FAILURE"),
        ("option_none", "SUCCESS"),
        ("option_some", "SUCCESS"),
        ("other_type", "SUCCESS"),
        ("impl_trait_err", "FAILURE"),
        ("own_mapping", "SKIPPED"),
        ("own_mapping_ran", "SUCCESS"),
        ("by_path", "TIMED_OUT"),
        ("by_path_async", "TIMED_OUT"),
        ("set_wins_over_err", "SKIPPED"),
        ("set_wins_over_ok", "FAILURE"),
        ("set_wins_over_path", "CANCELLED"),
        ("set_wins_over_panic", "TIMED_OUT"),
        ("async_err", "FAILURE"),
        ("async_set_conclusion", "SKIPPED"),
        ("conclusions_root", "SUCCESS"),
    ];
    for (name, want) in expected {
        assert_eq!(conclusion(events.one(name)), want, "conclusion of {name}");
        if name != "conclusions_root" {
            events.assert_child(name, "conclusions_root");
        }
    }
    assert_eq!(events.len(), expected.len(), "{:?}", events.names());
}

#[track_event]
fn panics_with_message(what: &str) -> u32 {
    panic!("boom: {what}")
}

#[track_event]
fn panics_with_payload() {
    std::panic::panic_any(42u16)
}

#[track_event]
fn outer_of_panic() -> u32 {
    panics_with_message("nested") + 1
}

#[track_event]
async fn panics_async() -> Result<(), String> {
    tokio::task::yield_now().await;
    panic!("async boom")
}

#[track_event]
fn panic_root() {
    let err = catch_unwind(|| panics_with_message("direct")).unwrap_err();
    assert_eq!(err.downcast_ref::<String>().unwrap(), "boom: direct");
    let err = catch_unwind(panics_with_payload).unwrap_err();
    assert_eq!(err.downcast_ref::<u16>(), Some(&42));
    let err = catch_unwind(outer_of_panic).unwrap_err();
    assert_eq!(err.downcast_ref::<String>().unwrap(), "boom: nested");
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let err = catch_unwind(AssertUnwindSafe(|| rt.block_on(panics_async()))).unwrap_err();
    assert_eq!(err.downcast_ref::<&str>(), Some(&"async boom"));
}

#[test]
fn a_panic_is_recorded_as_failure_and_continues_unchanged() {
    support::init();
    panic_root();
    let events = support::tree("panic_root");
    assert_eq!(events.all("panics_with_message").len(), 2);
    for e in events.all("panics_with_message") {
        assert_eq!(conclusion(e), "FAILURE");
    }
    for name in ["panics_with_payload", "outer_of_panic", "panics_async"] {
        assert_eq!(conclusion(events.one(name)), "FAILURE", "{name}");
        events.assert_child(name, "panic_root");
    }
    let nested = events
        .all("panics_with_message")
        .into_iter()
        .find(|e| support::parent_id(e) == Some(support::id(events.one("outer_of_panic"))));
    assert!(
        nested.is_some(),
        "the nested panic's event is under its caller"
    );
    assert_eq!(conclusion(events.one("panic_root")), "SUCCESS");
}

#[track_event]
async fn waits_forever() {
    std::future::pending::<()>().await
}

#[track_event]
async fn never_polled() {}

#[track_event]
fn cancel_root() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let timed_out = rt
        .block_on(async { tokio::time::timeout(Duration::from_millis(5), waits_forever()).await });
    assert!(timed_out.is_err());
    drop(never_polled());
}

#[test]
fn a_dropped_future_is_cancelled_and_an_unpolled_one_records_nothing() {
    support::init();
    cancel_root();
    let events = support::tree("cancel_root");
    assert_eq!(conclusion(events.one("waits_forever")), "CANCELLED");
    events.assert_child("waits_forever", "cancel_root");
    assert!(
        events.all("never_polled").is_empty(),
        "{:?}",
        events.names()
    );
}

static EVALUATIONS: AtomicUsize = AtomicUsize::new(0);

fn counted(files: &[String]) -> usize {
    EVALUATIONS.fetch_add(1, Ordering::SeqCst);
    files.len()
}

#[track_event(
    tags(files = counted(&files), first = files[0], "target triple" = target),
    metrics(bytes = files.iter().map(String::len).sum::<usize>())
)]
fn consumes(mut files: Vec<String>, target: String) -> Vec<String> {
    files.push(target);
    files.extend(["more".to_owned(), "and more".to_owned()]);
    files
}

#[test]
fn tags_are_evaluated_once_at_entry_before_arguments_move() {
    support::init();
    let out = consumes(vec!["a.rs".into(), "bb.rs".into()], "x86_64".into());
    assert_eq!(out.len(), 5);
    assert_eq!(EVALUATIONS.load(Ordering::SeqCst), 1);
    let events = support::flushed();
    let e = events.one("consumes");
    assert_eq!(tag_of(e, "files"), Some(&json!(2)));
    assert_eq!(tag_of(e, "first"), Some(&json!("a.rs")));
    assert_eq!(tag_of(e, "target triple"), Some(&json!("x86_64")));
    assert_eq!(metric_of(e, "bytes"), Some(9.0));
}

#[track_event(
    name = "values: custom name",
    key = "tests::values::explicit",
    kind = "step",
    platform = "buildkite",
    tags(shard = 3u8, ratio = 0.25, big = u64::MAX, neg = -7i64, branch = "main",
         path = std::path::Path::new("/tmp/x").display(), flag = true, r#type = 'c'),
    metrics(crates = 10u32, ratio = 0.5f32, elapsed = Duration::from_millis(1500),
            nan = f64::NAN, inf = f32::INFINITY),
    sequence_tags(team = "build", tier = 2)
)]
fn declared_values() {
    std::thread::sleep(Duration::from_millis(20));
    tag("added_in_body", "yes");
    tag("count_in_body", 5u32);
    metric("files_in_body", 12);
    metric("neg_inf_in_body", f64::NEG_INFINITY);
    nested_with_its_own_tags();
    tag("after_child", 1);
}

#[track_event]
fn nested_with_its_own_tags() {
    tag("inner", "child only");
}

#[test]
fn tags_metrics_and_sequence_fields_are_recorded_as_declared() {
    support::init();
    declared_values();
    let events = support::flushed();
    let e = events.one("values: custom name");
    assert_eq!(tag_of(e, "shard"), Some(&json!(3)), "integers stay numbers");
    assert_eq!(
        tag_of(e, "ratio"),
        Some(&json!(0.25)),
        "floats stay numbers"
    );
    assert_eq!(tag_of(e, "big"), Some(&json!(u64::MAX)));
    assert_eq!(tag_of(e, "neg"), Some(&json!(-7)));
    assert_eq!(tag_of(e, "branch"), Some(&json!("main")));
    assert_eq!(tag_of(e, "path"), Some(&json!("/tmp/x")), "Display");
    assert_eq!(tag_of(e, "flag"), Some(&json!("true")));
    assert_eq!(tag_of(e, "type"), Some(&json!("c")), "raw identifier keys");
    assert_eq!(tag_of(e, "added_in_body"), Some(&json!("yes")));
    assert_eq!(tag_of(e, "count_in_body"), Some(&json!(5)));
    assert_eq!(tag_of(e, "after_child"), Some(&json!(1)));
    assert_eq!(
        tag_of(e, "inner"),
        None,
        "the child's tag stays on the child"
    );
    let child = events.one("nested_with_its_own_tags");
    assert_eq!(tag_of(child, "inner"), Some(&json!("child only")));

    assert_eq!(metric_of(e, "crates"), Some(10.0));
    assert_eq!(metric_of(e, "ratio"), Some(0.5));
    assert_eq!(metric_of(e, "elapsed"), Some(1500.0));
    assert_eq!(metric_of(e, "files_in_body"), Some(12.0));
    for dropped in ["nan", "inf", "neg_inf_in_body"] {
        assert_eq!(
            metric_of(e, dropped),
            None,
            "non-finite {dropped} is dropped"
        );
    }
    let duration = metric_of(e, "duration_ms").expect("duration_ms");
    assert!(duration >= 20.0, "duration covers the body: {duration}");
    let (created, finished) = (
        e["createdAt"].as_u64().unwrap(),
        e["finishedAt"].as_u64().unwrap(),
    );
    assert!(finished >= created + 20, "{created}..{finished}");

    let seq = &e["sequence"];
    assert_eq!(seq["name"], "values: custom name");
    assert_eq!(seq["key"], "tests::values::explicit");
    assert_eq!(seq["kind"], "step");
    assert_eq!(seq["platform"], "buildkite");
    assert_eq!(seq["payload"]["metrics"], json!([]));
    assert_eq!(sequence_tag_of(e, "team"), Some(&json!("build")));
    assert_eq!(sequence_tag_of(e, "tier"), Some(&json!(2)));
    assert_eq!(sequence_tag_of(e, "shard"), None);
    assert_eq!(tag_of(e, "team"), None, "sequence tags are not event tags");
}

mod nested {
    pub mod module {
        #[trunk_ci_analytics::track_event]
        pub fn default_key_in_module() -> u8 {
            1
        }
    }
}

#[track_event]
fn default_key_at_root() {}

#[track_event]
fn r#match() {}

// `crate = path`: the runtime reached through a re-export.
mod reexport {
    pub use trunk_ci_analytics as analytics;
}

#[track_event(crate = crate::reexport::analytics, tags(via = "reexport"))]
fn through_reexport() -> Result<(), ()> {
    Err(())
}

#[test]
fn defaults_key_name_kind_and_the_crate_path() {
    support::init();
    nested::module::default_key_in_module();
    default_key_at_root();
    r#match();
    let _ = through_reexport();
    let events = support::flushed();
    let e = events.one("default_key_in_module");
    assert_eq!(
        support::key(e),
        "trunk-ci-analytics::macro_events::nested::module::default_key_in_module"
    );
    assert_eq!(e["sequence"]["kind"], "function");
    assert_eq!(
        support::key(events.one("default_key_at_root")),
        "trunk-ci-analytics::macro_events::default_key_at_root"
    );
    assert_eq!(
        support::key(events.one("match")),
        "trunk-ci-analytics::macro_events::match"
    );
    for e in &events.0 {
        assert!(
            e["sequence"]["platform"]
                .as_str()
                .is_some_and(|p| !p.is_empty())
        );
        assert!(support::key(e).chars().count() < 128);
    }
    let e = events.one("through_reexport");
    assert_eq!(conclusion(e), "FAILURE");
    assert_eq!(tag_of(e, "via"), Some(&json!("reexport")));
}
