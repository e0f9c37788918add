use super::*;
use crate::Conclusion;
use crate::pipeline::upload_status::Upload;

fn node(id: u64, parent: Option<u64>, name: &str, c: Conclusion, start: f64) -> Node {
    Node {
        id,
        parent,
        name: name.into(),
        kind: "step".into(),
        conclusion: c,
        duration_ms: 12.5,
        start_us: start,
        pid: 1,
        error: None,
        critical_path: None,
    }
}

fn summary() -> Summary {
    Summary::new(Arc::new(UploadStatus::new(Upload::Local)), None, None)
}

#[test]
fn prints_the_tree_once_the_root_has_ended() {
    let mut s = summary();
    s.add(1, node(3, Some(2), "unit", Conclusion::Success, 3.0));
    s.add(1, node(2, Some(1), "test", Conclusion::Failure, 2.0));
    assert!(s.take_ended().is_none(), "no root yet");
    s.add(1, node(1, None, "ci", Conclusion::Failure, 0.0));
    // A child recorded on another thread may arrive after its root: still in the tree.
    s.add(1, node(4, Some(1), "fmt", Conclusion::Success, 1.0));
    let out = s.take_ended().unwrap_or_default();
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("trunk-ci-analytics: ci ✘ 12.5 ms (4 events, local mode"),
        "{out}"
    );
    assert!(lines[1].starts_with("  ✘ ci"), "{out}");
    // Children in start order, each one level deeper than its parent.
    assert!(lines[2].starts_with("    ✔ fmt"), "{out}");
    assert!(lines[3].starts_with("    ✘ test"), "{out}");
    assert!(lines[4].starts_with("      ✔ unit"), "{out}");
    assert_eq!(s.held, 0);
}

#[test]
fn the_header_says_what_became_of_uploading() {
    let status = Arc::new(UploadStatus::new(Upload::Uploading));
    let mut s = Summary::new(Arc::clone(&status), None, None);
    s.add(1, node(1, None, "ci", Conclusion::Success, 0.0));
    assert!(
        s.take_ended()
            .is_some_and(|t| t.contains("uploading to Trunk"))
    );
    status.set(Upload::Stopped);
    s.add(2, node(2, None, "ci", Conclusion::Success, 0.0));
    let out = s.take_ended().unwrap_or_default();
    assert!(out.contains("not uploaded: uploading stopped"), "{out}");
}

#[test]
fn roots_past_the_first_ones_wait_for_the_exit_and_print_as_one_tree() {
    let mut s = summary();
    let mut printed = String::new();
    for i in 1..=1_000u64 {
        s.add(i, node(i, None, "step", Conclusion::Success, i as f64));
        printed.extend(s.take_ended());
    }
    printed.extend(s.take_deferred());
    assert!(printed.lines().count() <= 10, "{printed}");
    assert!(printed.contains("step ×998"), "{printed}");
    assert!(s.take_deferred().is_none(), "printed once");
}
