//! The critical path of a build: the chain of units that set its wall time. From the unit
//! that ended last, back through whatever held each one up, to a unit that waited for
//! nothing built in this step. What held a unit up is one of its dependencies — the one
//! whose end came latest, counted up to the unit's start: with pipelining a dependent may
//! start on a library's metadata before its code is generated, so of two dependencies that
//! both reach the start, the one that ended first is the one it waited for — or, when its
//! dependencies were all done well before it started, the unit whose end freed the job slot
//! it waited for: on a machine with few cores most units wait for a slot, not for a
//! dependency, and a path of dependencies alone would stop at the first such unit and
//! explain a second of a ten-minute build.

use std::time::{Duration, SystemTime};

/// How much later than its best dependency another unit must have ended for the unit to
/// count as waiting for a job slot: cargo starts a unit within milliseconds of what it
/// waited for, so anything closer is the dependency.
const SLOT_MARGIN: Duration = Duration::from_millis(50);

/// A unit as the path sees it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Node {
    pub(crate) start: SystemTime,
    pub(crate) end: SystemTime,
    /// Indexes of the nodes it depended on.
    pub(crate) deps: Vec<usize>,
}

/// The indexes of the critical path's nodes, first to last; empty without nodes.
pub(crate) fn critical_path(nodes: &[Node]) -> Vec<usize> {
    let Some(mut at) = (0..nodes.len()).max_by_key(|&i| (nodes[i].end, std::cmp::Reverse(i)))
    else {
        return Vec::new();
    };
    let mut path = vec![at];
    // Each step goes to a node not on the path yet, so even a cycle in broken input ends;
    // the flags keep each step one pass over the nodes, for workspaces of thousands of units.
    let mut on_path = vec![false; nodes.len()];
    on_path[at] = true;
    loop {
        let node = &nodes[at];
        let held_up_by = node
            .deps
            .iter()
            .copied()
            .filter(|&d| d < nodes.len() && !on_path[d])
            .max_by_key(|&d| {
                (
                    nodes[d].end.min(node.start),
                    std::cmp::Reverse(nodes[d].end),
                )
            });
        let dependency_done = held_up_by.map(|d| nodes[d].end.min(node.start));
        // The last unit to end before this one started, if it ended clearly after the
        // dependency: its end freed the slot this one waited for.
        let slot = (0..nodes.len())
            .filter(|&s| !on_path[s] && nodes[s].end <= node.start)
            .max_by_key(|&s| (nodes[s].end, std::cmp::Reverse(s)))
            .filter(|&s| dependency_done.is_none_or(|done| nodes[s].end > done + SLOT_MARGIN));
        let Some(next) = slot.or(held_up_by) else {
            break;
        };
        on_path[next] = true;
        path.push(next);
        at = next;
    }
    path.reverse();
    path
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    fn node(start: u64, end: u64, deps: &[usize]) -> Node {
        let t = |s| UNIX_EPOCH + Duration::from_secs(s);
        Node {
            start: t(start),
            end: t(end),
            deps: deps.to_vec(),
        }
    }

    #[test]
    fn the_path_follows_what_held_each_unit_up() {
        // 0 proc-macro2 0–3, 1 quote 3–5, 2 syn 5–15, 3 serde 0–8 (in parallel),
        // 4 serde_derive 15–20 (syn, quote), 5 app 20–22 (serde_derive, serde).
        let nodes = [
            node(0, 3, &[]),
            node(3, 5, &[0]),
            node(5, 15, &[0, 1]),
            node(0, 8, &[]),
            node(15, 20, &[2, 1]),
            node(20, 22, &[4, 3]),
        ];
        assert_eq!(critical_path(&nodes), [0, 1, 2, 4, 5]);
    }

    #[test]
    fn pipelining_counts_a_dependency_up_to_the_dependents_start() {
        // The lib's codegen (0–10) outlasts the start of its dependent (4), which also
        // waited for another unit that ended at 6: that one held it up longer.
        let nodes = [node(0, 10, &[]), node(0, 6, &[]), node(6, 12, &[0, 1])];
        assert_eq!(critical_path(&nodes), [1, 2]);
    }

    #[test]
    fn a_unit_that_waited_for_a_job_slot_follows_the_unit_that_freed_it() {
        // Two jobs: 0 (0–5) and 1 (0–3) start together; 2 (3–10) takes 1's slot; 3 (5–12)
        // depends on 1, done at 3, but starts only when 0 frees its slot at 5.
        let nodes = [
            node(0, 5, &[]),
            node(0, 3, &[]),
            node(3, 10, &[]),
            node(5, 12, &[1]),
        ];
        assert_eq!(critical_path(&nodes), [0, 3]);
        // A unit started as its dependency ended follows the dependency, even though
        // another unit ended a moment before (within the margin).
        let t = |ms| UNIX_EPOCH + Duration::from_millis(ms);
        let at = |start, end, deps: &[usize]| Node {
            start: t(start),
            end: t(end),
            deps: deps.to_vec(),
        };
        let nodes = [at(0, 4000, &[]), at(0, 4010, &[]), at(4012, 6000, &[0])];
        assert_eq!(critical_path(&nodes), [0, 2]);
    }

    #[test]
    fn odd_input_still_gives_a_path() {
        assert!(critical_path(&[]).is_empty());
        assert_eq!(critical_path(&[node(0, 1, &[0, 7])]), [0]);
        let cycle = [node(0, 2, &[1]), node(1, 3, &[0])];
        assert_eq!(critical_path(&cycle), [0, 1]);
    }
}
