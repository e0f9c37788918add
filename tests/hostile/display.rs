//! A tag whose `Display` fails drops that tag, once warned, and the function runs.

use std::fmt;

use trunk_ci_analytics::{Config, track_event};

use crate::hostile_support::{field, recording};

/// Formats as an error, as a buggy or deliberately failing `Display` may.
struct Failing;

impl fmt::Display for Failing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("partial")?;
        Err(fmt::Error)
    }
}

#[track_event(tags(bad = Failing, good = "kept"), sequence_tags(seq_bad = Failing))]
fn tagged(n: u32) -> u32 {
    n + 1
}

#[test]
fn a_failing_display_drops_the_tag_and_warns_once() {
    let run = recording("display_err");
    let (stdout, stderr) = (&run.stdout, &run.stderr);
    assert_eq!(
        field(stdout, "DISPLAY", "sum").as_deref(),
        Some("5"),
        "{stdout}"
    );
    let warnings = stderr.lines().filter(|l| l.contains("Display")).count();
    assert_eq!(warnings, 1, "{stderr}");
    let text = run.text();
    let recorded = run.events();
    assert_eq!(recorded.len(), 2, "{text}");
    for event in &recorded {
        let tags = event["payload"]["tags"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let keys: Vec<&str> = tags.iter().filter_map(|t| t["k"].as_str()).collect();
        assert!(keys.contains(&"good"), "{event}");
        assert!(!keys.contains(&"bad"), "{event}");
        assert!(!text.contains("seq_bad"), "{text}");
    }
}

pub fn display_err_child() {
    let guard = trunk_ci_analytics::init(Config::from_env().summary(false));
    let sum = tagged(1) + tagged(2);
    println!("DISPLAY sum={sum}");
    drop(guard);
}
