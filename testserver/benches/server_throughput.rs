//! How many events per second the server takes over one kept-alive connection, with and
//! without contract validation: the ceiling for any uploader measured against it.
//!
//! `cargo bench -p trunk-ci-analytics-testserver --bench server_throughput`

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use trunk_ci_analytics_testserver::{TRACK_EVENTS_PATH, TestServer};

const EVENTS_PER_REQUEST: usize = 1000;
const REQUESTS: usize = 100;

fn main() {
    let body = batch(EVENTS_PER_REQUEST);
    for validate in [true, false] {
        let server = TestServer::builder().validate(validate).start().unwrap();
        let mut tcp = TcpStream::connect(server.addr()).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        tcp.set_nodelay(true).unwrap();
        let request = format!(
            "POST {TRACK_EVENTS_PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
             x-api-token: {}\r\nContent-Length: {}\r\n\r\n{body}",
            server.token(),
            body.len()
        );
        for _ in 0..5 {
            post(&mut tcp, &request);
        }
        let start = Instant::now();
        for _ in 0..REQUESTS {
            post(&mut tcp, &request);
        }
        let elapsed = start.elapsed();
        let events = REQUESTS * EVENTS_PER_REQUEST;
        assert_eq!(server.event_count(), events + 5 * EVENTS_PER_REQUEST);
        println!(
            "validate={validate:<5} {events} events in {:>7.1} ms: {:>7.0} events/s, {:.2} us/event ({} B/request)",
            elapsed.as_secs_f64() * 1e3,
            events as f64 / elapsed.as_secs_f64(),
            elapsed.as_secs_f64() * 1e6 / events as f64,
            body.len()
        );

        let small = batch(1);
        let request = format!(
            "POST {TRACK_EVENTS_PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
             x-api-token: {}\r\nContent-Length: {}\r\n\r\n{small}",
            server.token(),
            small.len()
        );
        let start = Instant::now();
        for _ in 0..2000 {
            post(&mut tcp, &request);
        }
        println!(
            "validate={validate:<5} one-event request round trip: {:.1} us",
            start.elapsed().as_secs_f64() * 1e6 / 2000.0
        );
    }
}

/// Sends one request and reads its (tiny, `Content-Length`-framed) 200 answer.
fn post(tcp: &mut TcpStream, request: &str) {
    tcp.write_all(request.as_bytes()).unwrap();
    let mut answer = Vec::new();
    let mut chunk = [0u8; 1024];
    while !answer.ends_with(b"\r\n\r\n{}") {
        let n = tcp.read(&mut chunk).unwrap();
        assert!(n > 0, "server closed the connection");
        answer.extend_from_slice(&chunk[..n]);
    }
    assert!(answer.starts_with(b"HTTP/1.1 200"));
}

/// A contract-valid body of `n` events shaped like the uploader's.
fn batch(n: usize) -> String {
    let events: Vec<String> = (0..n)
        .map(|i| {
            format!(
                r#"{{"id":"ev-{i:012}","chainId":"ev-000000000000","parent":{{"eventId":"ev-000000000000","sequenceKey":"bench::root"}},"createdAt":1700000000000,"finishedAt":1700000000250,"conclusion":"SUCCESS","payload":{{"metrics":[{{"k":"duration_ms","v":250.125}}],"tags":[{{"k":"branch","v":"main"}},{{"k":"os","v":"linux"}}]}},"sequence":{{"platform":"github_actions","kind":"function","key":"bench::step","name":"step","payload":{{"metrics":[],"tags":[]}}}}}}"#
            )
        })
        .collect();
    format!(
        r#"{{"repo":{{"host":"github.com","owner":"trunk-io","name":"trunk-ci-analytics-rust"}},"events":[{}]}}"#,
        events.join(",")
    )
}
