//! The tree printed on stderr when a root event ends in local mode:
//!
//! ```text
//! trunk-ci-analytics: ci ✔ 4.21 s (5 events, local mode: not uploaded)
//!   ✔ ci                     4.21 s
//!     ✔ fmt                  0.31 s
//!     ✘ test                 2.10 s
//! ```

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::Instant;

use crate::Conclusion;
use crate::lineage::{Chain, ParentRef};
use crate::pipeline::sink::Sink;
use crate::record::Record;

/// Events remembered per process for summaries; beyond it they are only counted.
const MAX_NODES: usize = 10_000;

/// What the summary needs of one finished event.
#[derive(Clone, Debug)]
pub(crate) struct Node {
    pub(crate) id: u64,
    pub(crate) parent: Option<u64>,
    pub(crate) chain: u64,
    pub(crate) name: String,
    pub(crate) conclusion: Conclusion,
    pub(crate) duration_ms: f64,
    pub(crate) start: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Summary {
    /// Whether events are uploaded, for the header.
    uploading: bool,
    by_chain: HashMap<u64, Vec<Node>>,
    /// Chains whose root has ended, in the order the roots arrived.
    ended: Vec<u64>,
    held: usize,
    overflow: usize,
}

impl Summary {
    pub(crate) fn new(uploading: bool) -> Summary {
        Summary {
            uploading,
            ..Summary::default()
        }
    }

    /// Remembers `node`. A root only marks its chain as ended: children that finished
    /// before it on other threads may still be on their way (each thread hands its events
    /// over in batches), so the tree is drawn by [`take_ended`](Self::take_ended), once
    /// everything recorded so far has arrived.
    pub(crate) fn add(&mut self, node: Node) {
        if node.parent.is_none() {
            self.ended.push(node.chain);
        } else if self.held >= MAX_NODES {
            self.overflow += 1;
            return;
        }
        self.held += 1;
        self.by_chain.entry(node.chain).or_default().push(node);
    }

    /// The trees of the chains whose root has ended.
    pub(crate) fn take_ended(&mut self, uploading: bool) -> Vec<String> {
        let ended = std::mem::take(&mut self.ended);
        ended
            .into_iter()
            .filter_map(|chain| {
                let nodes = self.by_chain.remove(&chain)?;
                self.held -= nodes.len();
                let overflow = std::mem::take(&mut self.overflow);
                Some(render(&nodes, overflow, uploading))
            })
            .collect()
    }
}

impl Sink for Summary {
    fn take(&mut self, record: &Record, _now: Instant) {
        // Events of a chain another process started are that process's to draw.
        let Chain::Local(chain) = record.frame.chain else {
            return;
        };
        self.add(Node {
            id: record.frame.id,
            parent: match &record.frame.parent {
                Some(ParentRef::Local { id, .. }) => Some(*id),
                Some(ParentRef::Remote(_) | ParentRef::Inherited) => Some(0),
                None => None,
            },
            chain,
            name: record.frame.meta.name().to_owned(),
            conclusion: record.conclusion,
            duration_ms: record.duration_ms(),
            start: record.frame.start,
        });
    }

    /// Prints the trees of the roots that ended: everything recorded so far has arrived.
    fn caught_up(&mut self) {
        let trees = self.take_ended(self.uploading);
        if !trees.is_empty() {
            let _ =
                std::io::Write::write_all(&mut std::io::stderr().lock(), trees.concat().as_bytes());
        }
    }
}

fn render(nodes: &[Node], overflow: usize, uploading: bool) -> String {
    let mut children: HashMap<u64, Vec<&Node>> = HashMap::new();
    let mut root = None;
    for n in nodes {
        match n.parent {
            Some(p) => children.entry(p).or_default().push(n),
            None => root = Some(n),
        }
    }
    for list in children.values_mut() {
        list.sort_by_key(|n| n.start);
    }
    let Some(root) = root else {
        return String::new();
    };
    let mode = if uploading {
        "uploading"
    } else {
        "local mode: not uploaded"
    };
    let mut out = format!(
        "trunk-ci-analytics: {} {} {} ({} event{}, {mode})\n",
        root.name,
        root.conclusion.symbol(),
        fmt_duration(root.duration_ms),
        nodes.len(),
        if nodes.len() == 1 { "" } else { "s" },
    );
    let width = nodes
        .iter()
        .map(|n| n.name.chars().count())
        .max()
        .unwrap_or(0)
        + 2 * 8;
    let mut stack = vec![(root, 1usize)];
    while let Some((node, depth)) = stack.pop() {
        let label = format!(
            "{}{} {}",
            "  ".repeat(depth),
            node.conclusion.symbol(),
            node.name
        );
        let pad = width.saturating_sub(label.chars().count()) + 2;
        let _ = writeln!(
            out,
            "{label}{:pad$}{}{}",
            "",
            fmt_duration(node.duration_ms),
            match node.conclusion {
                Conclusion::Success | Conclusion::Failure => String::new(),
                other => format!(
                    "  ({})",
                    other.as_str().to_ascii_lowercase().replace('_', " ")
                ),
            }
        );
        if let Some(kids) = children.get(&node.id) {
            stack.extend(kids.iter().rev().map(|k| (*k, depth + 1)));
        }
    }
    if overflow > 0 {
        let _ = writeln!(out, "  … {overflow} more events not shown");
    }
    out
}

fn fmt_duration(ms: f64) -> String {
    if ms >= 60_000.0 {
        format!(
            "{}m{:04.1}s",
            (ms / 60_000.0).floor(),
            (ms % 60_000.0) / 1000.0
        )
    } else if ms >= 1000.0 {
        format!("{:.2} s", ms / 1000.0)
    } else {
        format!("{ms:.1} ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: u64, parent: Option<u64>, name: &str, c: Conclusion, start: u64) -> Node {
        Node {
            id,
            parent,
            chain: 1,
            name: name.into(),
            conclusion: c,
            duration_ms: 12.5,
            start,
        }
    }

    #[test]
    fn prints_the_tree_once_the_root_has_ended() {
        let mut s = Summary::default();
        s.add(node(3, Some(2), "unit", Conclusion::Success, 3));
        s.add(node(2, Some(1), "test", Conclusion::Failure, 2));
        assert!(s.take_ended(false).is_empty(), "no root yet");
        s.add(node(1, None, "ci", Conclusion::Failure, 0));
        // A child recorded on another thread may arrive after its root: still in the tree.
        s.add(node(4, Some(1), "fmt", Conclusion::Success, 1));
        let out = s.take_ended(false).concat();
        let lines: Vec<&str> = out.lines().collect();
        assert!(
            lines[0].starts_with("trunk-ci-analytics: ci ✘ 12.5 ms (4 events"),
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
    fn durations_read_naturally() {
        assert_eq!(fmt_duration(0.26), "0.3 ms");
        assert_eq!(fmt_duration(1500.0), "1.50 s");
        assert_eq!(fmt_duration(61_000.0), "1m01.0s");
    }
}
