//! The local-mode tree summary, printed by a real child process (this test binary started
//! again) whose root event's children finished on other threads: each thread hands its
//! events over in batches, so a child may reach the background thread after its root, and
//! the tree must still hold it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails by panicking

use std::time::Duration;

use trunk_ci_analytics::{current_context, track_event};
use trunk_ci_analytics_testkit::{assert_selected, output_within, rerun};

const CHILD: &str = "TRUNK_TEST_SUMMARY_CHILD";

#[track_event]
fn leaf(n: u32) -> Result<u32, String> {
    if n == 2 { Err("two".into()) } else { Ok(n) }
}

#[track_event(name = "fan_out")]
fn fan_out() {
    let ctx = current_context().expect("an event is current");
    let threads: Vec<_> = (0..3)
        .map(|n| {
            let ctx = ctx.clone();
            std::thread::spawn(move || ctx.attach(|| leaf(n)))
        })
        .collect();
    for t in threads {
        let _ = t.join();
    }
}

#[track_event]
fn unit(n: u32) -> Result<u32, String> {
    if n % 2_000 == 1_999 {
        Err("unit failed".into())
    } else {
        Ok(n)
    }
}

#[track_event(name = "many_siblings")]
fn many_siblings() {
    for n in 0..20_000 {
        let _ = unit(n);
    }
}

#[track_event]
fn descend(depth: u32) -> Result<(), String> {
    if depth == 0 {
        return Err("bottom".into());
    }
    descend(depth - 1)
}

#[track_event]
fn step(n: u32) -> u32 {
    n
}

#[test]
#[ignore = "entry point of the child processes the other tests start"]
fn child_entry() {
    let Ok(scenario) = std::env::var(CHILD) else {
        return;
    };
    match scenario.as_str() {
        "fan_out" => fan_out(),
        "siblings" => many_siblings(),
        "deep" => {
            // Room for 2,000 nested frames whatever the test thread's stack.
            let t = std::thread::Builder::new()
                .stack_size(256 << 20)
                .spawn(|| descend(1_999))
                .unwrap();
            let _ = t.join();
        }
        "roots" => {
            for n in 0..1_000 {
                step(n);
            }
        }
        other => panic!("unknown scenario {other}"),
    }
    // A plain exit: roots kept for the exit are printed by the exit hook's flush.
    std::process::exit(0);
}

/// Runs `scenario` in a child process, from a cleared environment, and returns its stderr.
fn run(scenario: &str) -> String {
    let out = output_within(
        rerun("child_entry").env(CHILD, scenario),
        Duration::from_secs(120),
    );
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    assert_selected(&String::from_utf8_lossy(&out.stdout));
    stderr
}

/// The summary lines of `stderr` (from the first header on), checked against the bounds:
/// a few dozen lines and a few KB whatever the run.
fn bounded(stderr: &str) -> Vec<&str> {
    let lines: Vec<&str> = stderr
        .lines()
        .skip_while(|l| !l.starts_with("trunk-ci-analytics: "))
        .filter(|l| !l.starts_with("test ") && !l.starts_with("running ") && !l.is_empty())
        .collect();
    assert!(!lines.is_empty(), "no summary: {stderr}");
    assert!(lines.len() <= 45, "{} lines:\n{stderr}", lines.len());
    let bytes: usize = lines.iter().map(|l| l.len() + 1).sum();
    assert!(bytes <= 8 * 1024, "{bytes} bytes:\n{stderr}");
    lines
}

#[test]
fn twenty_thousand_siblings_print_one_line_for_all() {
    let stderr = run("siblings");
    let lines = bounded(&stderr);
    assert!(lines[0].contains("(20,001 events"), "{stderr}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("unit ×20,000") && l.contains("✔ 19,990 ✘ 10")),
        "{stderr}"
    );
    // The first failures are drawn one by one.
    assert!(
        lines
            .iter()
            .any(|l| l.trim_start().starts_with("✘ unit ") && !l.contains('×')),
        "{stderr}"
    );
}

#[test]
fn a_recursion_two_thousand_deep_prints_its_top_and_its_end() {
    let stderr = run("deep");
    let lines = bounded(&stderr);
    assert!(lines[0].contains("descend ✘"), "{stderr}");
    assert!(
        lines.iter().any(|l| l.contains("levels left out")),
        "{stderr}"
    );
    // Indentation is capped: no line starts with more than 12 levels of two spaces.
    assert!(
        lines
            .iter()
            .all(|l| l.len() - l.trim_start().len() <= 2 * 12),
        "{stderr}"
    );
}

#[test]
fn a_thousand_roots_print_a_few_lines() {
    let stderr = run("roots");
    let lines = bounded(&stderr);
    assert!(
        lines.iter().any(|l| l.contains("step ×")),
        "roots printed together collapse: {stderr}"
    );
}

#[test]
fn tree_holds_children_from_other_threads() {
    let stderr = run("fan_out");
    let tree: Vec<&str> = stderr
        .lines()
        .skip_while(|l| !l.starts_with("trunk-ci-analytics: fan_out"))
        .collect();
    assert!(
        tree.first()
            .is_some_and(|l| l.contains("(4 events, local mode: not uploaded)")),
        "{stderr}"
    );
    assert!(
        tree.get(1).is_some_and(|l| l.starts_with("  ✔ fan_out")),
        "{stderr}"
    );
    // Same-named siblings collapse into one line with their counts, one level down; the
    // failing one is drawn below it.
    let group = tree.iter().find(|l| l.contains("leaf ×3"));
    assert!(
        group.is_some_and(|l| l.starts_with("    ✘ leaf ×3") && l.contains("✔ 2 ✘ 1")),
        "{stderr}"
    );
    assert!(
        tree.iter()
            .any(|l| l.starts_with("      ✘ leaf ") && l.ends_with("ms")),
        "{stderr}"
    );
}
