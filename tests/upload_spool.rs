//! What the network cannot take goes to the spool and arrives with a later run: a refused
//! token, a hung endpoint (once per pipeline, thanks to the shared breaker), a burst larger
//! than memory; and only past both bounds are events dropped, counted.

// Tests may unwrap: a failure here is a failed test.
#![allow(clippy::unwrap_used)]

mod upload_support;

use std::time::Duration;

use trunk_ci_analytics_testserver::{Fault, TestServer};
use upload_support::{
    Run, TempDir, assert_all_delivered, assert_no_token_in, files, secret_token, spooled_events,
};

#[test]
#[ignore = "entry point of the child processes the other tests run"]
fn child() {
    upload_support::child_main();
}

#[test]
fn a_refused_token_stops_uploading_and_the_next_run_delivers_the_spool() {
    let server = TestServer::start_with_token(&secret_token());
    let wrong = secret_token();
    let tmp = TempDir::new("401");
    let first = Run::with_token(&server, &wrong, &tmp.spool())
        .events(2, 700)
        .env("TCA_BATCH", 200)
        .run();
    first.assert_no_token(&wrong);

    let report = first.report();
    assert_eq!((report.delivered, report.spooled), (0, 1400), "{report:?}");
    // Not retried: one request, then everything went to the spool.
    assert_eq!(server.requests().len(), 1);
    assert_eq!(server.requests()[0].status, Some(401));
    let lines = first.runtime_lines();
    assert_eq!(lines.len(), 1, "one message: {lines:?}");
    assert!(
        lines[0].contains("401") && lines[0].contains("TRUNK_API_TOKEN"),
        "{}",
        lines[0]
    );
    assert_eq!(spooled_events(&tmp.spool()), 1400);
    assert_no_token_in(&tmp.0, &wrong);

    // The next run, with the right token, sends the spool (and its own event).
    let second = Run::new(&server, &tmp.spool()).events(1, 1).run();
    second.assert_no_token(&server.token());
    let report = second.report();
    assert_eq!(report.delivered, 1, "{report:?}");
    let mut all = first.ids.clone();
    all.extend(second.ids.iter().cloned());
    assert_eq!(
        assert_all_delivered(&server, &all),
        0,
        "each spooled event sent once"
    );
    assert_eq!(
        spooled_events(&tmp.spool()),
        0,
        "a delivered spool file is gone"
    );
    assert_no_token_in(&tmp.0, &server.token());
}

#[test]
fn a_hung_endpoint_costs_one_flush_timeout_per_pipeline() {
    let server = TestServer::start_with_token(&secret_token());
    server.set_persistent(Some(Fault::Stall(Duration::from_secs(60))));
    let tmp = TempDir::new("hung");
    let timeout = Duration::from_millis(1500);
    let run = |events: usize| {
        Run::new(&server, &tmp.spool())
            .events(1, events)
            .env("TRUNK_FLUSH_TIMEOUT_MS", timeout.as_millis())
            .env("TCA_BREAKER_MS", 3000)
            // Exit through the `init` guard, as a program would.
            .env("TCA_MODE", "guard")
            .run()
    };

    let first = run(300);
    // Bounding the exit is the behaviour under test, not a performance claim.
    assert!(
        first.elapsed < timeout + Duration::from_millis(1500),
        "{:?}",
        first.elapsed
    );
    assert_eq!(spooled_events(&tmp.spool()), 300);
    assert!(
        first
            .runtime_lines()
            .iter()
            .any(|l| l.contains("unreachable or hanging")),
        "{}",
        first.stderr
    );
    let requests_after_first = server.requests().len();
    assert!(requests_after_first >= 1);

    // Right after: the breaker is open, so the second process spools without trying.
    let second = run(200);
    assert_eq!(
        server.requests().len(),
        requests_after_first,
        "no request from the second run"
    );
    assert!(second.elapsed < timeout, "{:?}", second.elapsed);
    assert_eq!(spooled_events(&tmp.spool()), 500);

    // The endpoint recovers; after the cooldown one process probes and replays everything.
    server.set_persistent(None);
    std::thread::sleep(Duration::from_millis(3100));
    let third = run(1);
    let mut all = first.ids.clone();
    all.extend(second.ids.iter().cloned());
    all.extend(third.ids.iter().cloned());
    assert_all_delivered(&server, &all);
    assert_eq!(spooled_events(&tmp.spool()), 0);
    assert!(
        !files(&tmp.spool())
            .iter()
            .any(|(p, _)| p.to_string_lossy().contains("breaker")),
        "a successful probe removes the breaker marker"
    );
    assert_no_token_in(&tmp.0, &server.token());
}

#[test]
fn an_unreachable_endpoint_is_given_up_quickly_and_shared() {
    // A port nobody listens on: connections are refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let server = TestServer::start_with_token(&secret_token());
    let tmp = TempDir::new("refused");
    let timeout = Duration::from_secs(10);
    let run = || {
        Run::new(&server, &tmp.spool())
            .env(
                "TRUNK_PUBLIC_API_ADDRESS",
                format!("http://127.0.0.1:{port}"),
            )
            .env("TRUNK_FLUSH_TIMEOUT_MS", timeout.as_millis())
            .events(1, 100)
            .run()
    };
    let first = run();
    let report = first.report();
    assert_eq!((report.delivered, report.spooled), (0, 100), "{report:?}");
    // Refused twice in a row is enough to know: no waiting out the flush timeout.
    assert!(first.elapsed < timeout, "{:?}", first.elapsed);
    let marker = files(&tmp.spool()).into_iter().find(|(p, _)| {
        p.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("breaker-"))
    });
    assert!(
        marker.is_some(),
        "the breaker is shared through the spool directory"
    );
    let second = run();
    assert_eq!(second.report().spooled, 100);
    assert!(
        second
            .runtime_lines()
            .iter()
            .any(|l| l.contains("unreachable or hanging")),
        "{}",
        second.stderr
    );
    assert_eq!(spooled_events(&tmp.spool()), 200);
}

#[test]
fn a_burst_of_80k_events_from_8_threads_loses_none() {
    let server = TestServer::start_with_token(&secret_token());
    let tmp = TempDir::new("burst");
    // Memory for 5,000 events only: most of the burst spills to the spool and comes back.
    let first = Run::new(&server, &tmp.spool())
        .events(8, 10_000)
        .env("TCA_MEMORY", 5000)
        .env("TRUNK_FLUSH_TIMEOUT_MS", 20_000)
        .run();
    let report = first.report();
    assert_eq!(report.dropped, 0, "{report:?}");
    assert_eq!(first.ids.len(), 80_000);
    // Whatever this run did not deliver, the next one does.
    let next = Run::new(&server, &tmp.spool()).events(1, 1).run();
    let mut all = first.ids.clone();
    all.extend(next.ids.iter().cloned());
    let dups = assert_all_delivered(&server, &all);
    println!(
        "80,000 events: first run {report:?} in {:?}, next {:?}; {dups} duplicates at the server",
        first.elapsed, next.elapsed
    );
    assert_eq!(spooled_events(&tmp.spool()), 0);
}

#[test]
fn drops_happen_only_past_both_bounds_and_are_counted() {
    let server = TestServer::start_with_token(&secret_token());
    let tmp = TempDir::new("drops");
    // A refused token sends everything to a spool that holds only part of it.
    let limit = 40_000u64;
    let child = Run::with_token(&server, &secret_token(), &tmp.spool())
        .events(1, 1000)
        .env("TCA_BATCH", 50)
        .env("TCA_SPOOL_BYTES", limit)
        .run();
    let report = child.report();
    assert!(report.dropped > 0, "{report:?}");
    assert_eq!(report.spooled + report.dropped, 1000, "{report:?}");
    let on_disk: u64 = files(&tmp.spool())
        .iter()
        .map(|(_, b)| b.len() as u64)
        .sum();
    assert!(on_disk <= limit, "{on_disk} bytes in the spool");
    assert_eq!(spooled_events(&tmp.spool()) as u64, report.spooled);
    let warnings: Vec<&str> = child
        .runtime_lines()
        .into_iter()
        .filter(|l| l.contains("dropped"))
        .collect();
    assert_eq!(warnings.len(), 1, "warned once: {warnings:?}");

    // No spool at all (the path is a file): past the memory bound, events are dropped, counted.
    let not_a_dir = tmp.0.join("file");
    std::fs::write(&not_a_dir, b"").unwrap();
    let child = Run::with_token(&server, &secret_token(), &not_a_dir)
        .events(1, 1000)
        .env("TCA_MEMORY", 100)
        .run();
    let report = child.report();
    assert_eq!((report.spooled, report.dropped), (0, 1000), "{report:?}");
    assert!(
        child
            .runtime_lines()
            .iter()
            .any(|l| l.contains("spool directory")),
        "{}",
        child.stderr
    );
}

#[cfg(unix)]
#[test]
fn a_program_that_never_flushes_still_delivers_at_exit() {
    let server = TestServer::start_with_token(&secret_token());
    let tmp = TempDir::new("atexit");
    let child = Run::new(&server, &tmp.spool())
        .events(2, 100)
        .env("TCA_MODE", "atexit")
        .run();
    assert_eq!(assert_all_delivered(&server, &child.ids), 0);
    assert_eq!(spooled_events(&tmp.spool()), 0);
}
