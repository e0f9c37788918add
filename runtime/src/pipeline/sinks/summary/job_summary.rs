//! The GitHub job summary: when `GITHUB_STEP_SUMMARY` names a file, the run's root process
//! appends one Markdown section to it at exit: the slowest events as a table, the failures
//! with their error text, and the bounded tree in a `<details>` block. Processes that
//! inherited a context never write it, so a run adds one section, not one per build script.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;

use super::cargo;
use super::header::header;
use super::node::Node;
use super::tree::{self, fmt_duration, thousands};
use crate::Conclusion;
use crate::platform::sort;

/// Most bytes of the section; GitHub takes up to 1 MiB per step, for every tool's output.
pub(crate) const MAX_BYTES: usize = 64 * 1024;
/// Rows of the slowest-events table.
const SLOWEST: usize = 10;
/// Failures listed.
const FAILURES: usize = 20;
/// Events kept for the section; beyond it they are only counted.
const MAX_NODES: usize = 50_000;

#[derive(Debug)]
pub(crate) struct JobSummary {
    path: PathBuf,
    nodes: Vec<Node>,
    overflow: usize,
    written: bool,
}

impl JobSummary {
    pub(crate) fn new(path: PathBuf) -> JobSummary {
        JobSummary {
            path,
            nodes: Vec::new(),
            overflow: 0,
            written: false,
        }
    }

    /// Adds the events of roots that ended (with what the processes under them recorded).
    pub(crate) fn add(&mut self, nodes: &[Node], overflow: usize) {
        let room = MAX_NODES.saturating_sub(self.nodes.len());
        self.overflow += overflow + nodes.len().saturating_sub(room);
        self.nodes.extend(nodes.iter().take(room).cloned());
    }

    /// Whether there is a section to write.
    pub(crate) fn pending(&self) -> bool {
        !self.written && !self.nodes.is_empty()
    }

    /// Appends the section, once.
    pub(crate) fn write(&mut self, mode: &str) {
        if !self.pending() {
            return;
        }
        self.written = true;
        let section = render(&self.nodes, self.overflow, mode);
        let result = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .and_then(|mut f| f.write_all(section.as_bytes()));
        if let Err(e) = result {
            crate::log!(
                Warn,
                "cannot append the job summary to GITHUB_STEP_SUMMARY {}: {e}",
                self.path.display()
            );
        }
        self.nodes = Vec::new();
    }
}

/// The Markdown section for `nodes`, at most [`MAX_BYTES`].
pub(crate) fn render(nodes: &[Node], overflow: usize, mode: &str) -> String {
    let head = header(nodes, overflow, mode);
    let head = head.trim_end().trim_start_matches("trunk-ci-analytics: ");
    let mut out = format!("### trunk-ci-analytics: {}\n\n", escape(head));

    let roots: Vec<&Node> = nodes.iter().filter(|n| n.parent.is_none()).collect();
    let start = roots
        .iter()
        .map(|r| r.start_us)
        .fold(f64::INFINITY, f64::min);
    let end = roots
        .iter()
        .map(|r| r.start_us + r.duration_ms * 1e3)
        .fold(f64::NEG_INFINITY, f64::max);
    let run_ms = ((end - start) / 1e3).max(f64::MIN_POSITIVE);

    let mut slowest: Vec<&Node> = nodes.iter().collect();
    sort::sort_by(&mut slowest, |a, b| b.duration_ms.total_cmp(&a.duration_ms));
    out.push_str("| Slowest events | Kind | Duration | Share of the run | Conclusion |\n");
    out.push_str("|:--|:--|--:|--:|:--|\n");
    for n in slowest.iter().take(SLOWEST) {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.1}% | {} {} |",
            escape(&tree::short(&n.name)),
            escape(&tree::short(&n.kind)),
            fmt_duration(n.duration_ms),
            (n.duration_ms / run_ms * 100.0).min(100.0),
            n.conclusion.symbol(),
            n.conclusion.as_str().to_ascii_lowercase().replace('_', " ")
        );
    }

    cargo_section(&mut out, nodes);

    let failed = |n: &Node| n.conclusion == Conclusion::Failure;
    let ids_failed: std::collections::HashSet<u64> =
        nodes.iter().filter(|n| failed(n)).map(|n| n.id).collect();
    // Where failures happened: failed events none of whose children failed.
    let parents_of_failures: std::collections::HashSet<u64> = nodes
        .iter()
        .filter(|n| failed(n))
        .filter_map(|n| n.parent)
        .filter(|p| ids_failed.contains(p))
        .collect();
    let mut causes: Vec<&Node> = nodes
        .iter()
        .filter(|n| failed(n) && !parents_of_failures.contains(&n.id))
        .collect();
    sort::sort_by(&mut causes, |a, b| a.start_us.total_cmp(&b.start_us));
    if !causes.is_empty() {
        let _ = writeln!(out, "\n**Failures ({})**\n", thousands(causes.len()));
        for n in causes.iter().take(FAILURES) {
            let _ = write!(
                out,
                "- ✘ **{}** ({}, {})",
                escape(&tree::short(&n.name)),
                escape(&tree::short(&n.kind)),
                fmt_duration(n.duration_ms)
            );
            match &n.error {
                Some(e) => {
                    let _ = writeln!(out, ": {}", escape(e));
                }
                None => out.push('\n'),
            }
        }
        if causes.len() > FAILURES {
            let _ = writeln!(out, "- … and {} more", thousands(causes.len() - FAILURES));
        }
    }

    let drawn = tree::draw(nodes);
    let mut text = tree::to_text(&drawn.lines);
    let hidden = drawn.hidden + overflow;
    if hidden > 0 {
        let _ = writeln!(text, "  … {} more events not shown", thousands(hidden));
    }
    with_tree(out, &text)
}

/// The critical paths of the steps that ran cargo, and the slowest crates as a table.
fn cargo_section(out: &mut String, nodes: &[Node]) {
    let (paths, more) = cargo::paths(nodes);
    if !paths.is_empty() {
        out.push('\n');
    }
    for p in &paths {
        let _ = writeln!(
            out,
            "**Critical path** of {} {}: {}  ",
            escape(&tree::short(p.step)),
            fmt_duration(p.ms),
            escape(&p.text)
        );
    }
    if more > 0 {
        let _ = writeln!(out, "… and the critical paths of {more} more steps");
    }
    let crates = cargo::slowest_crates(nodes);
    if crates.is_empty() {
        return;
    }
    out.push_str("\n| Slowest crates | Units | Compile time |\n|:--|--:|--:|\n");
    for c in &crates {
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            escape(&tree::short(c.name)),
            c.units,
            fmt_duration(c.ms)
        );
    }
}

/// What a cut section ends with.
const CUT_NOTE: &str = "\n_(cut: the job summary is bounded)_\n";

/// `head` and then the tree `text` in a code block folded in `<details>`, at most
/// [`MAX_BYTES`] in all: a cut comes at a line's end and never inside the code block or the
/// `<details>`, which stay closed (an open one would swallow the rest of the step's summary).
fn with_tree(head: String, text: &str) -> String {
    let fence = "`".repeat(longest_backtick_run(text).max(2) + 1);
    let open = format!("\n<details><summary>The run's tree</summary>\n\n{fence}text\n");
    let close = format!("{fence}\n\n</details>\n\n");
    let room = MAX_BYTES - CUT_NOTE.len();
    let Some(left) = room.checked_sub(head.len() + open.len() + close.len()) else {
        // Not even the frame of the tree fits: the head alone, cut.
        let mut out = head;
        out.truncate(line_end_within(&out, room));
        out.push_str(CUT_NOTE);
        return out;
    };
    let body = line_end_within(text, left);
    let mut out = head;
    out.push_str(&open);
    out.push_str(&text[..body]);
    out.push_str(&close);
    if body < text.len() {
        out.push_str(CUT_NOTE);
    }
    out
}

/// Where `text` ends when cut to at most `room` bytes: all of it, or after the last whole
/// line that fits.
fn line_end_within(text: &str, room: usize) -> usize {
    if text.len() <= room {
        return text.len();
    }
    let mut cut = room;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    text[..cut].rfind('\n').map_or(0, |i| i + 1)
}

fn longest_backtick_run(s: &str) -> usize {
    let (mut best, mut run) = (0, 0);
    for c in s.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        best = best.max(run);
    }
    best
}

/// Text as inline Markdown that renders as itself: no HTML, no table breaks, no emphasis,
/// links or code spans.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' | '\r' | '\t' => out.push(' '),
            // `$` too: GitHub renders `$…$` as math.
            '|' | '`' | '*' | '_' | '[' | ']' | '#' | '~' | '\\' | '!' | '(' | ')' | '$' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names_stay_text() {
        assert_eq!(escape("a|b"), "a\\|b");
        assert_eq!(escape("<script>"), "&lt;script&gt;");
        assert_eq!(escape("`x`"), "\\`x\\`");
        assert_eq!(escape("l1\nl2"), "l1 l2");
    }

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
            error: (c == Conclusion::Failure).then(|| format!("error {id} `<x>`|")),
            critical_path: None,
        }
    }

    #[test]
    fn a_huge_run_gives_a_small_section_with_its_table_failures_and_tree() {
        let mut nodes = vec![node(1, None, "ci|<main>", Conclusion::Failure, 9_000.0)];
        for i in 2..20_002u64 {
            let c = if i % 1_000 == 0 {
                Conclusion::Failure
            } else {
                Conclusion::Success
            };
            nodes.push(node(i, Some(1), "unit `x`", c, (i % 97) as f64));
        }
        let md = render(&nodes, 0, "local mode: not uploaded");
        assert!(md.len() < 16 * 1024, "{} bytes", md.len());
        assert!(
            md.starts_with("### trunk-ci-analytics: ci\\|&lt;main&gt; ✘ 9.00 s"),
            "{md}"
        );
        let rows = md.lines().filter(|l| l.starts_with("| ")).count();
        assert_eq!(rows, 1 + SLOWEST, "{md}");
        assert!(md.contains("**Failures (20)**"), "{md}");
        assert!(md.contains("- ✘ **unit \\`x\\`** (step, "), "{md}");
        assert!(md.contains("error 1000 \\`&lt;x&gt;\\`\\|"), "{md}");
        assert!(
            md.contains("<details>") && md.contains("unit `x` ×20,000"),
            "{md}"
        );
        assert!(md.trim_end().ends_with("</details>"), "{md}");
    }

    #[test]
    fn steps_that_ran_cargo_show_their_critical_path_and_slowest_crates() {
        let mut step = node(1, None, "test", Conclusion::Success, 130_000.0);
        step.critical_path = Some(("syn → serde_derive → app (bin)".into(), 129_000.0));
        let mut nodes = vec![step];
        for (i, (name, ms)) in [("syn", 9_000.0), ("a|b", 20_000.0), ("syn", 1_000.0)]
            .into_iter()
            .enumerate()
        {
            let mut n = node(i as u64 + 2, Some(1), name, Conclusion::Success, ms);
            n.kind = "compile".into();
            nodes.push(n);
        }
        let md = render(&nodes, 0, "local mode: not uploaded");
        assert!(
            md.contains(
                "**Critical path** of test 2m09.0s: syn → serde\\_derive → app \\(bin\\)  \n"
            ),
            "{md}"
        );
        assert!(
            md.contains("| Slowest crates | Units | Compile time |\n|:--|--:|--:|\n| a\\|b | 1 | 20.00 s |\n| syn | 2 | 10.00 s |\n"),
            "{md}"
        );
        // A step whose compiled units are not here (another process's) still names its
        // path; without units, no table.
        let plain = render(&nodes[..1], 0, "local mode: not uploaded");
        assert!(plain.contains("**Critical path**"));
        assert!(!plain.contains("Slowest crates"), "{plain}");
    }

    #[test]
    fn a_long_section_is_cut_at_a_line_outside_the_code_block_and_details() {
        let tree = "  ✔ step  1.0 ms\n".repeat(MAX_BYTES / 8);
        let out = with_tree("### head\n".into(), &tree);
        assert!(out.len() <= MAX_BYTES, "{}", out.len());
        assert!(out.ends_with("bounded)_\n"), "{}", &out[out.len() - 80..]);
        let cut = out.trim_end_matches(CUT_NOTE);
        assert!(
            cut.ends_with("```\n\n</details>\n\n"),
            "{}",
            &cut[cut.len() - 80..]
        );
        assert_eq!(out.matches("```").count(), 2);
        // A head too long for the tree: cut at a line, no code block opened.
        let out = with_tree("| row |\n".repeat(MAX_BYTES / 4), &tree);
        assert!(out.len() <= MAX_BYTES);
        assert!(!out.contains("<details>") && out.ends_with("bounded)_\n"));
        // What fits is left whole.
        let out = with_tree("### head\n".into(), "  ✔ a\n");
        assert!(!out.contains("cut:") && out.ends_with("</details>\n\n"));
    }

    #[test]
    fn kinds_are_bounded_and_dollars_are_not_math() {
        let mut n = node(1, None, "price $x^2$", Conclusion::Failure, 5.0);
        n.kind = "k".repeat(5_000);
        let md = render(&[n], 0, "local mode");
        assert!(md.lines().all(|l| l.len() < 400), "{md}");
        assert!(md.contains("price \\$x^2\\$"), "{md}");
    }
}
