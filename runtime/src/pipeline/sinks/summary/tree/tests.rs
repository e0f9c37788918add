use super::*;

fn node(id: u64, parent: Option<u64>, name: &str, c: Conclusion, ms: f64) -> Node {
    Node {
        id,
        parent,
        name: name.into(),
        kind: "step".into(),
        conclusion: c,
        duration_ms: ms,
        start_us: id as f64,
        pid: 1,
        error: None,
        critical_path: None,
    }
}

/// The drawn text and its line count, asserting the bounds every tree keeps.
fn bounded(nodes: &[Node]) -> (String, Drawn) {
    let drawn = draw(nodes);
    let text = to_text(&drawn.lines);
    assert!(drawn.lines.len() <= MAX_LINES, "{text}");
    assert!(drawn.lines.iter().all(|l| l.level <= MAX_INDENT), "{text}");
    let widest = text.lines().map(|l| l.chars().count()).max().unwrap_or(0);
    assert!(widest <= 2 * MAX_INDENT + MAX_NAME + 80, "{text}");
    (text, drawn)
}

#[test]
fn twenty_thousand_siblings_collapse_to_one_line_and_keep_their_failures() {
    let mut nodes = vec![node(1, None, "test", Conclusion::Failure, 5_000.0)];
    for i in 0..20_000u64 {
        let failed = i % 2_000 == 7;
        let c = if failed {
            Conclusion::Failure
        } else {
            Conclusion::Success
        };
        let ms = if i == 12_345 { 40.0 } else { 0.25 };
        nodes.push(node(10 + i, Some(1), "unit", c, ms));
    }
    let (text, drawn) = bounded(&nodes);
    assert!(text.contains("unit ×20,000"), "{text}");
    assert!(text.contains("✔ 19,990 ✘ 10"), "{text}");
    // The slowest member and the first failures are drawn below the group line.
    assert!(text.contains("40.0 ms"), "{text}");
    let failing = text
        .lines()
        .filter(|l| l.trim_start().starts_with("✘ unit ") && !l.contains('×'))
        .count();
    assert_eq!(failing, MAX_FAILURES, "{text}");
    assert_eq!(drawn.hidden, 0, "the group line stands for every member");
    assert!(text.len() < 4_096, "{} bytes", text.len());
}

#[test]
fn a_recursion_two_thousand_deep_shows_its_top_and_its_end() {
    let mut nodes = vec![node(1, None, "walk", Conclusion::Failure, 10.0)];
    for i in 2..=2_000u64 {
        let c = if i == 2_000 {
            Conclusion::Failure
        } else {
            Conclusion::Success
        };
        nodes.push(node(i, Some(i - 1), "walk", c, 10.0 - i as f64 / 1_000.0));
    }
    let (text, drawn) = bounded(&nodes);
    assert!(text.contains("levels left out"), "{text}");
    let last = drawn
        .lines
        .last()
        .map(|l| l.label.clone())
        .unwrap_or_default();
    assert!(
        last.starts_with("✘ walk"),
        "the failing end is drawn: {text}"
    );
    assert!(drawn.lines.len() <= MAX_DEPTH + 2, "{text}");
    assert!(text.len() < 4_096, "{} bytes", text.len());
}

#[test]
fn a_thousand_roots_collapse_by_name() {
    let nodes: Vec<Node> = (1..=1_000u64)
        .map(|i| {
            node(
                i,
                None,
                if i % 2 == 0 { "a" } else { "b" },
                Conclusion::Success,
                1.0,
            )
        })
        .collect();
    let (text, drawn) = bounded(&nodes);
    // Two group lines, and the slowest root below its group.
    assert_eq!(drawn.lines.len(), 3, "{text}");
    assert!(text.contains("a ×500") && text.contains("b ×500"), "{text}");
}

#[test]
fn a_wide_and_deep_tree_fills_the_budget_breadth_first() {
    // 50 distinct steps, each with 50 distinct children: far more than fits.
    let mut nodes = vec![node(1, None, "ci", Conclusion::Success, 100.0)];
    let mut id = 2;
    for s in 0..50u64 {
        let step = id;
        nodes.push(node(
            step,
            Some(1),
            &format!("step{s}"),
            Conclusion::Success,
            1.0,
        ));
        id += 1;
        for c in 0..50u64 {
            nodes.push(node(
                id,
                Some(step),
                &format!("part{c}"),
                Conclusion::Success,
                0.5,
            ));
            id += 1;
        }
    }
    let (text, drawn) = bounded(&nodes);
    assert_eq!(drawn.lines.len(), MAX_LINES, "{text}");
    assert!(drawn.hidden > 2_000, "{}", drawn.hidden);
}

#[test]
fn numbers_read_naturally() {
    assert_eq!(fmt_duration(0.26), "0.3 ms");
    assert_eq!(fmt_duration(1500.0), "1.50 s");
    assert_eq!(fmt_duration(61_000.0), "1m01.0s");
    assert_eq!(thousands(0), "0");
    assert_eq!(thousands(999), "999");
    assert_eq!(thousands(10_000), "10,000");
    assert_eq!(thousands(1_234_567), "1,234,567");
}

#[test]
fn cargo_s_work_collapses_by_kind_and_a_lone_run_says_its_kind() {
    let mut nodes = vec![node(1, None, "cargo", Conclusion::Failure, 9_000.0)];
    let mut add = |id: u64, name: &str, kind: &str, c: Conclusion, ms: f64| {
        let mut n = node(id, Some(1), name, c, ms);
        n.kind = kind.into();
        nodes.push(n);
    };
    for i in 0..300u64 {
        add(
            10 + i,
            &format!("crate{i}"),
            "compile",
            Conclusion::Success,
            10.0,
        );
    }
    add(400, "syn", "compile", Conclusion::Success, 4_000.0);
    add(401, "serde", "build_script_run", Conclusion::Success, 50.0);
    add(402, "e2e", "test_binary", Conclusion::Failure, 3_000.0);
    add(403, "units", "test_binary", Conclusion::Success, 10.0);
    let (text, drawn) = bounded(&nodes);
    assert!(text.contains("✔ compile ×301 "), "{text}");
    assert!(text.contains("✘ test_binary ×2 "), "{text}");
    // Below the group lines, the slowest unit and the failed binary by name alone; the
    // lone build-script run with its kind, which its name does not tell.
    assert!(text.contains("\n      ✔ syn "), "{text}");
    assert!(text.contains("\n      ✘ e2e "), "{text}");
    assert!(text.contains("✔ serde (build_script_run) "), "{text}");
    assert!(!text.contains("crate17"), "{text}");
    assert_eq!(drawn.hidden, 0, "{text}");
    assert!(text.lines().count() < 12, "{text}");
}
