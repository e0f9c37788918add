//! The documented contract: routes, authentication, body checks, recording, keep-alive.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{Client, batch, event};
use trunk_ci_analytics_testserver::TestServer;

#[test]
fn valid_batch_is_accepted_and_recorded_with_its_headers() {
    let server = TestServer::start();
    let body = batch(&["a1", "a2"]);
    let reply = Client::connect(&server).post(Some("test-token"), &body);

    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, "{}");
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(server.event_ids(), ["a1", "a2"]);
    assert_eq!(server.events()[1], common::event("a2"));
    assert_eq!(server.event_count(), 2);

    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let record = &requests[0];
    assert_eq!(record.status, Some(200));
    assert_eq!(record.method, "POST");
    assert_eq!(record.path, "/v1/metrics/trackEvents");
    assert_eq!(record.n_events, 2);
    assert_eq!(record.event_ids, ["a1", "a2"]);
    assert_eq!(record.body_len, body.len());
    assert_eq!(record.content_type.as_deref(), Some("application/json"));
    assert_eq!(record.x_source.as_deref(), Some("trunk-ci-analytics-rust"));
    assert_eq!(
        record.user_agent.as_deref(),
        Some("trunk-ci-analytics/0.1.0")
    );
    assert!(record.token_sent && record.token_ok);
    assert_eq!(record.fault, None);
    assert_eq!(record.error, None);
}

#[test]
fn missing_or_wrong_token_is_401_and_never_echoed() {
    let server = TestServer::start_with_token("right-token-4711");
    let mut client = Client::connect(&server);

    let missing = client.post(None, &batch(&["m1"]));
    assert_eq!(missing.status, 401);
    assert!(
        missing.json()["error"]
            .as_str()
            .unwrap()
            .contains("missing")
    );

    let wrong = client.post(Some("wrong-token-0815"), &batch(&["w1"]));
    assert_eq!(wrong.status, 401);
    for reply in [&missing, &wrong] {
        let whole = format!("{:?}", reply.headers) + &reply.body;
        assert!(!whole.contains("right-token-4711"), "{whole}");
        assert!(!whole.contains("wrong-token-0815"), "{whole}");
    }

    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert!(!requests[0].token_sent && !requests[0].token_ok);
    assert!(requests[1].token_sent && !requests[1].token_ok);
    assert_eq!(requests[1].n_events, 1, "401s are still counted");
    assert!(server.events().is_empty());
    assert!(!format!("{requests:?}{server:?}").contains("4711"));
}

#[test]
fn invalid_json_is_400_with_an_error_body() {
    let server = TestServer::start();
    let mut client = Client::connect(&server);

    let reply = client.post(
        Some("test-token"),
        r#"{"repo": {"host": "github.com"}, "events": [}"#,
    );
    assert_eq!(reply.status, 400);
    let body = reply.json();
    assert!(
        body["error"].as_str().unwrap().contains("not valid JSON"),
        "{body}"
    );
    assert!(body["violations"].is_array(), "{body}");

    let record = &server.requests()[0];
    assert_eq!(record.status, Some(400));
    assert_eq!(record.n_events, 0);
    assert!(record.error.as_deref().unwrap().contains("not valid JSON"));
    assert!(server.events().is_empty());
}

#[test]
fn a_body_that_is_not_an_object_is_400() {
    let server = TestServer::start();
    let mut client = Client::connect(&server);
    for body in [r#"[{"id": "x"}]"#, r#""events""#, "null", "42"] {
        let reply = client.post(Some("test-token"), body);
        assert_eq!(reply.status, 400, "{body}");
        let error = reply.json()["error"].as_str().unwrap().to_owned();
        assert!(error.contains("must be a JSON object"), "{body}: {error}");
    }
    assert!(server.events().is_empty());
}

#[test]
fn other_paths_are_404_and_other_methods_405() {
    let server = TestServer::start();
    let mut client = Client::connect(&server);

    client.send_raw(
        b"POST /v1/metrics/trackEvent HTTP/1.1\r\nHost: x\r\nx-api-token: test-token\r\n\
          Content-Length: 2\r\n\r\n{}",
    );
    assert_eq!(client.read_reply().unwrap().status, 404);

    client.send_raw(
        b"GET /v1/metrics/trackEvents HTTP/1.1\r\nHost: x\r\nx-api-token: test-token\r\n\r\n",
    );
    let reply = client.read_reply().unwrap();
    assert_eq!(reply.status, 405);
    assert_eq!(reply.header("allow"), Some("POST"));

    let statuses: Vec<_> = server.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [Some(404), Some(405)]);
}

#[test]
fn keep_alive_answers_every_request_on_one_connection() {
    let server = TestServer::start();
    let mut client = Client::connect(&server);
    assert_eq!(client.post(Some("test-token"), &batch(&["k1"])).status, 200);
    assert_eq!(client.post(Some("test-token"), &batch(&["k2"])).status, 200);
    // Pipelined: both requests written before either answer is read.
    client.send_post(Some("test-token"), &batch(&["k3"]));
    client.send_post(Some("test-token"), &batch(&["k4"]));
    assert_eq!(client.read_reply().unwrap().status, 200);
    assert_eq!(client.read_reply().unwrap().status, 200);

    assert_eq!(server.event_ids(), ["k1", "k2", "k3", "k4"]);
    let connections: Vec<_> = server.requests().iter().map(|r| r.connection).collect();
    assert_eq!(connections, [0, 0, 0, 0]);

    let mut other = Client::connect(&server);
    assert_eq!(other.post(Some("test-token"), &batch(&["k5"])).status, 200);
    assert_eq!(server.requests()[4].connection, 1);
}

#[test]
fn a_started_event_then_its_finished_one_is_an_upsert_not_a_duplicate() {
    let server = TestServer::start();
    let mut client = Client::connect(&server);
    let mut started = event("s1");
    let object = started.as_object_mut().unwrap();
    object.remove("finishedAt");
    object.remove("conclusion");
    let body = |e: serde_json::Value| {
        serde_json::json!({
            "repo": {"host": "github.com", "owner": "trunk-io", "name": "trunk-ci-analytics-rust"},
            "events": [e]
        })
        .to_string()
    };
    assert_eq!(client.post(Some("test-token"), &body(started)).status, 200);
    assert_eq!(
        client.post(Some("test-token"), &body(event("s1"))).status,
        200
    );
    assert_eq!(server.event_ids(), ["s1", "s1"], "both are kept");
    assert!(
        server.duplicate_ids().is_empty(),
        "{:?}",
        server.duplicate_ids()
    );
    // The finished event sent again is a duplicate.
    client.post(Some("test-token"), &body(event("s1")));
    assert_eq!(server.duplicate_ids(), ["s1"]);
}

#[test]
fn duplicates_are_kept_and_counted() {
    let server = TestServer::start();
    let mut client = Client::connect(&server);
    client.post(Some("test-token"), &batch(&["d1", "d2"]));
    client.post(Some("test-token"), &batch(&["d2", "d3", "d1"]));
    client.post(Some("test-token"), &batch(&["d2"]));

    assert_eq!(server.event_ids(), ["d1", "d2", "d2", "d3", "d1", "d2"]);
    assert_eq!(server.duplicate_ids(), ["d2", "d1"]);

    server.clear_events();
    assert!(server.events().is_empty());
    assert!(server.duplicate_ids().is_empty());
    assert_eq!(
        server.requests().len(),
        3,
        "clear_events keeps the requests"
    );
    client.post(Some("test-token"), &batch(&["d1"]));
    assert!(
        server.duplicate_ids().is_empty(),
        "forgotten ids are new again"
    );
    server.clear_requests();
    assert!(server.requests().is_empty());
    assert_eq!(server.event_ids(), ["d1"]);
}

#[test]
fn wait_for_events_wakes_when_events_arrive_and_times_out_otherwise() {
    let server = TestServer::start();
    assert!(!server.wait_for_events(1, Duration::from_millis(50)));

    let addr = server.addr();
    let poster = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        let body = batch(&["w1", "w2", "w3"]);
        std::io::Write::write_all(
            &mut stream,
            common::post_request(Some("test-token"), &body).as_bytes(),
        )
        .unwrap();
        stream
    });
    assert!(server.wait_for_events(3, Duration::from_secs(10)));
    assert_eq!(server.event_count(), 3);
    assert!(!server.wait_for_events(4, Duration::from_millis(50)));
    assert!(server.wait_for_requests(1, Duration::ZERO));
    drop(poster.join().unwrap());
}

#[test]
fn binary_prints_url_token_and_each_accepted_event() {
    let binary = common::Binary::start(&["--token", "bin-token"]);
    let next = || binary.next_line();

    let listening = next();
    let url = listening.strip_prefix("listening on ").unwrap().to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{listening}");
    assert_eq!(next(), format!("  export TRUNK_PUBLIC_API_ADDRESS={url}"));
    assert_eq!(next(), "  export TRUNK_API_TOKEN=bin-token");
    assert_eq!(
        next(),
        format!("  export OTEL_EXPORTER_OTLP_ENDPOINT={url}")
    );

    let mut stream = std::net::TcpStream::connect(url.trim_start_matches("http://")).unwrap();
    stream.set_read_timeout(Some(common::READ_TIMEOUT)).unwrap();
    let request = common::post_request(Some("bin-token"), &batch(&["b1", "b2"]));
    std::io::Write::write_all(&mut stream, request.as_bytes()).unwrap();
    assert_eq!(next(), "event b1 step SUCCESS 250.5ms");
    assert_eq!(next(), "event b2 step SUCCESS 250.5ms");

    let request = common::post_request(Some("nope"), &batch(&["b3"]));
    std::io::Write::write_all(&mut stream, request.as_bytes()).unwrap();
    assert_eq!(
        next(),
        "rejected POST /v1/metrics/trackEvents -> 401 invalid x-api-token"
    );
}

#[test]
fn without_validation_json_shape_route_and_token_are_still_checked() {
    let server = TestServer::builder().validate(false).start().unwrap();
    let mut client = Client::connect(&server);
    assert_eq!(client.post(Some("test-token"), &batch(&["v1"])).status, 200);
    assert_eq!(
        client.post(Some("test-token"), "{\"events\": [").status,
        400
    );
    assert_eq!(client.post(Some("test-token"), "[]").status, 400);
    assert_eq!(client.post(Some("wrong"), &batch(&["v2"])).status, 401);
    assert_eq!(server.event_ids(), ["v1"]);
    assert_eq!(server.events()[0], common::event("v1"));
}

#[tokio::test]
async fn starts_and_drops_inside_an_async_test() {
    let server = TestServer::start();
    let addr = server.addr();
    let reply = tokio::task::spawn_blocking(move || {
        Client::connect_to(addr).post(Some("test-token"), &batch(&["t1"]))
    });
    assert_eq!(reply.await.unwrap().status, 200);
    assert_eq!(server.event_ids(), ["t1"]);
    drop(server);
}
