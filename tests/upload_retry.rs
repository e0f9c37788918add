//! The uploader against a faulty network: every retryable fault ends with every event
//! delivered, and a bad event costs only itself.

// Tests may unwrap: a failure here is a failed test.
#![allow(clippy::unwrap_used)]

mod upload_support;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use trunk_ci_analytics_testkit::Scratch;
use trunk_ci_analytics_testserver::{Fault, RetryAfter, TestServer};
use upload_support::{Run, assert_all_delivered, secret_token, spooled_events};

#[test]
fn server_errors_are_retried_until_delivered() {
    let server = TestServer::start_with_token(&secret_token());
    server.inject(Fault::Status(500), 2);
    server.inject(Fault::Status(503), 1);
    let tmp = Scratch::new("5xx");
    let events_file = tmp.join("events.jsonl");
    let child = Run::new(&server, &tmp.join("spool"))
        .events(1, 1200)
        .env("TRUNK_EVENTS_FILE", events_file.display())
        .env("TRUNK_CI_ANALYTICS_LOG", "debug")
        .run();
    child.assert_no_token(&server.token());
    // `debug` says each retry and why; `info` (included) each delivered batch.
    let lines = child.runtime_lines();
    let retries = lines
        .iter()
        .filter(|l| l.contains("debug:") && l.contains("attempt"))
        .count();
    assert_eq!(retries, 3, "{}", child.stderr);
    let delivered: usize = lines
        .iter()
        .filter_map(|l| l.split("info: delivered ").nth(1))
        .filter_map(|rest| rest.split(' ').next()?.parse::<usize>().ok())
        .sum();
    assert_eq!(delivered, 1200, "{}", child.stderr);

    let report = child.report();
    assert_eq!((report.delivered, report.spooled), (1200, 0), "{report:?}");
    let dups = assert_all_delivered(&server, &child.ids);
    assert_eq!(dups, 0, "a 5xx is answered before the events are recorded");
    assert_eq!(spooled_events(&tmp.join("spool")), 0);

    let requests = server.requests();
    let statuses: Vec<Option<u16>> = requests.iter().map(|r| r.status).collect();
    assert_eq!(&statuses[..3], [Some(500), Some(500), Some(503)]);
    for r in &requests {
        assert!(r.n_events <= 500, "batches hold at most batch_size events");
        assert!(r.token_ok);
        assert_eq!(r.x_source.as_deref(), Some("trunk-ci-analytics-rust"));
        assert_eq!(r.content_type.as_deref(), Some("application/json"));
        let ua = r.user_agent.as_deref().unwrap_or_default();
        assert!(ua.starts_with("trunk-ci-analytics-rust/"), "{ua}");
    }
    // One kept-alive connection for all of it (a retry after a 5xx keeps it too).
    assert!(
        requests
            .iter()
            .all(|r| r.connection == requests[0].connection)
    );

    // Local mode at the same time: the events file has exactly the same events.
    let lines = std::fs::read_to_string(&events_file).unwrap();
    let mut in_file: Vec<String> = lines
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let mut recorded = child.ids.clone();
    in_file.sort();
    recorded.sort();
    assert_eq!(in_file, recorded);
}

#[test]
fn too_many_requests_waits_as_retry_after_says_in_both_forms() {
    let server = TestServer::start_with_token(&secret_token());
    server.inject(Fault::TooManyRequests(RetryAfter::Seconds(1)), 1);
    let at = SystemTime::now() + Duration::from_secs(4);
    server.inject(Fault::TooManyRequests(RetryAfter::HttpDate(at)), 1);
    // The header carries whole seconds: the retry may come at `at` rounded down, not sooner.
    let whole = at.duration_since(UNIX_EPOCH).unwrap().as_secs();
    let not_before = Instant::now()
        + (UNIX_EPOCH + Duration::from_secs(whole))
            .duration_since(SystemTime::now())
            .unwrap();
    let tmp = Scratch::new("429");
    let child = Run::new(&server, &tmp.join("spool")).events(1, 10).run();

    assert_eq!(child.report().delivered, 10);
    assert_eq!(assert_all_delivered(&server, &child.ids), 0);
    let requests = server.requests();
    assert_eq!(requests.len(), 3, "429, 429, then delivered");
    assert_eq!(requests[0].status, Some(429));
    assert_eq!(requests[2].status, Some(200));
    // Honouring the header is the behaviour under test: the retries did not come sooner.
    let first_wait = requests[1].received_at - requests[0].received_at;
    assert!(first_wait >= Duration::from_millis(950), "{first_wait:?}");
    let early = not_before.saturating_duration_since(requests[2].received_at);
    assert!(
        early < Duration::from_millis(50),
        "retried {early:?} before the date"
    );
}

#[test]
fn connection_resets_are_retried() {
    let server = TestServer::start_with_token(&secret_token());
    server.inject(Fault::Reset, 2);
    let tmp = Scratch::new("reset");
    let child = Run::new(&server, &tmp.join("spool")).events(2, 300).run();

    assert_eq!(child.report().delivered, 600);
    assert_eq!(assert_all_delivered(&server, &child.ids), 0);
    let requests = server.requests();
    assert!(
        requests[..2].iter().all(|r| r.status.is_none()),
        "{requests:?}"
    );
    // A reset connection is not reused: the retry opens a new one.
    assert_ne!(requests[0].connection, requests[2].connection);
}

#[test]
fn a_stall_past_the_request_timeout_is_retried() {
    let server = TestServer::start_with_token(&secret_token());
    server.inject(Fault::Stall(Duration::from_secs(5)), 1);
    let tmp = Scratch::new("stall");
    let child = Run::new(&server, &tmp.join("spool"))
        .events(1, 50)
        .env("TCA_REQUEST_TIMEOUT_MS", 400)
        .run();

    let report = child.report();
    assert_eq!((report.delivered, report.spooled), (50, 0), "{report:?}");
    assert_eq!(assert_all_delivered(&server, &child.ids), 0);
    let requests = server.requests();
    assert_eq!(requests[0].status, None, "the first request got no answer");
    assert_eq!(requests.last().and_then(|r| r.status), Some(200));
}

#[test]
fn slow_responses_deliver_everything() {
    let server = TestServer::start_with_token(&secret_token());
    server.set_persistent(Some(Fault::Slow(Duration::from_millis(150))));
    let tmp = Scratch::new("slow");
    let child = Run::new(&server, &tmp.join("spool")).events(4, 500).run();

    assert_eq!(child.report().delivered, 2000);
    assert_eq!(assert_all_delivered(&server, &child.ids), 0);
    assert!(server.requests().iter().all(|r| r.n_events <= 500));
}

#[test]
fn a_bad_event_is_dropped_alone_with_the_servers_reason() {
    let server = TestServer::start_with_token(&secret_token());
    let tmp = Scratch::new("400");
    let child = Run::new(&server, &tmp.join("spool"))
        .events(1, 40)
        .env("TCA_BAD", 7)
        .run();
    child.assert_no_token(&server.token());

    let report = child.report();
    assert_eq!((report.delivered, report.rejected), (39, 1), "{report:?}");
    let bad = &child.ids[7];
    let mut good = child.ids.clone();
    good.remove(7);
    assert_eq!(assert_all_delivered(&server, &good), 0);
    assert!(!server.event_ids().contains(bad));

    // One line, naming the event and the server's reason.
    let lines = child.runtime_lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].contains(bad.as_str()) && lines[0].contains("platform"),
        "{}",
        lines[0]
    );
    // The server named the bad event, so the rest went in one request, not a bisection.
    let statuses: Vec<Option<u16>> = server.requests().iter().map(|r| r.status).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == Some(400)).count(),
        2,
        "{statuses:?}"
    );
    assert_eq!(spooled_events(&tmp.join("spool")), 0);
}
