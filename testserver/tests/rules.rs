//! The server's own reading of the API documentation: every rule of its tables turns a body
//! into a 400 naming the field, and the documentation's example, corrected where DESIGN.md §4
//! says the page is wrong, is accepted.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Client, event};
use serde_json::{Value, json};
use trunk_ci_analytics_testserver::{TestServer, event_violations, request_violations};

fn body(events: Vec<Value>) -> Value {
    json!({
        "repo": {"host": "github.com", "owner": "trunk-io", "name": "jenkins-plugin"},
        "events": events,
    })
}

/// The curl example of the documentation, word for word.
fn documented_example() -> Value {
    let sequence = |kind: &str, key: &str, name: &str| {
        json!({"platform": "Jenkins", "kind": kind, "key": key, "name": name,
               "payload": {"tags": [{"k": "label", "v": "self-hosted"}]}})
    };
    let payload = json!({
        "metrics": [{"k": "duration_ms", "v": 1000}, {"k": "api_latency", "v": 500}],
        "tags": [{"k": "branch", "v": "merge-PR-1"},
                 {"k": "sha", "v": "88962a71bcfa92e5950670fc7e3f2b9f8d993b87"}]
    });
    body(vec![
        json!({"id": "fba555ee-90ce-42ca-a60c-38d200e9290e",
               "chainId": "b0ea8b0d-6574-4421-a63b-56f04eab9738",
               "createdAt": 1694616487000u64, "finishedAt": 1694615487000u64,
               "conclusion": "SUCCESS",
               "sequence": sequence("pipeline", "test-pipeline", "Trying out a test pipeline"),
               "payload": payload}),
        json!({"id": "test-workflow-a-1", "chainId": "test-workflow-a-1",
               "createdAt": 1694616487000u64, "finishedAt": 1694615487000u64,
               "conclusion": "SUCCESS",
               "parent": {"eventId": "fba555ee-90ce-42ca-a60c-38d200e9290e",
                          "chainId": "b0ea8b0d-6574-4421-a63b-56f04eab9738"},
               "sequence": sequence("nested-pipeline", "test-pipeline/nested-pipeline",
                                    "Trying out a test nested pipeline"),
               "payload": payload}),
    ])
}

#[test]
fn the_documented_example_breaks_exactly_the_rules_its_tables_contradict() {
    let mut found = request_violations(&documented_example());
    found.sort();
    assert_eq!(
        found,
        [
            "events[0].finishedAt: 1694615487000 is earlier than createdAt 1694616487000",
            "events[0].sequence.payload.metrics: is required",
            "events[0].sequence.platform: must be snake_case, not `Jenkins`",
            "events[1].finishedAt: 1694615487000 is earlier than createdAt 1694616487000",
            "events[1].parent.chainId: is not a documented field",
            "events[1].parent.sequenceKey: is required",
            "events[1].sequence.payload.metrics: is required",
            "events[1].sequence.platform: must be snake_case, not `Jenkins`",
        ]
    );

    // Corrected as the tables (and Trunk's Jenkins plugin) have it: accepted.
    let mut fixed = documented_example();
    for e in fixed["events"].as_array_mut().unwrap() {
        e["finishedAt"] = json!(1694617487000u64);
        e["sequence"]["platform"] = json!("jenkins");
        e["sequence"]["payload"]["metrics"] = json!([]);
    }
    fixed["events"][1]["parent"] =
        json!({"eventId": "fba555ee-90ce-42ca-a60c-38d200e9290e", "sequenceKey": "test-pipeline"});
    assert_eq!(request_violations(&fixed), Vec::<String>::new());
    let server = TestServer::start();
    let reply = Client::connect(&server).post(Some("test-token"), &fixed.to_string());
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(server.event_count(), 2);
}

/// Each case breaks one rule of one table; the server names that field and records nothing.
#[test]
fn each_broken_rule_is_a_400_naming_the_field() {
    let with = |path: &[&str], value: Value| {
        let mut e = event("e1");
        let mut at = &mut e;
        for p in &path[..path.len() - 1] {
            at = &mut at[*p];
        }
        let last = path[path.len() - 1];
        match value {
            Value::Null => {
                at.as_object_mut().unwrap().remove(last);
            }
            v => at[last] = v,
        }
        body(vec![e])
    };
    let cases: Vec<(Value, &str)> = vec![
        (with(&["id"], Value::Null), "events[0].id: is required"),
        (with(&["id"], json!("")), "events[0].id: must not be empty"),
        (
            with(&["chainId"], json!(7)),
            "events[0].chainId: must be a string",
        ),
        (
            with(&["createdAt"], Value::Null),
            "events[0].createdAt: is required",
        ),
        (
            with(&["createdAt"], json!(1_700_000_000)),
            "events[0].createdAt: 1700000000 is no millisecond epoch",
        ),
        (
            with(&["finishedAt"], json!(1_700_000_000_000_000u64)),
            "events[0].finishedAt: 1700000000000000 is no millisecond epoch",
        ),
        (
            with(&["createdAt"], json!(1.7e12)),
            "events[0].createdAt: must be an integer",
        ),
        (
            with(&["finishedAt"], json!(1_699_999_999_999u64)),
            "events[0].finishedAt: 1699999999999 is earlier than createdAt",
        ),
        (
            with(&["conclusion"], json!("PASSED")),
            "events[0].conclusion: must be one of",
        ),
        (
            with(&["parent"], json!({"eventId": "p"})),
            "events[0].parent.sequenceKey: is required",
        ),
        (
            with(&["payload", "tags"], Value::Null),
            "events[0].payload.tags: is required",
        ),
        (
            with(&["payload", "metrics"], json!([{"k": "m", "v": "1"}])),
            "events[0].payload.metrics[0].v: must be a number",
        ),
        (
            with(&["payload", "tags"], json!([{"k": "t", "v": true}])),
            "events[0].payload.tags[0].v: must be a string or a number",
        ),
        (
            with(&["payload", "tags"], json!([{"v": "x"}])),
            "events[0].payload.tags[0].k: is required",
        ),
        (
            with(&["sequence", "platform"], json!("GitHub Actions")),
            "events[0].sequence.platform: must be snake_case",
        ),
        (
            with(&["sequence", "platform"], json!("github__actions")),
            "events[0].sequence.platform: must be snake_case",
        ),
        (
            with(&["sequence", "key"], json!("k".repeat(128))),
            "events[0].sequence.key: must be shorter than 128 characters",
        ),
        (
            with(&["sequence", "name"], Value::Null),
            "events[0].sequence.name: is required",
        ),
        (
            with(
                &["sequence", "payload", "metrics"],
                json!([{"k": "m", "v": 1}]),
            ),
            "events[0].sequence.payload.metrics: must be empty",
        ),
        (
            with(&["duration"], json!(3)),
            "events[0].duration: is not a documented field",
        ),
        (
            json!({"repo": {"host": "gitlab.com", "owner": "o", "name": "n"}, "events": []}),
            "repo.host: only `github.com` is supported",
        ),
        (
            json!({"repo": {"host": "github.com", "owner": "o"}, "events": []}),
            "repo.name: is required",
        ),
        (
            json!({"repo": {"host": "github.com", "owner": "o", "name": "n"}}),
            "events: is required",
        ),
        (
            json!({"repo": {"host": "github.com", "owner": "o", "name": "n"}, "events": {}}),
            "events: must be an array",
        ),
        (
            body(vec![event("twice"), event("twice")]),
            "events[1].id: `twice` is the id of an earlier event",
        ),
    ];
    let server = TestServer::start();
    let mut client = Client::connect(&server);
    for (request, rule) in &cases {
        let reply = client.post(Some("test-token"), &request.to_string());
        assert_eq!(reply.status, 400, "{rule}: {}", reply.body);
        let violations = reply.json()["violations"].clone();
        let violations: Vec<&str> = violations
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert!(
            violations.len() == 1 && violations[0].starts_with(rule),
            "{rule}: {violations:?}"
        );
    }
    assert_eq!(server.event_count(), 0, "no broken body is recorded");
    assert!(server.requests().iter().all(|r| r.status == Some(400)));
}

#[test]
fn a_body_not_sent_as_json_is_a_400() {
    let server = TestServer::start();
    let mut client = Client::connect(&server);
    let body = body(vec![event("c1")]).to_string();
    for (content_type, status) in [
        (Some("text/plain"), 400),
        (None, 400),
        (Some("application/json; charset=utf-8"), 200),
        (Some("Application/JSON"), 200),
    ] {
        let mut headers = vec![("x-api-token", "test-token")];
        if let Some(t) = content_type {
            headers.push(("Content-Type", t));
        }
        let reply = client.request(
            "POST",
            trunk_ci_analytics_testserver::TRACK_EVENTS_PATH,
            &headers,
            body.as_bytes(),
        );
        assert_eq!(reply.status, status, "{content_type:?}: {}", reply.body);
        if status == 400 {
            assert!(
                reply
                    .body
                    .contains("Content-Type: must be application/json"),
                "{}",
                reply.body
            );
        }
    }
}

#[test]
fn an_events_file_line_is_judged_as_one_event() {
    assert!(event_violations(&event("ok")).is_empty());
    let mut started = event("s");
    started.as_object_mut().unwrap().remove("finishedAt");
    started.as_object_mut().unwrap().remove("conclusion");
    assert!(
        event_violations(&started).is_empty(),
        "a started event is valid"
    );
    assert_eq!(
        event_violations(&json!("not an event")),
        ["body: must be an object, not \"not an event\""]
    );
}
