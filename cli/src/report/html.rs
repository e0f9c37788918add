//! The page: the runs as JSON inside a `<script type="application/json">` element, and the
//! inline CSS and JS that draw them. Nothing is fetched (the page's own Content Security
//! Policy forbids it), so the file works offline, from a CI artifact, and years later.

use serde::Serialize;
use trunk_ci_analytics_runtime::Conclusion;
use trunk_ci_analytics_runtime::wire::{Event, TagValue};

use super::tree::{Node, Run};

const CSS: &str = include_str!("page.css");
const JS: &str = include_str!("page.js");

/// Everything the script draws; field names are short because a run can have tens of
/// thousands of nodes.
#[derive(Serialize)]
struct PageData<'a> {
    source: &'a str,
    runs: Vec<PageRun<'a>>,
}

#[derive(Serialize)]
struct PageRun<'a> {
    name: &'a str,
    chain: &'a str,
    start: u64,
    total: u64,
    counts: Counts,
    nodes: Vec<PageNode<'a>>,
}

#[derive(Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
struct Counts {
    success: usize,
    failure: usize,
    cancelled: usize,
    timed_out: usize,
    skipped: usize,
    /// No conclusion yet: a started event whose end never came.
    running: usize,
}

/// One event. `d` depth, `p` parent's index, `s` start offset and `e` duration (ms, `null`
/// while running), `ms` the precise `duration_ms` metric, `c` conclusion, `n` name, `k`
/// kind, `y` key, `pl` platform, `i` id, `pe` parent event id, `t` tags, `q` sequence
/// tags, `m` metrics, `z` subtree length.
#[derive(Serialize)]
struct PageNode<'a> {
    d: usize,
    p: Option<usize>,
    s: u64,
    e: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ms: Option<f64>,
    c: Option<&'static str>,
    n: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    k: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    y: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    pl: &'a str,
    i: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pe: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    t: Vec<(&'a str, &'a TagValue)>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    q: Vec<(&'a str, &'a TagValue)>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    m: Vec<(&'a str, f64)>,
    z: usize,
}

/// The whole page for `runs`, read from the file named `source`.
pub(crate) fn render(runs: &[Run], source: &str) -> String {
    let data = PageData {
        source,
        runs: runs.iter().map(page_run).collect(),
    };
    // Serializing borrowed strings, numbers and options cannot fail; should it ever, the
    // page still loads and says there is nothing to draw.
    let json = serde_json::to_string(&data).unwrap_or_else(|_| r#"{"runs":[]}"#.to_owned());
    let mut page = String::with_capacity(json.len() + CSS.len() + JS.len() + 2048);
    page.push_str(HEAD);
    page.push_str(CSS);
    page.push_str(BODY);
    page.push_str(&embed_json(&json));
    page.push_str("</script>\n<script>\n");
    page.push_str(JS);
    page.push_str("</script>\n</body>\n</html>\n");
    page
}

/// JSON safe inside a `<script>` element: a `<` could start `</script>` or `<!--`, and only
/// strings can hold one, where `\u003c` means the same character to `JSON.parse`.
fn embed_json(json: &str) -> String {
    json.replace('<', "\\u003c")
}

fn page_run(run: &Run) -> PageRun<'_> {
    let first = run.nodes.first().map(|n| &n.event);
    PageRun {
        name: first.map(display_name).unwrap_or(""),
        chain: first.map(|e| e.chain_id.as_str()).unwrap_or(""),
        start: run.start_ms,
        total: run.total_ms,
        counts: count(&run.nodes),
        nodes: run.nodes.iter().map(page_node).collect(),
    }
}

fn count(nodes: &[Node]) -> Counts {
    let mut counts = Counts::default();
    for node in nodes {
        *match node.event.conclusion {
            Some(Conclusion::Success) => &mut counts.success,
            Some(Conclusion::Failure) => &mut counts.failure,
            Some(Conclusion::Cancelled) => &mut counts.cancelled,
            Some(Conclusion::TimedOut) => &mut counts.timed_out,
            Some(Conclusion::Skipped) => &mut counts.skipped,
            None => &mut counts.running,
        } += 1;
    }
    counts
}

fn page_node(node: &Node) -> PageNode<'_> {
    let event = &node.event;
    let sequence = event.sequence.as_ref();
    let metrics = event
        .payload
        .as_ref()
        .map(|p| &p.metrics[..])
        .unwrap_or(&[]);
    PageNode {
        d: node.depth,
        p: node.parent,
        s: node.offset_ms,
        e: node.duration_ms,
        ms: metrics
            .iter()
            .find(|m| m.k == "duration_ms" && m.v.is_finite() && m.v >= 0.0)
            .map(|m| m.v),
        c: event.conclusion.map(Conclusion::as_str),
        n: display_name(event),
        k: sequence.map(|s| s.kind.as_str()).unwrap_or(""),
        y: sequence.map(|s| s.key.as_str()).unwrap_or(""),
        pl: sequence.map(|s| s.platform.as_str()).unwrap_or(""),
        i: &event.id,
        pe: event.parent.as_ref().map(|p| p.event_id.as_str()),
        t: event
            .payload
            .iter()
            .flat_map(|p| &p.tags)
            .map(|t| (t.k.as_str(), &t.v))
            .collect(),
        q: sequence
            .iter()
            .flat_map(|s| &s.payload.tags)
            .map(|t| (t.k.as_str(), &t.v))
            .collect(),
        m: metrics.iter().map(|m| (m.k.as_str(), m.v)).collect(),
        z: node.subtree_len,
    }
}

/// The sequence name, or the id for an event that has no sequence.
fn display_name(event: &Event) -> &str {
    event
        .sequence
        .as_ref()
        .map(|s| s.name.as_str())
        .filter(|name| !name.is_empty())
        .unwrap_or(&event.id)
}

const HEAD: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="trunk-ci-analytics report">
<title>CI run report</title>
<style>
"#;

const BODY: &str = r#"</style>
</head>
<body>
<header>
<div class="title-line"><h1 id="run-name">CI run report</h1><select id="run-select" hidden aria-label="Run"></select></div>
<div class="meta" id="run-meta"></div>
<div class="bar-line"><div class="chips" id="counts"></div><div class="tools"><input type="search" id="find" placeholder="Find (name, key, id)" aria-label="Find events"><span id="find-count"></span><button type="button" id="zoom-reset" hidden title="Show the whole run (0)">Whole run</button><button type="button" id="expand-all">Expand all</button><button type="button" id="collapse-all">Collapse</button></div></div>
</header>
<main>
<div id="scroller" tabindex="0">
<div id="axis"><div class="label-head">Event<span id="view-range"></span><span class="hint">click a row for details, Z to zoom</span></div><div class="axis-track" id="ticks"></div></div>
<div id="canvas"><div id="grid"></div><div id="rows"></div></div>
</div>
<aside id="details" hidden></aside>
</main>
<noscript><p class="noscript">This report is drawn by JavaScript; the events are in the page source.</p></noscript>
<script type="application/json" id="report-data">"#;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test
mod tests {
    use trunk_ci_analytics_runtime::wire::{Metric, Payload, Sequence, Tag};

    use super::super::tree;
    use super::*;

    fn event(id: &str, name: &str, conclusion: Option<Conclusion>) -> Event {
        Event {
            id: id.into(),
            chain_id: "chain".into(),
            parent: None,
            created_at: 1_000,
            finished_at: conclusion.map(|_| 1_500),
            conclusion,
            payload: Some(Payload {
                metrics: vec![Metric {
                    k: "duration_ms".into(),
                    v: 500.25,
                }],
                tags: vec![Tag {
                    k: "note".into(),
                    v: "<b>bold</b>".into(),
                }],
            }),
            sequence: Some(Sequence {
                platform: "local".into(),
                kind: "step".into(),
                key: format!("key::{id}"),
                name: name.into(),
                payload: Payload::default(),
            }),
        }
    }

    /// The text of the data element, as the browser hands it to `JSON.parse`.
    fn embedded(page: &str) -> serde_json::Value {
        let open = r#"<script type="application/json" id="report-data">"#;
        let start = page.find(open).unwrap() + open.len();
        let end = start + page[start..].find("</script>").unwrap();
        serde_json::from_str(&page[start..end]).unwrap()
    }

    #[test]
    fn hostile_names_stay_inside_the_data_element() {
        let name = "</script><script>alert(1)</script><!--";
        let runs = tree::build(vec![event("a", name, Some(Conclusion::Success))]);
        let page = render(&runs, "x.jsonl");
        // One data element and one script: the name opened no element of its own.
        assert_eq!(page.matches("<script").count(), 2);
        assert_eq!(page.matches("</script>").count(), 2);
        let data = embedded(&page);
        assert_eq!(data["runs"][0]["nodes"][0]["n"], name);
        assert_eq!(data["runs"][0]["nodes"][0]["t"][0][1], "<b>bold</b>");
    }

    #[test]
    fn counts_every_conclusion_and_running_events() {
        let runs = tree::build(vec![
            event("a", "a", Some(Conclusion::Success)),
            event("b", "b", Some(Conclusion::Failure)),
            event("c", "c", Some(Conclusion::Failure)),
            event("d", "d", Some(Conclusion::TimedOut)),
            event("e", "e", None),
        ]);
        let counts = count(&runs[0].nodes);
        assert_eq!(
            counts,
            Counts {
                success: 1,
                failure: 2,
                timed_out: 1,
                running: 1,
                ..Counts::default()
            }
        );
        let data = embedded(&render(&runs, "x.jsonl"));
        assert_eq!(data["runs"][0]["counts"]["TIMED_OUT"], 1);
        assert_eq!(data["runs"][0]["counts"]["RUNNING"], 1);
    }

    #[test]
    fn nodes_carry_what_the_details_panel_shows() {
        let runs = tree::build(vec![event("a", "build", Some(Conclusion::Failure))]);
        let data = embedded(&render(&runs, "events.jsonl"));
        assert_eq!(data["source"], "events.jsonl");
        assert_eq!(data["runs"][0]["name"], "build");
        let node = &data["runs"][0]["nodes"][0];
        assert_eq!(node["c"], "FAILURE");
        assert_eq!(node["k"], "step");
        assert_eq!(node["y"], "key::a");
        assert_eq!(node["i"], "a");
        assert_eq!(node["e"], 500);
        assert_eq!(node["ms"], 500.25);
        assert_eq!(node["m"][0], serde_json::json!(["duration_ms", 500.25]));
    }

    #[test]
    fn an_event_without_a_sequence_is_named_by_its_id() {
        let mut bare = event("f00d", "", None);
        bare.sequence = None;
        let runs = tree::build(vec![bare]);
        let data = embedded(&render(&runs, "x.jsonl"));
        assert_eq!(data["runs"][0]["nodes"][0]["n"], "f00d");
        assert!(data["runs"][0]["nodes"][0].get("k").is_none());
    }

    #[test]
    fn the_page_loads_nothing_from_elsewhere() {
        let runs = tree::build(vec![event("a", "a", Some(Conclusion::Success))]);
        let page = render(&runs, "x.jsonl");
        for needle in [
            "<link", " src=", "href=", "url(", "@import", "http:", "https:",
        ] {
            assert!(!page.contains(needle), "page contains {needle:?}");
        }
    }
}
