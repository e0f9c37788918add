//! Huge timeouts saturate: waiting "forever" is allowed, panicking is not.

use std::time::Duration;

use trunk_ci_analytics::{Conclusion, Config, EventBuilder, Tuning};
use trunk_ci_analytics_testkit::Scratch;
use trunk_ci_analytics_testserver::TestServer;

use crate::hostile_support::{TOKEN, field, run, uploading};

#[test]
fn flush_and_exit_with_duration_max_deliver_and_never_panic() {
    let server = TestServer::start_with_token(TOKEN);
    let spool = Scratch::new("huge-timeouts");
    let (out, stdout, stderr) = run(&mut uploading("huge_timeouts", &server.url(), spool.path()));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(
        field(&stdout, "HUGE", "delivered").as_deref(),
        Some("1"),
        "{stdout}"
    );
    // The second event went out at the guard's exit flush.
    assert!(
        server.wait_for_events(2, Duration::from_secs(5)),
        "{stderr}"
    );
}

#[test]
fn a_huge_flush_timeout_variable_is_capped_and_never_panics() {
    let server = TestServer::start_with_token(TOKEN);
    let spool = Scratch::new("huge-timeout-env");
    let mut cmd = uploading("huge_timeout_env", &server.url(), spool.path());
    cmd.env("TRUNK_FLUSH_TIMEOUT_MS", u64::MAX.to_string());
    let (out, stdout, stderr) = run(&mut cmd);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains("TRUNK_FLUSH_TIMEOUT_MS"), "{stderr}");
    assert!(
        server.wait_for_events(1, Duration::from_secs(5)),
        "{stderr}"
    );
}

fn one_event(key: &str) {
    EventBuilder::new("step")
        .key(key)
        .start()
        .finish(Conclusion::Success);
}

/// `flush(Duration::MAX)`, then an init guard whose exit timeout is `Duration::MAX`, with
/// every tuning duration at its maximum too.
pub fn huge_timeouts_child() {
    let tuning = Tuning {
        linger: Duration::MAX,
        request_timeout: Duration::MAX,
        breaker_cooldown: Duration::MAX,
        ..Tuning::default()
    };
    let guard = trunk_ci_analytics::init(
        Config::from_env()
            .flush_timeout(Duration::MAX)
            .tuning(tuning)
            .summary(false),
    );
    one_event("hostile::huge::flush");
    let report = trunk_ci_analytics::flush(Duration::MAX);
    println!("HUGE delivered={}", report.delivered);
    one_event("hostile::huge::exit");
    drop(guard);
}

/// The exit flush with the timeout from `TRUNK_FLUSH_TIMEOUT_MS`.
pub fn huge_timeout_env_child() {
    let guard = trunk_ci_analytics::init(Config::from_env().summary(false));
    one_event("hostile::huge::env");
    drop(guard);
}
