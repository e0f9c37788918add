//! Values are bounded in bytes: a huge tag value is cut with a marker, reported once and
//! counted, whichever way it was set; and past 64 MiB of tag bytes alive in the process,
//! finished events are dropped at the hand-off, counted, until the bytes are freed again.

use trunk_ci_analytics::{Conclusion, Config, EventBuilder, ManualEvent, track_event};

use crate::hostile_support::{field, recording};

const MARKER: &str = "…[truncated]";

#[track_event(tags(big = huge))]
fn tagged_by_macro(huge: &str) {
    trunk_ci_analytics::tag("by_call", huge.to_owned());
}

#[test]
fn a_64_kib_tag_is_cut_with_a_marker_and_counted() {
    let run = recording("big_tags");
    let (stdout, stderr) = (&run.stdout, &run.stderr);
    // Three values cut: the macro's, `tag`'s and the manual event's.
    assert_eq!(
        field(stdout, "BYTES", "truncated").as_deref(),
        Some("3"),
        "{stdout}"
    );
    let warnings = stderr.lines().filter(|l| l.contains("truncated")).count();
    assert_eq!(warnings, 1, "{stderr}");
    let mut cut = 0;
    for event in run.events() {
        for tag in event["payload"]["tags"].as_array().unwrap() {
            let Some(v) = tag["v"].as_str() else { continue };
            assert!(v.len() <= 4096, "{} bytes in {}", v.len(), tag["k"]);
            if v.ends_with(MARKER) {
                assert!(v.starts_with("xxxx"), "{v}");
                cut += 1;
            }
        }
    }
    assert_eq!(cut, 3);
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

#[test]
fn past_64_mib_of_live_tag_bytes_finished_events_are_dropped_and_counted() {
    let run = recording("live_tag_bytes");
    let (stdout, stderr) = (&run.stdout, &run.stderr);
    let dropped = |phase: &str| -> u64 {
        field(stdout, "LIVE", phase)
            .unwrap_or_else(|| panic!("no {phase} in {stdout}"))
            .parse()
            .unwrap()
    };
    let written = run.events();
    let probes = |phase: &str| {
        written
            .iter()
            .filter(|e| e["sequence"]["key"] == format!("hostile::probe::{phase}"))
            .count() as u64
    };
    assert_eq!(
        (dropped("under"), probes("under")),
        (0, PROBES),
        "60 MiB alive is within the bound:\n{stdout}"
    );
    assert!(
        dropped("over") >= 64,
        "68 MiB alive is past it: {stdout}\n{stderr}"
    );
    assert_eq!(
        probes("over") + dropped("over"),
        PROBES,
        "dropped, never queued nor lost uncounted: {stdout}"
    );
    assert_eq!(
        (dropped("after"), probes("after")),
        (0, PROBES),
        "once the running events ended, events are recorded again: {stdout}"
    );
}

/// Events finished per phase: two hand-offs' worth (a thread hands its events over 64 at a
/// time, and the bound is checked at the hand-off).
const PROBES: u64 = 128;

/// A string value at the 4 KiB bound, eight of which fill an event's 32 KiB.
const TAGS: [&str; 8] = ["t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7"];

/// `n` running events holding 32 KiB of tag bytes each.
fn hold(n: usize) -> Vec<ManualEvent> {
    let value = "x".repeat(4096);
    (0..n)
        .map(|_| {
            TAGS.iter()
                .fold(EventBuilder::new("holds"), |b, k| b.tag(*k, value.clone()))
                .start()
        })
        .collect()
}

/// Finishes [`PROBES`] events of `phase` and flushes; the events dropped meanwhile.
fn probes(phase: &str) -> u64 {
    for _ in 0..PROBES {
        EventBuilder::new("probe")
            .key(format!("hostile::probe::{phase}"))
            .start()
            .finish(Conclusion::Success);
    }
    trunk_ci_analytics::flush(std::time::Duration::from_secs(30)).dropped
}

pub fn live_tag_bytes_child() {
    let guard = trunk_ci_analytics::init(Config::from_env().summary(false));
    // 1,920 × 32 KiB = 60 MiB.
    let mut running = hold(1920);
    let under = probes("under");
    // 2,176 × 32 KiB = 68 MiB.
    running.extend(hold(256));
    let over = probes("over");
    for event in running {
        event.finish(Conclusion::Success);
    }
    trunk_ci_analytics::flush(std::time::Duration::from_secs(30));
    let after = probes("after");
    println!("LIVE under={under} over={over} after={after}");
    drop(guard);
}
