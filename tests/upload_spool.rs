//! What the network cannot take goes to the spool and arrives with a later run: a refused
//! token, a hung endpoint (once per pipeline, thanks to the shared breaker), a burst larger
//! than memory; and only past both bounds are events dropped, counted.

// Tests may unwrap: a failure here is a failed test.
#![allow(clippy::unwrap_used)]

mod upload_support;

use std::time::Duration;

use trunk_ci_analytics_testkit::Scratch;
use trunk_ci_analytics_testserver::{ClosedPort, Fault, TestServer};
use upload_support::{
    Run, assert_all_delivered, assert_no_token_in, files, secret_token, spooled_events,
};

#[test]
fn a_refused_token_stops_uploading_and_the_next_run_delivers_the_spool() {
    let server = TestServer::start_with_token(&secret_token());
    let wrong = secret_token();
    let tmp = Scratch::new("401");
    let first = Run::with_token(&server, &wrong, &tmp.join("spool"))
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
    assert_eq!(spooled_events(&tmp.join("spool")), 1400);
    assert_no_token_in(tmp.path(), &wrong);

    // The next run, with the right token, sends the spool (and its own event).
    let second = Run::new(&server, &tmp.join("spool")).events(1, 1).run();
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
        spooled_events(&tmp.join("spool")),
        0,
        "a delivered spool file is gone"
    );
    assert_no_token_in(tmp.path(), &server.token());
}

#[test]
fn a_wrong_address_stops_uploading_with_one_message() {
    let server = TestServer::start_with_token(&secret_token());
    let tmp = Scratch::new("404");
    let child = Run::new(&server, &tmp.join("spool"))
        .env(
            "TRUNK_PUBLIC_API_ADDRESS",
            format!("{}/wrong", server.url()),
        )
        .events(1, 300)
        .env("TCA_BATCH", 100)
        .run();
    let report = child.report();
    assert_eq!((report.delivered, report.spooled), (0, 300), "{report:?}");
    // No retry can fix a 404: one request, one message naming the setting to check.
    assert_eq!(server.requests().len(), 1);
    assert_eq!(server.requests()[0].status, Some(404));
    let lines = child.runtime_lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].contains("404") && lines[0].contains("TRUNK_PUBLIC_API_ADDRESS"),
        "{}",
        lines[0]
    );
    assert_eq!(spooled_events(&tmp.join("spool")), 300);
}

#[test]
fn a_hung_endpoint_costs_one_flush_timeout_per_pipeline() {
    let server = TestServer::start_with_token(&secret_token());
    server.set_persistent(Some(Fault::Stall(Duration::from_secs(60))));
    let tmp = Scratch::new("hung");
    let timeout = Duration::from_millis(1500);
    let run = |events: usize| {
        Run::new(&server, &tmp.join("spool"))
            .events(1, events)
            .env("TRUNK_FLUSH_TIMEOUT_MS", timeout.as_millis())
            .env("TCA_BREAKER_MS", 3000)
            // Exit through the `init` guard, as a program would.
            .env("TCA_MODE", "guard")
            .run()
    };

    let first = run(300);
    // Bounding the exit is the behaviour under test, not a performance claim; timed in the
    // child, so the heavy tests beside it in this binary cannot stretch it.
    assert!(
        first.exit_time() < timeout + Duration::from_millis(1500),
        "{:?}",
        first.exit_time()
    );
    assert_eq!(spooled_events(&tmp.join("spool")), 300);
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
    assert!(second.exit_time() < timeout, "{:?}", second.exit_time());
    assert_eq!(spooled_events(&tmp.join("spool")), 500);

    // The endpoint recovers; after the cooldown one process probes and replays everything.
    server.set_persistent(None);
    std::thread::sleep(Duration::from_millis(3100));
    let third = run(1);
    let mut all = first.ids.clone();
    all.extend(second.ids.iter().cloned());
    all.extend(third.ids.iter().cloned());
    assert_all_delivered(&server, &all);
    assert_eq!(spooled_events(&tmp.join("spool")), 0);
    assert!(
        !files(&tmp.join("spool"))
            .iter()
            .any(|(p, _)| p.to_string_lossy().contains("breaker")),
        "a successful probe removes the breaker marker"
    );
    assert_no_token_in(tmp.path(), &server.token());
}

#[test]
fn an_unreachable_endpoint_is_given_up_quickly_and_shared() {
    // Connections are refused for as long as the test holds the port.
    let down = ClosedPort::new();
    let server = TestServer::start_with_token(&secret_token());
    let tmp = Scratch::new("refused");
    let timeout = Duration::from_secs(10);
    let run = || {
        Run::new(&server, &tmp.join("spool"))
            .env("TRUNK_PUBLIC_API_ADDRESS", down.url())
            .env("TRUNK_FLUSH_TIMEOUT_MS", timeout.as_millis())
            .events(1, 100)
            .run()
    };
    let first = run();
    let report = first.report();
    assert_eq!((report.delivered, report.spooled), (0, 100), "{report:?}");
    // Refused twice in a row is enough to know: no waiting out the flush timeout.
    assert!(
        Duration::from_millis(report.ms) < timeout,
        "{} ms",
        report.ms
    );
    let marker = files(&tmp.join("spool")).into_iter().find(|(p, _)| {
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
    assert_eq!(spooled_events(&tmp.join("spool")), 200);
}

#[test]
fn a_burst_of_80k_events_from_8_threads_loses_none() {
    let server = TestServer::start_with_token(&secret_token());
    let tmp = Scratch::new("burst");
    let first = Run::new(&server, &tmp.join("spool"))
        .events(8, 10_000)
        .env("TRUNK_FLUSH_TIMEOUT_MS", 20_000)
        .run();
    let report = first.report();
    assert_eq!(report.dropped, 0, "{report:?}");
    assert_eq!(first.ids.len(), 80_000);
    // Whatever this run did not deliver, the next one does.
    let next = Run::new(&server, &tmp.join("spool")).events(1, 1).run();
    let mut all = first.ids.clone();
    all.extend(next.ids.iter().cloned());
    let dups = assert_all_delivered(&server, &all);
    println!(
        "80,000 events: first run {report:?}, next {:?}; {dups} duplicates at the server",
        next.report()
    );
    assert_eq!(spooled_events(&tmp.join("spool")), 0);
}

#[test]
fn a_tight_loop_far_past_the_memory_bound_loses_none() {
    let server = TestServer::start_with_token(&secret_token());
    let tmp = Scratch::new("tight");
    // A memory bound of 500 events: the burst goes through the overflow file.
    let first = Run::new(&server, &tmp.join("spool"))
        .events(1, 30_000)
        .env("TCA_MEMORY", 500)
        .env("TRUNK_FLUSH_TIMEOUT_MS", 5_000)
        .run();
    let report = first.report();
    assert_eq!(report.dropped, 0, "{report:?}\n{}", first.stderr);
    assert_eq!(report.delivered + report.spooled, 30_000, "{report:?}");
    // Whatever the first run spooled, the next one delivers (given the time to).
    let next = Run::new(&server, &tmp.join("spool"))
        .events(1, 1)
        .env("TRUNK_FLUSH_TIMEOUT_MS", 120_000)
        .run();
    let mut all = first.ids.clone();
    all.extend(next.ids.iter().cloned());
    // A request cut by the exit deadline may have been taken anyway: duplicates are allowed
    // (delivery is at least once), losses are not.
    assert_all_delivered(&server, &all);
    assert_eq!(spooled_events(&tmp.join("spool")), 0);
}

#[test]
fn a_slow_endpoint_spills_past_the_memory_bound_and_loses_nothing() {
    let server = TestServer::start_with_token(&secret_token());
    // 100 events per 200 ms: far slower than they come.
    server.set_persistent(Some(Fault::Slow(Duration::from_millis(200))));
    let tmp = Scratch::new("spill");
    let first = Run::new(&server, &tmp.join("spool"))
        .events(1, 3000)
        .env("TCA_PAUSE_US", 100)
        .env("TCA_MEMORY", 500)
        .env("TCA_BATCH", 100)
        .env("TRUNK_FLUSH_TIMEOUT_MS", 2000)
        .run();
    let report = first.report();
    assert_eq!(report.dropped, 0, "{report:?}");
    assert!(report.spooled > 0, "memory ran over its bound: {report:?}");
    assert_eq!(report.delivered + report.spooled, 3000, "{report:?}");

    server.set_persistent(None);
    let next = Run::new(&server, &tmp.join("spool")).events(1, 1).run();
    let mut all = first.ids.clone();
    all.extend(next.ids.iter().cloned());
    // A slow answer cut by the deadline may have been recorded anyway: duplicates are allowed,
    // losses are not.
    assert_all_delivered(&server, &all);
    assert_eq!(spooled_events(&tmp.join("spool")), 0);
}

#[test]
fn drops_happen_only_past_both_bounds_and_are_counted() {
    let server = TestServer::start_with_token(&secret_token());
    let tmp = Scratch::new("drops");
    // A refused token sends everything to a spool that holds only part of it.
    let limit = 40_000u64;
    let child = Run::with_token(&server, &secret_token(), &tmp.join("spool"))
        .events(1, 1000)
        .env("TCA_BATCH", 50)
        .env("TCA_SPOOL_BYTES", limit)
        .run();
    let report = child.report();
    assert!(report.dropped > 0, "{report:?}");
    assert_eq!(report.spooled + report.dropped, 1000, "{report:?}");
    let on_disk: u64 = files(&tmp.join("spool"))
        .iter()
        .map(|(_, b)| b.len() as u64)
        .sum();
    assert!(on_disk <= limit, "{on_disk} bytes in the spool");
    assert_eq!(spooled_events(&tmp.join("spool")) as u64, report.spooled);
    let warnings: Vec<&str> = child
        .runtime_lines()
        .into_iter()
        .filter(|l| l.contains("dropped"))
        .collect();
    assert_eq!(warnings.len(), 1, "warned once: {warnings:?}");

    // No spool at all (the path is a file): past the memory bound, events are dropped, counted.
    let not_a_dir = tmp.join("file");
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

    // Recording far faster than anything can be written, past the memory bound and with
    // room on disk for only part of the burst: the senders never wait; what fits nowhere is
    // dropped, counted and reported once, the rest delivered or spooled.
    let child = Run::new(&server, &tmp.join("spool"))
        .events(8, 5000)
        .env("TCA_MEMORY", 200)
        .env("TCA_SPOOL_BYTES", 300_000)
        .run();
    let report = child.report();
    assert!(report.dropped > 0, "{report:?}");
    assert_eq!(
        report.delivered + report.spooled + report.dropped,
        40_000,
        "{report:?}"
    );
    let warnings: Vec<&str> = child
        .runtime_lines()
        .into_iter()
        .filter(|l| l.contains("faster"))
        .collect();
    assert_eq!(warnings.len(), 1, "{}", child.stderr);
}

#[test]
fn local_mode_keeps_memory_bounded_too() {
    let server = TestServer::start_with_token(&secret_token());
    let tmp = Scratch::new("local");
    let events_file = tmp.join("events.jsonl");
    let child = Run::new(&server, &tmp.join("spool"))
        .env("TRUNK_API_TOKEN", "")
        .env("TRUNK_EVENTS_FILE", events_file.display())
        // Below one thread's hand-off (64 records): 8 threads in a tight loop overrun it,
        // and the disk may take only a little of the rest.
        .env("TCA_MEMORY", 1)
        .env("TCA_SPOOL_BYTES", 20_000)
        .events(8, 2000)
        .run();
    let report = child.report();
    let lines = std::fs::read_to_string(&events_file)
        .unwrap()
        .lines()
        .count() as u64;
    assert!(report.dropped > 0, "{report:?}");
    assert_eq!(lines + report.dropped, 16_000, "{report:?}");
    assert!(server.requests().is_empty(), "no token, no upload");
    assert_eq!(
        child
            .runtime_lines()
            .iter()
            .filter(|l| l.contains("faster"))
            .count(),
        1
    );
}

#[cfg(unix)]
#[test]
fn a_program_that_never_flushes_still_delivers_at_exit() {
    let server = TestServer::start_with_token(&secret_token());
    let tmp = Scratch::new("atexit");
    let child = Run::new(&server, &tmp.join("spool"))
        .events(2, 100)
        .env("TCA_MODE", "atexit")
        .run();
    assert_eq!(assert_all_delivered(&server, &child.ids), 0);
    assert_eq!(spooled_events(&tmp.join("spool")), 0);
}

#[test]
fn exit_flushes_and_replays_before_ending_the_process() {
    let server = TestServer::start_with_token(&secret_token());
    let tmp = Scratch::new("exit");
    // An earlier run left its events in the spool.
    let earlier = Run::with_token(&server, &secret_token(), &tmp.join("spool"))
        .events(1, 100)
        .run();
    assert_eq!(spooled_events(&tmp.join("spool")), 100);
    // This run records nothing, so only `exit`'s own flush (not the exit hook, which acts on
    // pending events only) can send the spool.
    let child = Run::new(&server, &tmp.join("spool"))
        .events(1, 0)
        .env("TCA_MODE", "exit")
        .run();
    assert!(
        !child.stdout.contains("test result"),
        "exit() ended the process"
    );
    assert_eq!(assert_all_delivered(&server, &earlier.ids), 0);
    assert_eq!(spooled_events(&tmp.join("spool")), 0);
}
