//! Manual events at times measured elsewhere (`EventBuilder::started_at`,
//! `ManualEvent::finish_at`): the events file has exactly those times, whether they fall
//! before this process started or after, mixed with the clock's own readings.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails by panicking

mod support;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use support::{metric_of, parent_id};
use trunk_ci_analytics::{Conclusion, EventBuilder, track_event};

fn ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

#[track_event]
fn times_root() {
    let now = SystemTime::now();
    // Long before this process existed, to the nanosecond.
    let started = now - Duration::from_secs(3600) + Duration::from_nanos(123_456);
    let ended = started + Duration::from_millis(1800) + Duration::from_nanos(250_000);
    EventBuilder::new("an hour ago")
        .kind("compile")
        .started_at(started)
        .start()
        .finish_at(ended, Conclusion::Failure);
    // Ends before it starts: it lasted no time.
    EventBuilder::new("backwards")
        .started_at(now)
        .start()
        .finish_at(now - Duration::from_secs(5), Conclusion::Success);
    // Started elsewhere, ended here.
    let job = EventBuilder::new("until now").started_at(started).start();
    job.finish(Conclusion::Cancelled);
}

#[test]
fn events_keep_the_times_they_were_given() {
    support::init();
    let before = SystemTime::now();
    times_root();
    let events = support::tree("times_root");
    let root = events.one("times_root");

    let old = events.one("an hour ago");
    assert_eq!(parent_id(old), root["id"].as_str());
    let started = before - Duration::from_secs(3600);
    let created = old["createdAt"].as_u64().unwrap();
    assert!(
        created.abs_diff(ms(started)) < 60_000,
        "{created} vs {}",
        ms(started)
    );
    // 1800.25 ms apart: whole milliseconds 1800 or 1801 apart, by where the first falls.
    let apart = old["finishedAt"].as_u64().unwrap() - created;
    assert!(apart == 1800 || apart == 1801, "{old:#}");
    let duration = metric_of(old, "duration_ms").unwrap();
    assert!((duration - 1800.25).abs() < 1e-6, "{duration}");
    assert_eq!(old["conclusion"], "FAILURE");
    assert_eq!(old["sequence"]["kind"], "compile");

    let backwards = events.one("backwards");
    assert_eq!(backwards["finishedAt"], backwards["createdAt"]);
    assert_eq!(metric_of(backwards, "duration_ms"), Some(0.0));

    let until_now = events.one("until now");
    assert_eq!(until_now["createdAt"].as_u64().unwrap(), created);
    assert!(until_now["finishedAt"].as_u64().unwrap() >= ms(before));
    assert_eq!(until_now["conclusion"], "CANCELLED");
}
