//! A flush is answered as soon as what it covers is delivered (or written, in local mode),
//! however many events the process recorded before: a runner that flushes after every step
//! must not pay its flush timeout each time. The children run with the defaults a user has
//! (the summary on), record rounds of top-level events and flush after each round with a far
//! deadline; each flush must be answered long before it. A liveness check, not a benchmark:
//! the bound is a sixth of the deadline, the answers come in milliseconds.

// Tests may unwrap: a failure here is a failed test.
#![allow(clippy::unwrap_used)]

mod upload_support;

use std::time::Duration;

use trunk_ci_analytics_testkit::Scratch;
use trunk_ci_analytics_testserver::TestServer;
use upload_support::{Child, Run, assert_all_delivered};

const ROUNDS: usize = 20;
const PER_ROUND: u64 = 1_000;
const DEADLINE: Duration = Duration::from_secs(60);
/// Far below the deadline: a flush that waits for it (or most of it) fails.
const BOUND: Duration = Duration::from_secs(10);

fn rounds(run: Run) -> Child {
    run.env("TCA_SUMMARY", 1)
        .env("TCA_ROUNDS", ROUNDS)
        .env("TCA_EVENTS", PER_ROUND)
        .env("TCA_ROUND_DEADLINE_MS", DEADLINE.as_millis())
        .env("TCA_ROUND_BOUND_MS", BOUND.as_millis())
        .env("TCA_BATCH", 2_000)
        .run()
}

fn assert_answered_promptly(child: &Child) -> Vec<u64> {
    let rounds = child.rounds();
    for (i, (took, _, timed_out)) in rounds.iter().enumerate() {
        assert!(!timed_out, "round {i}: flush timed out");
        assert!(
            *took < BOUND,
            "round {i}: the flush took {took:?} of its {DEADLINE:?} deadline (every round: \
             {rounds:?})"
        );
    }
    assert_eq!(rounds.len(), ROUNDS, "{}\n{}", child.stdout, child.stderr);
    rounds.iter().map(|r| r.1).collect()
}

#[test]
fn every_flush_in_local_mode_is_answered_long_before_its_deadline() {
    let tmp = Scratch::new("rounds-local");
    let events = tmp.join("events.jsonl");
    let child = rounds(Run::local(&tmp.join("spool")).env("TRUNK_EVENTS_FILE", events.display()));
    assert_answered_promptly(&child);
    // Each flush covered its round: every event is in the file, none waits elsewhere.
    let lines = std::fs::read_to_string(&events).unwrap().lines().count();
    assert_eq!(lines, ROUNDS * PER_ROUND as usize);
    assert_eq!(child.ids.len(), lines);
}

#[test]
fn every_flush_while_uploading_is_answered_once_its_round_is_delivered() {
    let server = TestServer::start();
    let tmp = Scratch::new("rounds-upload");
    let child = rounds(Run::new(&server, &tmp.join("spool")));
    let delivered = assert_answered_promptly(&child);
    // Each report counts exactly its own round: delivered before the flush answered.
    assert_eq!(delivered, vec![PER_ROUND; ROUNDS]);
    assert_eq!(
        assert_all_delivered(&server, &child.ids),
        0,
        "each sent once"
    );
}
