//! Hostile conditions (DESIGN.md §12): tricky addresses, huge timeouts, failing `Display`
//! impls, big values. Each scenario runs the real runtime in a child process (the runtime is
//! process-global): this same test binary, re-run with only the ignored `child` test selected
//! and `TCA_HOSTILE` naming the scenario.

// Tests may unwrap: a failure here is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod hostile_support;
#[path = "upload_support/mod.rs"]
mod upload_support;

#[path = "hostile/address.rs"]
mod address;
#[path = "hostile/answers.rs"]
mod answers;
#[path = "hostile/bytes.rs"]
mod bytes;
#[path = "hostile/claims.rs"]
mod claims;
#[path = "hostile/disk_full.rs"]
mod disk_full;
#[path = "hostile/display.rs"]
mod display;
#[path = "hostile/exit_budget.rs"]
mod exit_budget;
#[path = "hostile/files.rs"]
mod files;
#[path = "hostile/fork.rs"]
mod fork;
#[path = "hostile/proxy.rs"]
mod proxy;
#[path = "hostile/recorder.rs"]
mod recorder;
#[path = "hostile/second_round.rs"]
mod second_round;
#[path = "hostile/secrets.rs"]
mod secrets;
#[path = "hostile/shared_dirs.rs"]
mod shared_dirs;
#[path = "hostile/signal_edges.rs"]
mod signal_edges;
#[path = "hostile/signal_mask.rs"]
mod signal_mask;
#[path = "hostile/signals.rs"]
mod signals;
#[path = "hostile/summaries.rs"]
mod summaries;
#[path = "hostile/teardown.rs"]
mod teardown;
#[path = "hostile/timeouts.rs"]
mod timeouts;

#[test]
#[ignore = "entry point of the child processes the other tests run"]
fn child() {
    if !second_round::child_main() {
        hostile_support::child_main();
    }
}
