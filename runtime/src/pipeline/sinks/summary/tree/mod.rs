//! The bounded tree of a run: whatever the number of events, their depth or the number of
//! roots, at most [`MAX_LINES`] lines, indented at most [`MAX_INDENT`] levels.
//!
//! Siblings of the same name collapse into one line with their counts and total and
//! longest time; so do siblings of one of cargo's kinds (`compile ×248`), whatever their
//! names, since a step that ran cargo has hundreds of them. Lines are chosen before they are drawn: first the slowest path (from the
//! top, the slowest child at each level), then the first failures (each with the path
//! to it), then, breadth first, whatever else fits. A path deeper than [`MAX_DEPTH`] shows
//! its first levels, one line saying how many are left out, and its end. A member of a
//! collapsed group that is on one of those paths is drawn below its group's line.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt::Write as _;

use super::node::Node;
use crate::Conclusion;
use crate::model::cargo::KINDS;
use crate::platform::sort;

/// Most lines of a tree, not counting its header and the line saying what was left out.
pub(crate) const MAX_LINES: usize = 40;
/// Deepest level of a path drawn in full; below it, only the end of a path is drawn.
const MAX_DEPTH: usize = 8;
/// Deepest indentation, in levels of two spaces.
const MAX_INDENT: usize = 12;
/// Failures drawn with the path to them; the others are counted.
const MAX_FAILURES: usize = 5;
/// Largest group of same-named siblings whose members are also drawn one by one when
/// there is room.
const MAX_LISTED: usize = 5;
/// Longest name drawn, in characters.
const MAX_NAME: usize = 60;

/// A line of the tree: how deep, and what it says.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Line {
    pub(crate) level: usize,
    pub(crate) label: String,
    pub(crate) detail: String,
}

/// The lines of the tree of `nodes`, and how many events no line stands for.
pub(crate) struct Drawn {
    pub(crate) lines: Vec<Line>,
    pub(crate) hidden: usize,
    pub(crate) hidden_failures: usize,
}

/// The nodes as a tree: index `n` (one past the last node) is a virtual top above the
/// roots (and above events whose parent is missing).
struct Tree<'a> {
    nodes: &'a [Node],
    kids: Vec<Vec<usize>>,
    parent: Vec<usize>,
    depth: Vec<usize>,
    top: usize,
}

impl<'a> Tree<'a> {
    fn new(nodes: &'a [Node]) -> Tree<'a> {
        let n = nodes.len();
        let index: HashMap<u64, usize> = nodes.iter().enumerate().map(|(i, x)| (x.id, i)).collect();
        let mut parent = vec![n; n + 1];
        let mut kids = vec![Vec::new(); n + 1];
        for (i, x) in nodes.iter().enumerate() {
            let p = x
                .parent
                .and_then(|p| index.get(&p).copied())
                .filter(|&p| p != i)
                .unwrap_or(n);
            parent[i] = p;
        }
        // A cycle (ids reused by a hostile or broken producer) would hang the walks below:
        // whatever the walk from the top does not reach hangs from the top.
        let mut depth = vec![usize::MAX; n + 1];
        depth[n] = 0;
        for (i, &p) in parent.iter().enumerate().take(n) {
            kids[p].push(i);
        }
        let mut queue = VecDeque::from([n]);
        while let Some(i) = queue.pop_front() {
            for &k in &kids[i] {
                depth[k] = depth[i] + 1;
                queue.push_back(k);
            }
        }
        let unreached: Vec<usize> = (0..n).filter(|&i| depth[i] == usize::MAX).collect();
        if !unreached.is_empty() {
            for &i in &unreached {
                let p = parent[i];
                kids[p].retain(|&k| k != i);
                parent[i] = n;
                kids[n].push(i);
            }
            queue.push_back(n);
            while let Some(i) = queue.pop_front() {
                for &k in &kids[i] {
                    depth[k] = depth[i] + 1;
                    queue.push_back(k);
                }
            }
        }
        for list in &mut kids {
            sort::sort_by(list, |&a, &b| {
                nodes[a].start_us.total_cmp(&nodes[b].start_us)
            });
        }
        // One root is drawn as the top itself.
        let top = if kids[n].len() == 1 { kids[n][0] } else { n };
        Tree {
            nodes,
            kids,
            parent,
            depth,
            top,
        }
    }

    /// What siblings are grouped by: the name, or the kind for cargo's work.
    fn group_key(&self, i: usize) -> &str {
        let node = &self.nodes[i];
        if KINDS.contains(&node.kind.as_str()) {
            &node.kind
        } else {
            &node.name
        }
    }

    /// The children of `i` by name, in the order each name first started.
    fn groups(&self, i: usize) -> Vec<Vec<usize>> {
        let mut order: Vec<Vec<usize>> = Vec::new();
        let mut at: HashMap<&str, usize> = HashMap::new();
        for &k in &self.kids[i] {
            match at.get(self.group_key(k)) {
                Some(&g) => order[g].push(k),
                None => {
                    at.insert(self.group_key(k), order.len());
                    order.push(vec![k]);
                }
            }
        }
        order
    }

    fn group_size(&self, i: usize) -> usize {
        let p = self.parent[i];
        self.kids[p]
            .iter()
            .filter(|&&k| self.group_key(k) == self.group_key(i))
            .count()
    }

    /// Depth below the top.
    fn level(&self, i: usize) -> usize {
        self.depth[i] - self.depth[self.top]
    }
}

/// Which nodes and groups get a line.
struct Choice<'t, 'a> {
    tree: &'t Tree<'a>,
    shown: Vec<bool>,
    /// Collapsed groups drawn, by parent and name.
    groups: HashSet<(usize, String)>,
    lines: usize,
}

impl Choice<'_, '_> {
    /// The lines `i` and the path to it would add, committed when they fit the budget.
    fn show_path(&mut self, i: usize) -> bool {
        let tree = self.tree;
        let mut path = Vec::new();
        let mut at = i;
        while at != tree.top && at != tree.nodes.len() {
            path.push(at);
            at = tree.parent[at];
        }
        path.reverse();
        if path.len() > MAX_DEPTH {
            // The first levels and the end; one line says how many are between.
            let end = path[path.len() - 1];
            path.truncate(MAX_DEPTH - 1);
            path.push(end);
        }
        let mut new_groups = Vec::new();
        let mut cost = 0;
        for (n, &k) in path.iter().enumerate() {
            if self.shown[k] {
                continue;
            }
            cost += 1;
            let direct = n == 0 || path[n - 1] == tree.parent[k];
            if !direct {
                cost += 1; // the line that says how many levels are left out
            } else if tree.group_size(k) > 1 {
                let key = (tree.parent[k], tree.group_key(k).to_owned());
                if !self.groups.contains(&key) && !new_groups.contains(&key) {
                    cost += 1;
                    new_groups.push(key);
                }
            }
        }
        if self.lines + cost > MAX_LINES {
            return false;
        }
        self.lines += cost;
        for k in path {
            self.shown[k] = true;
        }
        self.groups.extend(new_groups);
        true
    }

    /// Fills what is left of the budget breadth first: singletons get their line, groups
    /// of same-named siblings one line for all.
    fn fill(&mut self) {
        let tree = self.tree;
        let mut queue = VecDeque::from([tree.top]);
        while let Some(i) = queue.pop_front() {
            if self.lines >= MAX_LINES {
                break;
            }
            if i != tree.top && tree.level(i) >= MAX_DEPTH - 1 {
                continue;
            }
            for group in tree.groups(i) {
                if self.lines >= MAX_LINES {
                    break;
                }
                if let [k] = group[..] {
                    if !self.shown[k] {
                        self.shown[k] = true;
                        self.lines += 1;
                    }
                    queue.push_back(k);
                } else {
                    let key = (i, tree.group_key(group[0]).to_owned());
                    if self.groups.insert(key) {
                        self.lines += 1;
                    }
                    // A small group whose members all fit gets a line per member too.
                    let unshown = group.iter().filter(|&&k| !self.shown[k]).count();
                    if group.len() <= MAX_LISTED && self.lines + unshown <= MAX_LINES {
                        for &k in &group {
                            self.shown[k] = true;
                        }
                        self.lines += unshown;
                    }
                    // Members drawn below the group's line show their children too.
                    queue.extend(group.iter().copied().filter(|&k| self.shown[k]));
                }
            }
        }
    }
}

/// Draws the tree of `nodes` within the bounds.
pub(crate) fn draw(nodes: &[Node]) -> Drawn {
    let tree = Tree::new(nodes);
    let n = nodes.len();
    let mut choice = Choice {
        tree: &tree,
        shown: vec![false; n + 1],
        groups: HashSet::new(),
        lines: 0,
    };
    if tree.top != n {
        choice.shown[tree.top] = true;
        choice.lines = 1;
    }
    // The slowest path: from the top, the slowest child at each level.
    let mut at = tree.top;
    while let Some(&k) = tree.kids[at]
        .iter()
        .max_by(|&&a, &&b| nodes[a].duration_ms.total_cmp(&nodes[b].duration_ms))
    {
        at = k;
    }
    if at != tree.top {
        choice.show_path(at);
    }
    // Failures where they happened: failed events none of whose children failed.
    let failed = |i: usize| nodes[i].conclusion == Conclusion::Failure;
    let mut causes: Vec<usize> = (0..n)
        .filter(|&i| failed(i) && !tree.kids[i].iter().any(|&k| failed(k)))
        .collect();
    sort::sort_by(&mut causes, |&a, &b| {
        nodes[a].start_us.total_cmp(&nodes[b].start_us)
    });
    for &i in causes.iter().take(MAX_FAILURES) {
        choice.show_path(i);
    }
    choice.fill();

    let mut drawn = Drawn {
        lines: Vec::new(),
        hidden: 0,
        hidden_failures: 0,
    };
    let mut represented = vec![false; n + 1];
    if tree.top != n {
        draw_node(
            &tree,
            &choice,
            tree.top,
            1,
            &mut drawn.lines,
            &mut represented,
            false,
        );
    } else {
        draw_children(&tree, &choice, n, 1, &mut drawn.lines, &mut represented);
    }
    drawn.hidden = (0..n).filter(|&i| !represented[i]).count();
    drawn.hidden_failures = causes.iter().filter(|&&i| !represented[i]).count();
    drawn
}

/// Draws node `i`; `in_group`: below its group's line, which already says its kind.
fn draw_node(
    tree: &Tree<'_>,
    choice: &Choice<'_, '_>,
    i: usize,
    level: usize,
    out: &mut Vec<Line>,
    represented: &mut [bool],
    in_group: bool,
) {
    let node = &tree.nodes[i];
    represented[i] = true;
    let name = if !in_group && KINDS.contains(&node.kind.as_str()) {
        // `serde` alone could be a compile or a build-script run.
        format!("{} ({})", node.name, node.kind)
    } else {
        node.name.clone()
    };
    out.push(Line {
        level: level.min(MAX_INDENT),
        label: format!("{} {}", node.conclusion.symbol(), short(&name)),
        detail: format!(
            "{}{}",
            fmt_duration(node.duration_ms),
            note(node.conclusion)
        ),
    });
    draw_children(tree, choice, i, level + 1, out, represented);
}

fn draw_children(
    tree: &Tree<'_>,
    choice: &Choice<'_, '_>,
    i: usize,
    level: usize,
    out: &mut Vec<Line>,
    represented: &mut [bool],
) {
    for group in tree.groups(i) {
        if let [k] = group[..] {
            if choice.shown[k] {
                draw_node(tree, choice, k, level, out, represented, false);
            }
            continue;
        }
        if !choice
            .groups
            .contains(&(i, tree.group_key(group[0]).to_owned()))
        {
            // A member reached by a cut path whose parent another path showed.
            for &k in &group {
                if choice.shown[k] {
                    draw_node(tree, choice, k, level, out, represented, false);
                }
            }
            continue;
        }
        out.push(group_line(tree, &group, level));
        for &k in &group {
            represented[k] = true;
        }
        for &k in &group {
            if choice.shown[k] {
                draw_node(tree, choice, k, level + 1, out, represented, true);
            }
        }
    }
    // Shown descendants whose parent has no line (a path cut short): below a line that
    // says how many levels are left out.
    for k in elided_below(tree, choice, i) {
        let skipped = tree.depth[k] - tree.depth[i] - 1;
        out.push(Line {
            level: level.min(MAX_INDENT),
            label: format!("⋮ {} level{} left out", thousands(skipped), plural(skipped)),
            detail: String::new(),
        });
        draw_node(tree, choice, k, level, out, represented, false);
    }
}

/// Shown nodes below `i` whose nearest shown ancestor is `i` but not their parent.
fn elided_below(tree: &Tree<'_>, choice: &Choice<'_, '_>, i: usize) -> Vec<usize> {
    let n = tree.nodes.len();
    let mut found = Vec::new();
    // Only a path cut at MAX_DEPTH leaves such nodes, so few are ever shown: check those.
    for k in
        (0..n).filter(|&k| choice.shown[k] && tree.parent[k] != i && !choice.shown[tree.parent[k]])
    {
        let mut at = tree.parent[k];
        while at != n && !choice.shown[at] && at != tree.top {
            at = tree.parent[at];
        }
        if at == i {
            found.push(k);
        }
    }
    found
}

fn group_line(tree: &Tree<'_>, group: &[usize], level: usize) -> Line {
    let nodes = tree.nodes;
    let mut counts: Vec<(Conclusion, usize)> = Vec::new();
    let (mut total, mut max) = (0.0f64, 0.0f64);
    for &k in group {
        let c = nodes[k].conclusion;
        match counts.iter_mut().find(|(x, _)| *x == c) {
            Some((_, n)) => *n += 1,
            None => counts.push((c, 1)),
        }
        total += nodes[k].duration_ms;
        max = max.max(nodes[k].duration_ms);
    }
    sort::sort_by_key(&mut counts, |(c, _)| order(*c));
    let symbol = if counts.iter().any(|(c, _)| *c == Conclusion::Failure) {
        Conclusion::Failure.symbol()
    } else {
        counts.first().map_or("", |(c, _)| c.symbol())
    };
    let tally: Vec<String> = counts
        .iter()
        .map(|(c, n)| format!("{} {}", c.symbol(), thousands(*n)))
        .collect();
    Line {
        level: level.min(MAX_INDENT),
        label: format!(
            "{symbol} {} ×{}",
            short(tree.group_key(group[0])),
            thousands(group.len())
        ),
        detail: format!(
            "{}  total {}  max {}",
            tally.join(" "),
            fmt_duration(total),
            fmt_duration(max)
        ),
    }
}

fn order(c: Conclusion) -> u8 {
    match c {
        Conclusion::Success => 0,
        Conclusion::Failure => 1,
        Conclusion::Cancelled => 2,
        Conclusion::TimedOut => 3,
        Conclusion::Skipped => 4,
    }
}

fn note(c: Conclusion) -> String {
    match c {
        Conclusion::Success | Conclusion::Failure => String::new(),
        other => format!(
            "  ({})",
            other.as_str().to_ascii_lowercase().replace('_', " ")
        ),
    }
}

/// `name` as it may be printed: every control character replaced (a newline would break
/// the tree and forge a line, an escape sequence would drive the terminal), cut to
/// [`MAX_NAME`] characters. Every name and kind the summaries print goes through it.
pub(crate) fn short(name: &str) -> String {
    let printable = |c: char| if c.is_control() { '\u{fffd}' } else { c };
    if name.chars().count() <= MAX_NAME {
        name.chars().map(printable).collect()
    } else {
        let mut s: String = name.chars().take(MAX_NAME - 1).map(printable).collect();
        s.push('…');
        s
    }
}

/// The lines as text, the details in one column.
pub(crate) fn to_text(lines: &[Line]) -> String {
    let width = lines
        .iter()
        .map(|l| 2 * l.level + l.label.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for l in lines {
        let label = format!("{}{}", "  ".repeat(l.level), l.label);
        if l.detail.is_empty() {
            let _ = writeln!(out, "{label}");
        } else {
            let pad = width - label.chars().count() + 2;
            let _ = writeln!(out, "{label}{:pad$}{}", "", l.detail);
        }
    }
    out
}

pub(crate) fn fmt_duration(ms: f64) -> String {
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

/// `n` with thousands separators: `10,000`.
pub(crate) fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub(crate) fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests;
