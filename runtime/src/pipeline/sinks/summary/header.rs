//! The first line of a summary: what ran, how it ended, how many events from how many
//! processes, and what became of uploading.

use super::node::Node;
use super::tree::{self, plural, thousands};
use crate::Conclusion;

/// `trunk-ci-analytics: ci ✔ 4.21 s (5 events, local mode: not uploaded)`, or for several
/// roots their count and conclusions.
pub(crate) fn header(nodes: &[Node], overflow: usize, mode: &str) -> String {
    let roots: Vec<&Node> = nodes.iter().filter(|n| n.parent.is_none()).collect();
    let events = nodes.len() + overflow;
    let mut pids: Vec<u32> = nodes.iter().map(|n| n.pid).collect();
    pids.sort_unstable();
    pids.dedup();
    let processes = if pids.len() > 1 {
        format!(" in {} processes", thousands(pids.len()))
    } else {
        String::new()
    };
    let what = match roots[..] {
        [root] => format!(
            "{} {} {}",
            tree::short(&root.name),
            root.conclusion.symbol(),
            tree::fmt_duration(root.duration_ms)
        ),
        _ => {
            let failed = roots
                .iter()
                .filter(|r| r.conclusion == Conclusion::Failure)
                .count();
            let total: f64 = roots.iter().map(|r| r.duration_ms).sum();
            format!(
                "{} top-level events ✔ {} ✘ {}, {} in all",
                thousands(roots.len()),
                thousands(roots.len() - failed),
                thousands(failed),
                tree::fmt_duration(total)
            )
        }
    };
    format!(
        "trunk-ci-analytics: {what} ({} event{}{processes}, {mode})\n",
        thousands(events),
        plural(events)
    )
}
