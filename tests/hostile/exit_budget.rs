//! The exit hook shares the exit flush's budget: after an exit flush that used all of it,
//! the hook gets none (what is pending goes to the spool), never a second full timeout.

use std::time::Duration;

use trunk_ci_analytics::{Conclusion, Config, EventBuilder};
use trunk_ci_analytics_testkit::Scratch;
use trunk_ci_analytics_testserver::{Fault, TestServer};

use crate::hostile_support::{TOKEN, run, uploading};

#[test]
fn the_exit_hook_gets_no_second_budget_after_an_overrun() {
    let server = TestServer::start_with_token(TOKEN);
    server.set_persistent(Some(Fault::Stall(Duration::from_secs(600))));
    let spool = Scratch::new("exit-budget");
    let mut cmd = uploading("exit_overrun", &server.url(), spool.path());
    cmd.env("TRUNK_FLUSH_TIMEOUT_MS", "300")
        .env("TRUNK_CI_ANALYTICS_LOG", "debug");
    let (out, stdout, stderr) = run(&mut cmd);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let hook = stderr
        .lines()
        .find(|l| l.contains("exit hook: flushing"))
        .unwrap_or_else(|| panic!("the hook did not flush:\n{stderr}"));
    assert!(hook.contains(" 0 ms of the exit timeout left"), "{hook}");
}

/// An exit flush against a stalled endpoint (it uses its whole budget), then one more event
/// left for the exit hook.
pub fn exit_overrun_child() {
    let guard = trunk_ci_analytics::init(Config::from_env().summary(false));
    EventBuilder::new("step")
        .start()
        .finish(Conclusion::Success);
    drop(guard);
    EventBuilder::new("late")
        .start()
        .finish(Conclusion::Success);
}
