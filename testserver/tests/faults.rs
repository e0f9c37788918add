//! Every fault, as a plain TCP client sees it, and how faults are queued.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::ErrorKind;
use std::time::{Duration, SystemTime};

use common::{Client, batch};
use trunk_ci_analytics_testserver::{Fault, RetryAfter, TestServer};

const TOKEN: Option<&str> = Some("test-token");

#[test]
fn injected_statuses_come_in_order_then_success() {
    let server = TestServer::start();
    server.inject(Fault::Status(500), 1);
    server.inject(Fault::Status(503), 2);
    let mut client = Client::connect(&server);

    let first = client.post(TOKEN, &batch(&["s1"]));
    assert_eq!(first.status, 500);
    assert!(first.json()["error"].as_str().unwrap().contains("500"));
    assert_eq!(client.post(TOKEN, &batch(&["s1"])).status, 503);
    // Faults act before authentication, like an overloaded front end.
    assert_eq!(client.post(Some("wrong"), &batch(&["s1"])).status, 503);
    assert_eq!(client.post(TOKEN, &batch(&["s1"])).status, 200);

    assert_eq!(
        server.event_ids(),
        ["s1"],
        "faulted batches are not recorded"
    );
    let requests = server.requests();
    let seen: Vec<_> = requests
        .iter()
        .map(|r| (r.status, r.fault.clone()))
        .collect();
    assert_eq!(
        seen,
        [
            (Some(500), Some(Fault::Status(500))),
            (Some(503), Some(Fault::Status(503))),
            (Some(503), Some(Fault::Status(503))),
            (Some(200), None),
        ]
    );
    assert!(requests.iter().all(|r| r.event_ids == ["s1"]));
    assert_eq!(
        requests.iter().map(|r| r.seq).collect::<Vec<_>>(),
        [0, 1, 2, 3]
    );
}

#[test]
fn too_many_requests_carries_retry_after_in_both_forms() {
    let server = TestServer::start();
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_900_000_000);
    server.inject(Fault::TooManyRequests(RetryAfter::Seconds(7)), 1);
    server.inject(Fault::TooManyRequests(RetryAfter::HttpDate(at)), 1);
    let mut client = Client::connect(&server);

    let seconds = client.post(TOKEN, &batch(&["r1"]));
    assert_eq!(seconds.status, 429);
    assert_eq!(seconds.header("retry-after"), Some("7"));

    let date = client.post(TOKEN, &batch(&["r1"]));
    assert_eq!(date.status, 429);
    let value = date.header("retry-after").unwrap();
    assert_eq!(value, "Sun, 17 Mar 2030 17:46:40 GMT");
    assert_eq!(httpdate::parse_http_date(value).unwrap(), at);

    assert_eq!(client.post(TOKEN, &batch(&["r1"])).status, 200);
    assert_eq!(server.event_ids(), ["r1"]);
}

#[test]
fn reset_aborts_the_connection_without_a_response() {
    let server = TestServer::start();
    server.inject(Fault::Reset, 1);
    let mut client = Client::connect(&server);
    client.send_post(TOKEN, &batch(&["x1"]));

    let error = client.read_some().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ConnectionReset, "{error}");

    let record = &server.requests()[0];
    assert_eq!(record.status, None);
    assert_eq!(record.fault, Some(Fault::Reset));
    assert_eq!(record.n_events, 1, "the request was read before the reset");
    assert!(server.events().is_empty());

    // The server itself is fine: a new connection is answered.
    assert_eq!(
        Client::connect(&server).post(TOKEN, &batch(&["x1"])).status,
        200
    );
}

#[test]
fn stall_answers_nothing_then_closes() {
    // Long enough that the 100 ms look below falls inside it even on a busy machine.
    const STALL: Duration = Duration::from_secs(1);
    let server = TestServer::start();
    server.inject(Fault::Stall(STALL), 1);
    let mut client = Client::connect(&server);
    client.send_post(TOKEN, &batch(&["t1"]));
    assert!(server.wait_for_requests(1, Duration::from_secs(5)));

    client
        .stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let silent = client.read_some().unwrap_err();
    assert!(
        matches!(silent.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        "{silent}"
    );

    client
        .stream
        .set_read_timeout(Some(common::READ_TIMEOUT))
        .unwrap();
    assert_eq!(client.read_some().unwrap(), 0, "closed without a response");
    let record = &server.requests()[0];
    assert_eq!(record.status, None);
    assert_eq!(record.fault, Some(Fault::Stall(STALL)));
    assert!(server.events().is_empty());
}

#[test]
fn slow_answers_after_the_delay_and_records_the_events() {
    let server = TestServer::start();
    server.inject(Fault::Slow(Duration::from_millis(300)), 1);
    let mut client = Client::connect(&server);
    client.send_post(TOKEN, &batch(&["l1", "l2"]));
    assert!(server.wait_for_requests(1, Duration::from_secs(5)));
    // Events first, then the status: if the request was still pending after the events were
    // read, they must not have been recorded yet. (Skipped on a machine too busy to look
    // within the delay.)
    let no_events_yet = server.events().is_empty();
    if server.requests()[0].status.is_none() {
        assert!(no_events_yet, "events recorded before the delay was over");
    }

    let reply = client.read_reply().unwrap();
    assert_eq!(reply.status, 200);
    assert_eq!(server.event_ids(), ["l1", "l2"]);
    let record = &server.requests()[0];
    assert_eq!(record.status, Some(200));
    assert_eq!(record.fault, Some(Fault::Slow(Duration::from_millis(300))));
    // The connection stays usable after a slow answer.
    assert_eq!(client.post(TOKEN, &batch(&["l3"])).status, 200);
}

#[test]
fn slow_request_counts_even_if_the_client_gave_up() {
    let server = TestServer::start();
    server.inject(Fault::Slow(Duration::from_millis(100)), 1);
    let mut client = Client::connect(&server);
    client.send_post(TOKEN, &batch(&["g1"]));
    assert!(server.wait_for_requests(1, Duration::from_secs(5)));
    drop(client);

    assert!(server.wait_for_events(1, Duration::from_secs(5)));
    assert_eq!(server.event_ids(), ["g1"]);
    // The client's retry is then a duplicate, as against the real service.
    Client::connect(&server).post(TOKEN, &batch(&["g1"]));
    assert_eq!(server.duplicate_ids(), ["g1"]);
}

#[test]
fn persistent_fault_holds_until_cleared_and_queued_faults_go_first() {
    let server = TestServer::start();
    server.set_persistent(Some(Fault::Status(503)));
    server.inject(Fault::Status(500), 1);
    let mut client = Client::connect(&server);
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(client.post(TOKEN, &batch(&["p1"])).status);
    }
    server.set_persistent(None);
    statuses.push(client.post(TOKEN, &batch(&["p1"])).status);
    assert_eq!(statuses, [500, 503, 503, 503, 200]);
    assert_eq!(server.event_ids(), ["p1"]);
}

#[test]
fn inject_takes_a_count_not_copies() {
    let server = TestServer::start();
    server.inject(Fault::Status(418), 0);
    server.inject(Fault::Status(502), usize::MAX);
    let mut client = Client::connect(&server);
    for _ in 0..3 {
        assert_eq!(client.post(TOKEN, &batch(&["c1"])).status, 502);
    }
    assert!(server.events().is_empty());
}

#[test]
fn an_out_of_range_status_is_answered_as_500() {
    let server = TestServer::start();
    server.inject(Fault::Status(1000), 1);
    assert_eq!(
        Client::connect(&server).post(TOKEN, &batch(&["o1"])).status,
        500
    );
    assert_eq!(server.requests()[0].status, Some(500));
}

#[test]
fn drop_returns_promptly_with_a_stalled_connection() {
    let server = TestServer::start();
    server.set_persistent(Some(Fault::Stall(Duration::from_secs(600))));
    let mut client = Client::connect(&server);
    client.send_post(TOKEN, &batch(&["h1"]));
    assert!(server.wait_for_requests(1, Duration::from_secs(5)));

    let (done_tx, done) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        drop(server);
        done_tx.send(()).unwrap();
    });
    // A hang would be the 600 s stall; the bound only has to tell the two apart.
    done.recv_timeout(Duration::from_secs(10))
        .expect("dropping the server hung on the stalled connection");
    assert_eq!(
        client.read_some().unwrap(),
        0,
        "the client sees the server go"
    );
}
