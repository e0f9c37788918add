//! What the summaries say about cargo's work under a run's steps: each step's critical path
//! (`critical path 2m10s: syn → serde_derive → app`) and the crates that took longest to
//! compile, all of their units together.

use std::collections::HashMap;

use super::node::Node;
use super::tree::{fmt_duration, short};
use crate::model::cargo::KIND_COMPILE;
use crate::platform::sort;

/// Steps whose critical path is shown; the rest are counted.
const PATHS: usize = 5;
/// Crates listed as the slowest.
pub(crate) const SLOWEST_CRATES: usize = 5;
/// Longest critical path text, in characters.
const MAX_PATH_CHARS: usize = 300;

/// A step's critical path: which step, how long, through what.
pub(crate) struct Path<'a> {
    pub(crate) step: &'a str,
    pub(crate) ms: f64,
    pub(crate) text: String,
}

/// A crate's compile time, its units together.
pub(crate) struct Crate<'a> {
    pub(crate) name: &'a str,
    pub(crate) units: usize,
    pub(crate) ms: f64,
}

/// The critical paths of the steps that ran cargo, in the order they started, and how
/// many more there were.
pub(crate) fn paths(nodes: &[Node]) -> (Vec<Path<'_>>, usize) {
    let mut steps: Vec<&Node> = nodes.iter().filter(|n| n.critical_path.is_some()).collect();
    sort::sort_by(&mut steps, |a, b| a.start_us.total_cmp(&b.start_us));
    let more = steps.len().saturating_sub(PATHS);
    let paths = steps
        .into_iter()
        .take(PATHS)
        .filter_map(|n| {
            let (text, ms) = n.critical_path.as_ref()?;
            Some(Path {
                step: &n.name,
                ms: *ms,
                text: cut(text),
            })
        })
        .collect();
    (paths, more)
}

/// The crates with the longest compile time, slowest first.
pub(crate) fn slowest_crates(nodes: &[Node]) -> Vec<Crate<'_>> {
    let mut by_name: HashMap<&str, (usize, f64)> = HashMap::new();
    for n in nodes.iter().filter(|n| n.kind == KIND_COMPILE) {
        let entry = by_name.entry(&n.name).or_default();
        entry.0 += 1;
        entry.1 += n.duration_ms;
    }
    let mut crates: Vec<Crate<'_>> = by_name
        .into_iter()
        .map(|(name, (units, ms))| Crate { name, units, ms })
        .collect();
    sort::sort_by(&mut crates, |a, b| {
        b.ms.total_cmp(&a.ms).then(a.name.cmp(b.name))
    });
    crates.truncate(SLOWEST_CRATES);
    crates
}

/// The lines of the stderr summary, below the tree.
pub(crate) fn text_lines(nodes: &[Node]) -> String {
    let (paths, more) = paths(nodes);
    let mut out = String::new();
    let several = paths.len() + more > 1;
    for p in &paths {
        let step = if several {
            format!(" ({})", short(p.step))
        } else {
            String::new()
        };
        out.push_str(&format!(
            "  critical path{step} {}: {}\n",
            fmt_duration(p.ms),
            p.text
        ));
    }
    if more > 0 {
        out.push_str(&format!(
            "  … and the critical paths of {more} more steps\n"
        ));
    }
    let crates = slowest_crates(nodes);
    if !crates.is_empty() {
        let list: Vec<String> = crates
            .iter()
            .map(|c| format!("{} {}", short(c.name), fmt_duration(c.ms)))
            .collect();
        out.push_str(&format!("  slowest crates: {}\n", list.join(" · ")));
    }
    out
}

fn cut(text: &str) -> String {
    if text.chars().count() <= MAX_PATH_CHARS {
        return text.to_owned();
    }
    let mut s: String = text.chars().take(MAX_PATH_CHARS - 1).collect();
    s.push('…');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Conclusion;

    fn node(id: u64, name: &str, kind: &str, ms: f64) -> Node {
        Node {
            id,
            parent: Some(1),
            name: name.into(),
            kind: kind.into(),
            conclusion: Conclusion::Success,
            duration_ms: ms,
            start_us: id as f64,
            pid: 1,
            error: None,
            critical_path: None,
        }
    }

    #[test]
    fn a_step_s_path_and_the_slowest_crates_their_units_together() {
        let mut step = node(1, "test", "step", 130_000.0);
        step.parent = None;
        step.critical_path = Some(("syn → serde_derive → app".into(), 130_000.0));
        let mut nodes = vec![step];
        for (i, (name, ms)) in [
            ("syn", 9_000.0),
            ("app", 4_000.0),
            ("app", 7_000.0),
            ("serde", 500.0),
        ]
        .into_iter()
        .enumerate()
        {
            nodes.push(node(i as u64 + 2, name, KIND_COMPILE, ms));
        }
        nodes.push(node(9, "app", "test_binary", 60_000.0));
        let text = text_lines(&nodes);
        assert_eq!(
            text,
            "  critical path 2m10.0s: syn → serde_derive → app\n  \
             slowest crates: app 11.00 s · syn 9.00 s · serde 500.0 ms\n"
        );
        let crates = slowest_crates(&nodes);
        assert_eq!(crates[0].units, 2);
    }

    #[test]
    fn several_steps_are_named_and_bounded() {
        let mut nodes = Vec::new();
        for i in 0..8u64 {
            let mut n = node(i, &format!("step{i}"), "step", 1.0);
            n.critical_path = Some(("x".repeat(1000), 1.0));
            nodes.push(n);
        }
        let text = text_lines(&nodes);
        assert_eq!(text.lines().count(), PATHS + 1, "{text}");
        assert!(
            text.starts_with("  critical path (step0) 1.0 ms: xxx"),
            "{text}"
        );
        assert!(
            text.lines()
                .all(|l| l.chars().count() < MAX_PATH_CHARS + 40)
        );
        assert!(
            text.ends_with("… and the critical paths of 3 more steps\n"),
            "{text}"
        );
    }
}
