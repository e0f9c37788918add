//! Values are bounded in bytes: a huge tag value is cut with a marker, reported once and
//! counted, whichever way it was set.

use serde_json::Value;
use trunk_ci_analytics::{Conclusion, Config, EventBuilder, track_event};

use crate::hostile_support::{child_command, field, run};

const MARKER: &str = "…[truncated]";

#[track_event(tags(big = huge))]
fn tagged_by_macro(huge: &str) {
    trunk_ci_analytics::tag("by_call", huge.to_owned());
}

#[test]
fn a_64_kib_tag_is_cut_with_a_marker_and_counted() {
    let events =
        std::env::temp_dir().join(format!("tca-hostile-bytes-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&events);
    let mut cmd = child_command("big_tags");
    cmd.env("TRUNK_EVENTS_FILE", &events);
    let (out, stdout, stderr) = run(&mut cmd);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    // Three values cut: the macro's, `tag`'s and the manual event's.
    assert_eq!(
        field(&stdout, "BYTES", "truncated").as_deref(),
        Some("3"),
        "{stdout}"
    );
    let warnings = stderr.lines().filter(|l| l.contains("truncated")).count();
    assert_eq!(warnings, 1, "{stderr}");
    let text = std::fs::read_to_string(&events).unwrap();
    let _ = std::fs::remove_file(&events);
    let mut cut = 0;
    for line in text.lines() {
        let event: Value = serde_json::from_str(line).unwrap();
        for tag in event["payload"]["tags"].as_array().unwrap() {
            let Some(v) = tag["v"].as_str() else { continue };
            assert!(v.len() <= 4096, "{} bytes in {}", v.len(), tag["k"]);
            if v.ends_with(MARKER) {
                assert!(v.starts_with("xxxx"), "{v}");
                cut += 1;
            }
        }
    }
    assert_eq!(cut, 3, "{text}");
}

pub fn big_tags_child() {
    let guard = trunk_ci_analytics::init(Config::from_env().summary(false));
    let huge = "x".repeat(64 * 1024);
    tagged_by_macro(&huge);
    EventBuilder::new("manual")
        .tag("big", huge.clone())
        .start()
        .finish(Conclusion::Success);
    let report = trunk_ci_analytics::flush(std::time::Duration::from_secs(5));
    println!("BYTES truncated={}", report.truncated);
    drop(guard);
}
