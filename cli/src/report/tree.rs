//! Events as trees: one [`Run`] per chain, its events nested by parent id in depth-first
//! order, so a subtree is a contiguous slice that the page can fold or skip in one step.

use std::collections::HashMap;

use trunk_ci_analytics_runtime::wire::Event;

/// The events of one chain, in depth-first order (each parent before its children,
/// siblings by start).
#[derive(Debug)]
pub(crate) struct Run {
    /// Earliest start, ms since the Unix epoch.
    pub(crate) start_ms: u64,
    /// From the earliest start to the latest end (or start, for events still running).
    pub(crate) total_ms: u64,
    pub(crate) nodes: Vec<Node>,
}

#[derive(Debug)]
pub(crate) struct Node {
    pub(crate) event: Event,
    /// 0 for a root.
    pub(crate) depth: usize,
    /// Index of the parent in [`Run::nodes`]; `None` for a root.
    pub(crate) parent: Option<usize>,
    /// Start, ms after the run's start.
    pub(crate) offset_ms: u64,
    /// `None` while the event is still running (no `finishedAt`).
    pub(crate) duration_ms: Option<u64>,
    /// This node and all its descendants: the nodes `index..index + subtree_len`.
    pub(crate) subtree_len: usize,
}

/// Groups events by chain and nests each chain. An event whose parent is not among its
/// chain's events (a run cut short, or the file of one process only) becomes a root of
/// its run. Runs come in order of start.
pub(crate) fn build(events: Vec<Event>) -> Vec<Run> {
    let mut chains: Vec<Vec<Event>> = Vec::new();
    let mut chain_index: HashMap<String, usize> = HashMap::new();
    for event in events {
        let at = *chain_index
            .entry(event.chain_id.clone())
            .or_insert_with(|| {
                chains.push(Vec::new());
                chains.len() - 1
            });
        chains[at].push(event);
    }
    let mut runs: Vec<Run> = chains.into_iter().map(build_run).collect();
    runs.sort_by_key(|run| run.start_ms);
    runs
}

fn build_run(events: Vec<Event>) -> Run {
    let start_ms = events.iter().map(|e| e.created_at).min().unwrap_or(0);
    let end_ms = events
        .iter()
        .map(|e| e.finished_at.unwrap_or(e.created_at).max(e.created_at))
        .max()
        .unwrap_or(start_ms);

    let index_of: HashMap<&str, usize> = events
        .iter()
        .enumerate()
        .map(|(i, e)| (e.id.as_str(), i))
        .collect();
    let parent_of: Vec<Option<usize>> = events
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let parent = e.parent.as_ref()?;
            index_of
                .get(parent.event_id.as_str())
                .copied()
                .filter(|&p| p != i)
        })
        .collect();

    // Siblings by start; ties keep the file's order, which is the order they finished in.
    let by_start = |a: &usize, b: &usize| {
        events[*a]
            .created_at
            .cmp(&events[*b].created_at)
            .then(a.cmp(b))
    };
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); events.len()];
    let mut roots = Vec::new();
    for (i, parent) in parent_of.iter().enumerate() {
        match parent {
            Some(p) => children[*p].push(i),
            None => roots.push(i),
        }
    }
    for list in &mut children {
        list.sort_by(by_start);
    }
    roots.sort_by(by_start);

    let mut order: Vec<Placed> = Vec::with_capacity(events.len());
    let mut visited = vec![false; events.len()];
    for &root in &roots {
        walk(root, &children, &mut visited, &mut order);
    }
    // Parent links that go round in a circle reach no root; a file can say anything, so
    // the earliest event of each such circle is shown as a root rather than lost. One pass
    // over what is left, in order of start: each walk marks its whole circle (and what
    // hangs from it) visited, so every event is looked at once, however many circles.
    let mut left: Vec<usize> = (0..events.len()).filter(|&i| !visited[i]).collect();
    left.sort_by(by_start);
    for i in left {
        if !visited[i] {
            walk(i, &children, &mut visited, &mut order);
        }
    }

    let mut subtree_len = vec![1; order.len()];
    for position in (0..order.len()).rev() {
        if let Some(parent) = order[position].2 {
            subtree_len[parent] += subtree_len[position];
        }
    }

    let mut slots: Vec<Option<Event>> = events.into_iter().map(Some).collect();
    let nodes = order
        .into_iter()
        .zip(subtree_len)
        .filter_map(|((i, depth, parent), subtree_len)| {
            let event = slots[i].take()?;
            Some(Node {
                depth,
                parent,
                offset_ms: event.created_at - start_ms,
                duration_ms: event
                    .finished_at
                    .map(|f| f.saturating_sub(event.created_at)),
                subtree_len,
                event,
            })
        })
        .collect();
    Run {
        start_ms,
        total_ms: end_ms - start_ms,
        nodes,
    }
}

/// An event's index in its chain's list, its depth, and its parent's position in the
/// depth-first order.
type Placed = (usize, usize, Option<usize>);

/// Appends `root`'s subtree in depth-first order, skipping what is already placed.
fn walk(root: usize, children: &[Vec<usize>], visited: &mut [bool], order: &mut Vec<Placed>) {
    // Explicit stack: a chain can be thousands of levels deep.
    let mut stack = vec![(root, 0, None)];
    while let Some((i, depth, parent)) = stack.pop() {
        if std::mem::replace(&mut visited[i], true) {
            continue;
        }
        let position = order.len();
        order.push((i, depth, parent));
        for &child in children[i].iter().rev() {
            stack.push((child, depth + 1, Some(position)));
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test
mod tests {
    use trunk_ci_analytics_runtime::wire::Parent;

    use super::*;

    fn event(
        id: &str,
        chain: &str,
        parent: Option<&str>,
        created: u64,
        finished: Option<u64>,
    ) -> Event {
        Event {
            id: id.into(),
            chain_id: chain.into(),
            parent: parent.map(|p| Parent {
                event_id: p.into(),
                sequence_key: format!("key::{p}"),
            }),
            created_at: created,
            finished_at: finished,
            conclusion: None,
            payload: None,
            sequence: None,
        }
    }

    fn shape(run: &Run) -> Vec<(&str, usize, Option<usize>, usize)> {
        run.nodes
            .iter()
            .map(|n| (n.event.id.as_str(), n.depth, n.parent, n.subtree_len))
            .collect()
    }

    #[test]
    fn nests_by_parent_and_orders_children_by_start() {
        // Written in the order events finish: children before parents.
        let runs = build(vec![
            event("late", "r", Some("root"), 1_050, Some(1_090)),
            event("leaf", "r", Some("early"), 1_012, Some(1_015)),
            event("early", "r", Some("root"), 1_010, Some(1_040)),
            event("root", "r", None, 1_000, Some(1_100)),
        ]);
        assert_eq!(runs.len(), 1);
        assert_eq!(
            shape(&runs[0]),
            [
                ("root", 0, None, 4),
                ("early", 1, Some(0), 2),
                ("leaf", 2, Some(1), 1),
                ("late", 1, Some(0), 1),
            ]
        );
    }

    #[test]
    fn offsets_and_total_count_from_the_run_start() {
        let runs = build(vec![
            event("root", "r", None, 1_000, Some(1_100)),
            event("child", "r", Some("root"), 1_030, Some(1_070)),
            event("running", "r", Some("root"), 1_080, None),
        ]);
        let run = &runs[0];
        assert_eq!(run.start_ms, 1_000);
        assert_eq!(run.total_ms, 100);
        let timing: Vec<_> = run
            .nodes
            .iter()
            .map(|n| (n.offset_ms, n.duration_ms))
            .collect();
        assert_eq!(timing, [(0, Some(100)), (30, Some(40)), (80, None)]);
    }

    #[test]
    fn an_end_before_the_start_counts_as_zero_length() {
        let runs = build(vec![event("odd", "r", None, 1_000, Some(900))]);
        assert_eq!(runs[0].nodes[0].duration_ms, Some(0));
        assert_eq!(runs[0].total_ms, 0);
    }

    #[test]
    fn events_whose_parent_is_missing_become_roots() {
        let runs = build(vec![
            event("b", "r", Some("gone"), 20, Some(30)),
            event("a", "r", Some("also-gone"), 10, Some(40)),
            event("a1", "r", Some("a"), 11, Some(12)),
        ]);
        assert_eq!(
            shape(&runs[0]),
            [("a", 0, None, 2), ("a1", 1, Some(0), 1), ("b", 0, None, 1)]
        );
    }

    #[test]
    fn a_parent_in_another_chain_does_not_adopt() {
        let runs = build(vec![
            event("p", "one", None, 0, Some(10)),
            event("c", "two", Some("p"), 5, Some(6)),
        ]);
        assert_eq!(runs.len(), 2);
        assert_eq!(shape(&runs[1]), [("c", 0, None, 1)]);
    }

    #[test]
    fn runs_come_in_order_of_start() {
        let runs = build(vec![
            event("second", "b", None, 500, Some(600)),
            event("first", "a", None, 100, Some(200)),
        ]);
        let firsts: Vec<_> = runs.iter().map(|r| r.nodes[0].event.id.as_str()).collect();
        assert_eq!(firsts, ["first", "second"]);
    }

    #[test]
    fn parent_cycles_and_self_parents_still_show_every_event() {
        let runs = build(vec![
            event("x", "r", Some("y"), 5, Some(9)),
            event("y", "r", Some("x"), 3, Some(9)),
            event("me", "r", Some("me"), 1, Some(2)),
        ]);
        assert_eq!(
            shape(&runs[0]),
            [("me", 0, None, 1), ("y", 0, None, 2), ("x", 1, Some(1), 1)]
        );
    }

    #[test]
    fn a_deep_chain_does_not_overflow_the_stack() {
        let mut events = vec![event("0", "r", None, 0, Some(1))];
        for i in 1..50_000u64 {
            events.push(event(
                &i.to_string(),
                "r",
                Some(&(i - 1).to_string()),
                i,
                Some(i + 1),
            ));
        }
        let runs = build(events);
        let last = runs[0].nodes.last().unwrap();
        assert_eq!(last.depth, 49_999);
        assert_eq!(runs[0].nodes[0].subtree_len, 50_000);
    }
}
