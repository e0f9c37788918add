//! The tree of events: nesting on one thread, across threads (`EventContext::attach`),
//! interleaved futures on one thread (`join!`, `select!`), tasks moving between the worker
//! threads of a multi-thread runtime, `root`, and `#[tokio::test]`/`#[tokio::main]` in either
//! order relative to `#[track_event]`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails by panicking

mod support;

use std::collections::HashSet;
use std::time::Duration;

use serde_json::json;
use support::{conclusion, id, parent_id, tag_of};
use trunk_ci_analytics::{FutureExt, current_context, tag, track_event};

#[track_event]
fn leaf() {}

#[track_event]
fn middle() -> u8 {
    leaf();
    1
}

#[track_event]
fn sync_root() {
    middle();
    leaf();
}

#[test]
fn nested_sync_calls_form_one_chain() {
    support::init();
    sync_root();
    let events = support::tree("sync_root");
    assert_eq!(events.len(), 4, "{:?}", events.names());
    events.assert_child("middle", "sync_root");
    let root = events.one("sync_root");
    assert_eq!(parent_id(root), None);
    let mut leaf_parents: Vec<_> = events.all("leaf").into_iter().map(parent_id).collect();
    leaf_parents.sort();
    let mut want = vec![Some(id(root)), Some(id(events.one("middle")))];
    want.sort();
    assert_eq!(leaf_parents, want);
    let ids: HashSet<_> = events.0.iter().map(id).collect();
    assert_eq!(ids.len(), 4, "ids are unique");
}

#[track_event(root)]
fn starts_a_new_chain() {
    in_the_new_chain();
}

#[track_event]
fn in_the_new_chain() {}

#[track_event]
fn after_the_new_chain() {}

#[track_event]
fn root_flag_parent() {
    starts_a_new_chain();
    after_the_new_chain();
}

#[test]
fn root_starts_a_new_chain_and_the_stack_is_restored_after_it() {
    support::init();
    root_flag_parent();
    let outer = support::tree("root_flag_parent");
    assert_eq!(outer.names().len(), 2, "{:?}", outer.names());
    outer.assert_child("after_the_new_chain", "root_flag_parent");
    let inner = support::tree("starts_a_new_chain");
    assert_eq!(parent_id(inner.one("starts_a_new_chain")), None);
    inner.assert_child("in_the_new_chain", "starts_a_new_chain");
    assert_ne!(
        inner.one("starts_a_new_chain")["chainId"],
        outer.one("root_flag_parent")["chainId"]
    );
}

#[track_event(tags(n = n))]
fn on_thread(n: u32) -> u32 {
    on_thread_leaf();
    n
}

#[track_event]
fn on_thread_leaf() {}

#[track_event]
fn unattached_thread_work() {}

#[track_event]
fn threads_root() -> String {
    let ctx = current_context().expect("inside an event");
    let handles: Vec<_> = (0..3)
        .map(|i| {
            let ctx = ctx.clone();
            std::thread::spawn(move || ctx.attach(|| on_thread(i)))
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let outside = std::thread::spawn(|| {
        let none_before = current_context().is_none();
        unattached_thread_work();
        none_before
    });
    assert!(outside.join().unwrap(), "a new thread has no current event");
    ctx.event_id()
}

#[test]
fn attach_makes_work_on_other_threads_children() {
    support::init();
    let ctx_id = threads_root();
    let events = support::tree("threads_root");
    let root = events.one("threads_root");
    assert_eq!(id(root), ctx_id, "current_context() is the running event");
    let threads = events.all("on_thread");
    assert_eq!(threads.len(), 3);
    let mut ns: Vec<_> = threads.iter().map(|e| tag_of(e, "n").cloned()).collect();
    ns.sort_by_key(|v| v.as_ref().and_then(|v| v.as_u64()));
    assert_eq!(ns, vec![Some(json!(0)), Some(json!(1)), Some(json!(2))]);
    for t in &threads {
        assert_eq!(parent_id(t), Some(id(root)));
    }
    let thread_ids: HashSet<_> = threads.iter().map(|e| id(e)).collect();
    let leaves = events.all("on_thread_leaf");
    assert_eq!(leaves.len(), 3);
    let leaf_parents: HashSet<_> = leaves.iter().map(|e| parent_id(e).unwrap()).collect();
    assert_eq!(
        leaf_parents, thread_ids,
        "each leaf under its own thread's event"
    );
    assert!(events.all("unattached_thread_work").is_empty());
    let all = support::flushed();
    let alone = all.one("unattached_thread_work");
    assert_eq!(
        parent_id(alone),
        None,
        "an unattached thread starts its own chain"
    );
    assert_eq!(alone["chainId"].as_str(), Some(id(alone)));
}

#[track_event(tags(branch = branch))]
async fn join_child(branch: &'static str) {
    tokio::task::yield_now().await;
}

#[track_event]
fn sync_in_async(branch: &'static str) {
    tag("branch", branch);
}

#[track_event]
async fn branch_a() {
    for _ in 0..3 {
        tokio::task::yield_now().await;
        join_child("a").await;
        sync_in_async("a");
    }
}

#[track_event]
async fn branch_b() {
    for _ in 0..3 {
        join_child("b").await;
        tokio::task::yield_now().await;
        sync_in_async("b");
    }
}

#[track_event]
async fn join_root() {
    tokio::join!(branch_a(), branch_b());
}

#[track_event]
async fn select_fast() -> u8 {
    tokio::task::yield_now().await;
    1
}

#[track_event]
async fn select_slow_child() {}

#[track_event]
async fn select_slow() -> u8 {
    select_slow_child().await;
    std::future::pending::<()>().await;
    2
}

#[track_event]
async fn select_root() -> u8 {
    tokio::select! {
        v = select_slow() => v,
        v = select_fast() => v,
    }
}

#[test]
fn interleaved_futures_on_one_thread_keep_their_own_parents() {
    support::init();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(join_root());
    assert_eq!(rt.block_on(select_root()), 1);

    let events = support::tree("join_root");
    events.assert_child("branch_a", "join_root");
    events.assert_child("branch_b", "join_root");
    let (a, b) = (id(events.one("branch_a")), id(events.one("branch_b")));
    for name in ["join_child", "sync_in_async"] {
        let all = events.all(name);
        assert_eq!(all.len(), 6, "{name}");
        for e in all {
            let want = match tag_of(e, "branch") {
                Some(v) if v == "a" => a,
                Some(v) if v == "b" => b,
                other => panic!("unexpected branch tag {other:?}"),
            };
            assert_eq!(parent_id(e), Some(want), "{name} {e:#}");
        }
    }

    let events = support::tree("select_root");
    events.assert_child("select_fast", "select_root");
    events.assert_child("select_slow", "select_root");
    events.assert_child("select_slow_child", "select_slow");
    assert_eq!(conclusion(events.one("select_slow")), "CANCELLED");
    assert_eq!(conclusion(events.one("select_fast")), "SUCCESS");
    assert_eq!(conclusion(events.one("select_root")), "SUCCESS");
}

#[track_event(tags(task = task))]
async fn hopping_leaf(task: usize) {
    tokio::task::yield_now().await;
}

#[track_event(tags(task = task))]
async fn hopping_task(task: usize) -> usize {
    for _ in 0..10 {
        tokio::task::yield_now().await;
        hopping_leaf(task).await;
        // Give the other worker a chance to steal this task.
        tokio::time::sleep(Duration::from_micros(50)).await;
    }
    task
}

#[track_event]
async fn spawned_without_context() {}

#[track_event]
async fn spawn_root() {
    let ctx = current_context().expect("inside an event");
    let mut handles = Vec::new();
    for task in 0..3 {
        handles.push(tokio::spawn(ctx.instrument(hopping_task(task))));
    }
    for task in 3..6 {
        handles.push(tokio::spawn(hopping_task(task).with_current_context()));
    }
    for h in handles {
        h.await.unwrap();
    }
    tokio::spawn(spawned_without_context()).await.unwrap();
}

#[test]
fn spawned_tasks_on_a_multi_thread_runtime_keep_their_parent() {
    support::init();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap();
    rt.block_on(spawn_root());
    drop(rt);

    let events = support::tree("spawn_root");
    let tasks = events.all("hopping_task");
    assert_eq!(tasks.len(), 6);
    let root = id(events.one("spawn_root"));
    for t in &tasks {
        assert_eq!(parent_id(t), Some(root));
    }
    let leaves = events.all("hopping_leaf");
    assert_eq!(leaves.len(), 60);
    for leaf in leaves {
        let task = tasks
            .iter()
            .find(|t| Some(id(t)) == parent_id(leaf))
            .expect("every leaf under a task");
        assert_eq!(
            tag_of(task, "task"),
            tag_of(leaf, "task"),
            "under its own task"
        );
    }
    assert!(events.all("spawned_without_context").is_empty());
    let alone = support::flushed();
    let alone = alone.one("spawned_without_context");
    assert_eq!(parent_id(alone), None, "no context leaks into other tasks");
}

#[track_event]
async fn tokio_leaf(from: &'static str) -> &'static str {
    tokio::task::yield_now().await;
    from
}

// Run only from `tokio_test_and_main_work_on_either_side_of_track_event`: started by the
// harness, their event could set the runtime up before `support::init` does.
#[tokio::test]
#[ignore = "run by tokio_test_and_main_work_on_either_side_of_track_event"]
#[track_event]
async fn tokio_test_outside_ours() {
    assert!(current_context().is_some());
    assert_eq!(
        tokio_leaf("tokio_test_outside_ours").await,
        "tokio_test_outside_ours"
    );
}

#[track_event]
#[tokio::test]
#[ignore = "run by tokio_test_and_main_work_on_either_side_of_track_event"]
async fn ours_outside_tokio_test() {
    assert!(current_context().is_some());
    tokio_leaf("ours_outside_tokio_test").await;
}

#[tokio::main(flavor = "current_thread")]
#[track_event]
async fn tokio_main_outside_ours() -> Result<u8, String> {
    tokio_leaf("tokio_main_outside_ours").await;
    Err("from main".into())
}

#[track_event]
#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn ours_outside_tokio_main() -> u8 {
    tokio_leaf("ours_outside_tokio_main").await;
    3
}

#[track_event]
fn calls_tokio_entry_points() {
    tokio_test_outside_ours();
    ours_outside_tokio_test();
    let _ = tokio_main_outside_ours();
    ours_outside_tokio_main();
}

#[test]
fn tokio_test_and_main_work_on_either_side_of_track_event() {
    support::init();
    calls_tokio_entry_points();
    let events = support::tree("calls_tokio_entry_points");
    let entries = [
        ("tokio_test_outside_ours", "SUCCESS"),
        ("ours_outside_tokio_test", "SUCCESS"),
        ("tokio_main_outside_ours", "FAILURE"),
        ("ours_outside_tokio_main", "SUCCESS"),
    ];
    let leaves = events.all("tokio_leaf");
    assert_eq!(leaves.len(), 4, "{:?}", events.names());
    for (entry, want) in entries {
        events.assert_child(entry, "calls_tokio_entry_points");
        assert_eq!(conclusion(events.one(entry)), want, "{entry}");
        let entry_id = id(events.one(entry));
        assert_eq!(
            leaves
                .iter()
                .filter(|l| parent_id(l) == Some(entry_id))
                .count(),
            1,
            "one leaf under {entry}"
        );
    }
}
