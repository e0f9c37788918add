//! `report` end to end: the real binary writes the page, real headless Chromium runs its
//! script, and the assertions read what the script put in the DOM. Screenshots of both runs
//! land in Cargo's scratch directory (`target/tmp/report-tests/`) for people to look at.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;

use support::big_run;
use support::chromium::Chromium;
use support::dom;

const SMALL_RUN: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/small_run.jsonl"
);

/// Nothing in the page points anywhere: no stylesheet links, no script sources, no URL in
/// any attribute or CSS that could make the browser fetch.
fn assert_self_contained(html: &str) {
    assert!(!html.contains("<link"), "the page links a resource");
    for tag in html
        .match_indices("<script")
        .map(|(at, _)| dom::tag_around(&html[at..], "<script"))
    {
        assert!(!tag.contains("src"), "external script: {tag}");
    }
    for reference in dom::resource_references(html) {
        let value = reference.trim_matches(['"', '\'']);
        assert!(
            !value.contains("//") && !value.starts_with("http"),
            "the page references {reference}"
        );
    }
}

#[test]
fn a_small_run_draws_every_event_with_its_conclusion() {
    let chromium = Chromium::find();
    let dir = support::scratch("small");
    let html = dir.join("report.html");
    support::report(Path::new(SMALL_RUN), &html);
    let page = std::fs::read_to_string(&html).unwrap();
    assert_self_contained(&page);

    let url = support::file_url(&html, "");
    let rendered = chromium.dump_dom(&url);
    assert_self_contained(&rendered);

    // 12 lines, 11 events: the `build` step was written when it started and again when it ended.
    let rows = dom::rows(&rendered);
    let names: Vec<&str> = rows.iter().map(|(_, name)| name.as_str()).collect();
    assert_eq!(
        names,
        [
            "ci",
            "fmt",
            "lint",
            "build",
            "build.rs ring",
            "build.rs app",
            "test",
            "unit tests",
            "doc tests",
            "upload cache",
            "deploy"
        ]
    );
    let class_of = |name: &str| &rows.iter().find(|(_, n)| n == name).unwrap().0;
    assert!(class_of("unit tests").contains("c-failure"), "{rows:?}");
    assert!(class_of("build").contains("c-success"), "{rows:?}");
    assert!(class_of("doc tests").contains("c-cancelled"), "{rows:?}");
    assert!(class_of("deploy").contains("c-skipped"), "{rows:?}");
    assert!(class_of("upload cache").contains("c-running"), "{rows:?}");

    assert_eq!(dom::text(&rendered, "run-name"), "ci");
    assert_eq!(dom::text(&rendered, "run-total"), "3m 04s");
    for (kind, count) in [
        ("SUCCESS", "5"),
        ("FAILURE", "3"),
        ("CANCELLED", "1"),
        ("TIMED_OUT", "0"),
        ("SKIPPED", "1"),
        ("RUNNING", "1"),
    ] {
        assert_eq!(
            dom::attribute(&rendered, &format!("count-{kind}"), "data-count"),
            count,
            "{kind}"
        );
    }
    // The details panel stays closed until a row is chosen.
    assert!(dom::tag_around(&rendered, "id=\"details\"").contains("hidden"));

    chromium.screenshot(&url, &dir.join("report-small.png"));
    chromium.screenshot(
        &support::file_url(&html, "#event=77aa88bb99cc00dd"),
        &dir.join("report-small-details.png"),
    );
}

#[test]
fn a_linked_event_opens_its_details_with_tags_and_metrics() {
    let chromium = Chromium::find();
    let dir = support::scratch("details");
    let html = dir.join("report.html");
    support::report(Path::new(SMALL_RUN), &html);

    let rendered = chromium.dump_dom(&support::file_url(&html, "#event=77aa88bb99cc00dd"));
    assert!(!dom::tag_around(&rendered, "id=\"details\"").contains("hidden"));
    assert_eq!(dom::text(&rendered, "detail-conclusion"), "failed");
    let selected: Vec<_> = dom::rows(&rendered)
        .into_iter()
        .filter(|(class, _)| class.contains("selected"))
        .collect();
    assert_eq!(
        selected,
        [(
            "row c-failure odd selected".to_owned(),
            "unit tests".to_owned()
        )]
    );
    for shown in [
        "<td>first_failure</td><td>parser::tests::rejects_unclosed_tag</td>",
        "<td>passed</td><td>412</td>",
        "<td>Key</td><td>app::tests::unit</td>",
        "<td>Kind</td><td>test</td>",
        "<td>Event id</td><td>77aa88bb99cc00dd</td>",
        "<td>Parent</td><td>test (c0ffee12ab34cd56)</td>",
    ] {
        assert!(rendered.contains(shown), "{shown} not in the details panel");
    }
}

#[test]
fn names_and_tags_are_shown_as_text_never_as_markup() {
    let chromium = Chromium::find();
    let dir = support::scratch("hostile");
    let events = dir.join("events.jsonl");
    let name = "</script><img src=x onerror=alert(1)>";
    let line = serde_json::json!({
        "id": "0123456789abcdef", "chainId": "0123456789abcdef",
        "createdAt": 1_795_698_599_426u64, "finishedAt": 1_795_698_600_000u64, "conclusion": "FAILURE",
        "payload": {"metrics": [], "tags": [{"k": "why", "v": "<b>bold</b>"}]},
        "sequence": {"platform": "local", "kind": "step", "key": "k", "name": name,
                     "payload": {"metrics": [], "tags": []}}
    });
    std::fs::write(&events, format!("{line}\n")).unwrap();
    let html = dir.join("report.html");
    support::report(&events, &html);

    let rendered = chromium.dump_dom(&support::file_url(&html, "#event=0123456789abcdef"));
    assert!(!rendered.contains("<img"), "a name became an element");
    assert!(!rendered.contains("<b>bold"), "a tag became an element");
    let escaped = "&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;";
    assert_eq!(
        dom::rows(&rendered),
        [("row c-failure selected".to_owned(), escaped.to_owned())]
    );
    assert_eq!(dom::text(&rendered, "run-name"), escaped);
    assert!(rendered.contains("<td>why</td><td>&lt;b&gt;bold&lt;/b&gt;</td>"));
}

#[test]
fn ten_thousand_events_open_folded_and_render_only_the_rows_in_view() {
    let chromium = Chromium::find();
    let dir = support::scratch("big");
    let events = dir.join("events.jsonl");
    big_run::write(&events);
    let html = dir.join("report.html");
    support::report(&events, &html);
    let page = std::fs::read_to_string(&html).unwrap();
    assert_self_contained(&page);

    let url = support::file_url(&html, "");
    let rendered = chromium.dump_dom(&url);
    assert!(rendered.contains(" \u{b7} 10,000 events \u{b7} events.jsonl"));
    assert_eq!(dom::axis_labels(&rendered)[0], "0");
    let failed = 3 + 2 + 2 + 1; // tests, their steps, their jobs, the pipeline
    let skipped = 9 * 10;
    for (kind, count) in [
        ("SUCCESS", big_run::EVENTS - failed - skipped),
        ("FAILURE", failed),
        ("SKIPPED", skipped),
        ("RUNNING", 0),
    ] {
        assert_eq!(
            dom::attribute(&rendered, &format!("count-{kind}"), "data-count"),
            count.to_string(),
            "{kind}"
        );
    }

    // Only what fits the window (plus a margin) is in the document, not 10,000 rows.
    let rows = dom::rows(&rendered);
    assert!(
        rows.len() > 20 && rows.len() < 100,
        "{} rows rendered",
        rows.len()
    );
    assert_eq!(rows[0].1, "nightly");
    assert!(rows[0].0.contains("c-failure"));
    assert!(
        rows.iter()
            .filter(|(_, name)| name.starts_with("job "))
            .count()
            >= 2,
        "{rows:?}"
    );
    // Steps are folded, except those with a failure: the path to it is open.
    let failed_step = rows
        .iter()
        .position(|(class, name)| name == "cargo test -p crate_4" && class.contains("c-failure"))
        .unwrap_or_else(|| panic!("{rows:?}"));
    assert_eq!(rows[failed_step + 1].1, "crate_4::tests::case_000");
    // The scrollable height covers more rows than are rendered.
    let height = dom::attribute(&rendered, "canvas", "style");
    let pixels: usize = height
        .trim_start_matches("height: ")
        .trim_end_matches("px;")
        .parse()
        .unwrap_or_else(|_| panic!("{height}"));
    assert!(
        pixels / 24 > rows.len(),
        "canvas {height}, {} rows",
        rows.len()
    );
    // Test cases are folded away except under failed steps: a folded step says how many.
    assert!(rendered.contains("<span class=\"more\">+110</span>"));

    chromium.screenshot(&url, &dir.join("report-10k.png"));
    // The path to a failing test case opens when it is linked.
    let failing = format!("{:016x}", 0x1000_0000 + 7 * 100_000 + 1_000 + 3);
    let linked = chromium.dump_dom(&support::file_url(&html, &format!("#event={failing}")));
    let selected: Vec<_> = dom::rows(&linked)
        .into_iter()
        .filter(|(class, _)| class.contains("selected"))
        .collect();
    assert_eq!(selected.len(), 1);
    assert_eq!(selected[0].1, "crate_1::tests::case_003");
    assert!(selected[0].0.contains("c-failure"));

    // Zoomed to the failed step, the axis spans only its minute of the nine.
    let failed_step = format!("{:016x}", 0x10_0000 + 2 * 100 + 4);
    let zoomed = chromium.dump_dom(&support::file_url(&html, &format!("#zoom={failed_step}")));
    assert!(!dom::tag_around(&zoomed, "id=\"zoom-reset\"").contains("hidden"));
    assert!(!dom::text(&zoomed, "view-range").is_empty());
    let labels = dom::axis_labels(&zoomed);
    assert!(
        labels.len() >= 2 && !labels.contains(&"0".to_owned()),
        "{labels:?}"
    );
    assert!(
        labels
            .iter()
            .all(|l| l.starts_with("3m") || l.starts_with("4m")),
        "{labels:?}"
    );
    chromium.screenshot(
        &support::file_url(&html, &format!("#zoom={failed_step}")),
        &dir.join("report-10k-zoomed.png"),
    );
}

#[test]
fn several_runs_in_one_file_get_a_picker_and_orphans_show_as_roots() {
    let chromium = Chromium::find();
    let dir = support::scratch("two-runs");
    let events = dir.join("events.jsonl");
    let event = |id: &str, chain: &str, parent: Option<&str>, at: u64, name: &str| {
        let mut line = serde_json::json!({
            "id": id, "chainId": chain, "createdAt": at, "finishedAt": at + 1_000,
            "conclusion": "SUCCESS",
            "sequence": {"platform": "local", "kind": "step", "key": name, "name": name,
                         "payload": {"metrics": [], "tags": []}}
        });
        if let Some(parent) = parent {
            line["parent"] = serde_json::json!({"eventId": parent, "sequenceKey": "gone"});
        }
        line.to_string()
    };
    let lines = [
        event("b1", "second", None, 1_795_700_000_000, "second run"),
        event("a1", "first", None, 1_795_600_000_000, "first run"),
        event("a2", "first", Some("a1"), 1_795_600_000_100, "first child"),
        event("b2", "second", Some("lost"), 1_795_700_000_200, "orphan"),
    ];
    std::fs::write(&events, lines.join("\n")).unwrap();
    let html = dir.join("report.html");
    support::report(&events, &html);

    let first = chromium.dump_dom(&support::file_url(&html, ""));
    assert!(!dom::tag_around(&first, "id=\"run-select\"").contains("hidden"));
    assert_eq!(first.matches("<option").count(), 2);
    assert_eq!(dom::text(&first, "run-name"), "first run");
    let names: Vec<_> = dom::rows(&first)
        .into_iter()
        .map(|(_, name)| name)
        .collect();
    assert_eq!(names, ["first run", "first child"]);

    // Linking to an event of the second run shows that run; the orphan is a root beside
    // the run's own root, and its details say its parent is not in the file.
    let second = chromium.dump_dom(&support::file_url(&html, "#event=b2"));
    assert_eq!(dom::text(&second, "run-name"), "second run");
    let names: Vec<_> = dom::rows(&second)
        .into_iter()
        .map(|(_, name)| name)
        .collect();
    assert_eq!(names, ["second run", "orphan"]);
    assert!(second.contains("<td>Parent</td><td>lost (not in this file)</td>"));
}

#[test]
fn folds_buttons_and_find_respond_to_the_user() {
    let chromium = Chromium::find();
    let dir = support::scratch("interaction");
    let html = dir.join("report.html");
    support::report(Path::new(SMALL_RUN), &html);
    // The page as shipped, plus a script that acts as a user would: DOM events only.
    let page = std::fs::read_to_string(&html).unwrap();
    let user = r##"<script>
var log = [];
function rows() { return Array.from(document.querySelectorAll("#rows .row .name")).map(function (n) { return n.textContent; }).join(","); }
function row(name) { return Array.from(document.querySelectorAll("#rows .row")).find(function (r) { return r.querySelector(".name").textContent === name; }); }
row("test").querySelector(".toggle").click();
log.push("fold:" + rows());
document.getElementById("collapse-all").click();
log.push("collapse:" + rows());
document.getElementById("expand-all").click();
log.push("expand:" + rows());
var find = document.getElementById("find");
find.value = "BUILD.RS";
find.dispatchEvent(new Event("input"));
log.push("count:" + document.getElementById("find-count").textContent);
find.dispatchEvent(new KeyboardEvent("keydown", {key: "Enter"}));
find.dispatchEvent(new KeyboardEvent("keydown", {key: "Enter"}));
log.push("found:" + document.querySelector("#details h2").textContent);
document.dispatchEvent(new KeyboardEvent("keydown", {key: "ArrowUp"}));
log.push("up:" + document.querySelector("#details h2").textContent);
document.dispatchEvent(new KeyboardEvent("keydown", {key: "Escape"}));
log.push("escape:" + document.getElementById("details").hidden);
var out = document.createElement("pre");
out.id = "user-log";
out.textContent = log.join("|");
document.body.appendChild(out);
</script></body>"##;
    let driven = dir.join("driven.html");
    std::fs::write(&driven, page.replace("</body>", user)).unwrap();

    let rendered = chromium.dump_dom(&support::file_url(&driven, ""));
    let log = dom::text(&rendered, "user-log");
    let steps: Vec<&str> = log.split('|').collect();
    assert_eq!(
        steps,
        [
            "fold:ci,fmt,lint,build,build.rs ring,build.rs app,test,upload cache,deploy",
            "collapse:ci,fmt,lint,build,test,upload cache,deploy",
            "expand:ci,fmt,lint,build,build.rs ring,build.rs app,test,unit tests,doc tests,upload cache,deploy",
            "count:2 found",
            "found:build.rs app",
            "up:build.rs ring",
            "escape:true",
        ]
    );
}
