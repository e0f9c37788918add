//! Every rule of the wire contract (DESIGN §4), each with a body that breaks it: the checker
//! must name the path and the rule, and report all violations at once.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test

mod common;

use serde_json::{Value, json};
use trunk_ci_analytics_runtime::validate::{Violation, validate_event, validate_request};

/// A valid event using every field.
fn full_event() -> Value {
    json!({
        "id": "0000000000000002",
        "chainId": "0000000000000001",
        "parent": {"eventId": "0000000000000001", "sequenceKey": "xtask::ci"},
        "createdAt": 1694615487000u64,
        "finishedAt": 1694615488250u64,
        "conclusion": "SUCCESS",
        "payload": {
            "metrics": [{"k": "duration_ms", "v": 1250.5}, {"k": "crates", "v": 12}],
            "tags": [{"k": "branch", "v": "main"}, {"k": "shard", "v": 2}],
        },
        "sequence": {
            "platform": "github_actions",
            "kind": "function",
            "key": "xtask::ci::build",
            "name": "build",
            "payload": {"metrics": [], "tags": [{"k": "profile", "v": "release"}]},
        },
    })
}

fn request(events: Vec<Value>) -> Value {
    json!({
        "repo": {"host": "github.com", "owner": "trunk-io", "name": "analytics"},
        "events": events,
    })
}

/// The violations of `event` (validated at `events[0]`), as (path, rule).
fn event_errors(event: &Value) -> Vec<(String, String)> {
    match validate_event(event, "events[0]") {
        Ok(()) => Vec::new(),
        Err(v) => v.into_iter().map(|v| (v.path, v.rule)).collect(),
    }
}

/// `event` with `edit` applied must fail with exactly one violation at `path` whose rule
/// mentions `words`.
#[track_caller]
fn breaks(edit: impl FnOnce(&mut Value), path: &str, words: &str) {
    let mut event = full_event();
    edit(&mut event);
    let errors = event_errors(&event);
    assert_eq!(
        errors.len(),
        1,
        "expected one violation at {path}, got {errors:#?}"
    );
    let (p, rule) = &errors[0];
    assert_eq!(p, path, "{rule}");
    assert!(
        rule.contains(words),
        "rule for {path} is `{rule}`, expected `{words}`"
    );
}

fn remove(v: &mut Value, pointer: &str) {
    let (parent, key) = pointer.rsplit_once('/').expect("pointer");
    v.pointer_mut(parent)
        .and_then(Value::as_object_mut)
        .expect("parent object")
        .remove(key)
        .expect("field present");
}

#[test]
fn valid_events_pass() {
    assert_eq!(validate_event(&full_event(), ""), Ok(()));
    let minimal = json!({"id": "a", "chainId": "a", "createdAt": 0});
    assert_eq!(validate_event(&minimal, ""), Ok(()));
    assert_eq!(
        validate_request(&request(vec![full_event(), minimal])),
        Ok(())
    );
    assert_eq!(validate_request(&request(vec![])), Ok(()));
}

#[test]
fn the_documented_example_breaks_exactly_the_rules_design_names() {
    let errors = validate_request(&common::documented_request()).unwrap_err();
    let paths: Vec<&str> = errors.iter().map(|v| v.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "events[0].finishedAt",
            "events[0].sequence.platform",
            "events[0].sequence.payload.metrics",
            "events[1].parent.chainId",
            "events[1].parent.sequenceKey",
            "events[1].finishedAt",
            "events[1].sequence.platform",
            "events[1].sequence.payload.metrics",
        ],
        "{errors:#?}"
    );
    let rule = |path: &str| {
        errors
            .iter()
            .find(|v| v.path == path)
            .map(|v| v.rule.as_str())
            .unwrap_or_default()
    };
    assert!(rule("events[0].finishedAt").contains("earlier than createdAt"));
    assert!(rule("events[0].sequence.platform").contains("snake_case"));
    assert!(rule("events[0].sequence.platform").contains("`Jenkins`"));
    assert!(rule("events[1].parent.chainId").contains("unknown field"));
    assert!(rule("events[1].parent.sequenceKey").contains("required"));
    assert!(rule("events[1].sequence.payload.metrics").contains("required"));
    // Display gives "path: rule", the form the test server answers 400 with.
    assert_eq!(
        errors[0].to_string(),
        format!("events[0].finishedAt: {}", rule("events[0].finishedAt"))
    );

    assert_eq!(validate_request(&common::corrected_request()), Ok(()));
}

#[test]
fn required_event_fields() {
    for (pointer, path) in [
        ("/id", "events[0].id"),
        ("/chainId", "events[0].chainId"),
        ("/createdAt", "events[0].createdAt"),
        ("/parent/eventId", "events[0].parent.eventId"),
        ("/parent/sequenceKey", "events[0].parent.sequenceKey"),
        ("/payload/metrics", "events[0].payload.metrics"),
        ("/payload/tags", "events[0].payload.tags"),
        ("/payload/metrics/0/k", "events[0].payload.metrics[0].k"),
        ("/payload/metrics/0/v", "events[0].payload.metrics[0].v"),
        ("/payload/tags/1/k", "events[0].payload.tags[1].k"),
        ("/payload/tags/1/v", "events[0].payload.tags[1].v"),
        ("/sequence/platform", "events[0].sequence.platform"),
        ("/sequence/kind", "events[0].sequence.kind"),
        ("/sequence/key", "events[0].sequence.key"),
        ("/sequence/name", "events[0].sequence.name"),
        ("/sequence/payload", "events[0].sequence.payload"),
        (
            "/sequence/payload/metrics",
            "events[0].sequence.payload.metrics",
        ),
        ("/sequence/payload/tags", "events[0].sequence.payload.tags"),
    ] {
        breaks(|e| remove(e, pointer), path, "is required");
    }
}

#[test]
fn optional_event_fields_may_be_absent_but_not_null() {
    for field in ["parent", "finishedAt", "conclusion", "payload", "sequence"] {
        let mut event = full_event();
        remove(&mut event, &format!("/{field}"));
        assert_eq!(event_errors(&event), [], "without {field}");
        breaks(
            |e| e[field] = Value::Null,
            &format!("events[0].{field}"),
            "null",
        );
    }
}

#[test]
fn unknown_fields_are_rejected_at_every_level() {
    for (pointer, path) in [
        ("", "events[0].extra"),
        ("/parent", "events[0].parent.extra"),
        ("/payload", "events[0].payload.extra"),
        ("/payload/metrics/0", "events[0].payload.metrics[0].extra"),
        ("/payload/tags/0", "events[0].payload.tags[0].extra"),
        ("/sequence", "events[0].sequence.extra"),
        ("/sequence/payload", "events[0].sequence.payload.extra"),
        (
            "/sequence/payload/tags/0",
            "events[0].sequence.payload.tags[0].extra",
        ),
    ] {
        breaks(
            |e| {
                e.pointer_mut(pointer).expect("pointer")["extra"] = json!(1);
            },
            path,
            "unknown field",
        );
    }
    // A snake_case spelling of a camelCase field is unknown, and the real one is missing.
    let mut event = full_event();
    let created = event["createdAt"].take();
    remove(&mut event, "/createdAt");
    event["created_at"] = created;
    let paths: Vec<_> = event_errors(&event).into_iter().map(|(p, _)| p).collect();
    assert_eq!(paths, ["events[0].created_at", "events[0].createdAt"]);

    let mut body = request(vec![full_event()]);
    body["extra"] = json!(true);
    body["repo"]["url"] = json!("https://github.com/trunk-io/analytics");
    let errors = validate_request(&body).unwrap_err();
    let paths: Vec<_> = errors.iter().map(|v| v.path.as_str()).collect();
    assert_eq!(paths, ["extra", "repo.url"]);
}

#[test]
fn parent_needs_both_event_id_and_sequence_key() {
    let mut event = full_event();
    event["parent"] = json!({});
    let errors = event_errors(&event);
    let paths: Vec<_> = errors.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        ["events[0].parent.eventId", "events[0].parent.sequenceKey"]
    );
    breaks(
        |e| e["parent"] = json!("0000000000000001"),
        "events[0].parent",
        "must be an object",
    );
    breaks(
        |e| e["parent"]["sequenceKey"] = json!(""),
        "events[0].parent.sequenceKey",
        "must not be empty",
    );
}

#[test]
fn strings_must_be_non_empty_strings() {
    breaks(|e| e["id"] = json!(17), "events[0].id", "must be a string");
    breaks(|e| e["id"] = json!(""), "events[0].id", "must not be empty");
    breaks(
        |e| e["chainId"] = json!(["a"]),
        "events[0].chainId",
        "must be a string",
    );
    breaks(
        |e| e["parent"]["eventId"] = json!(1),
        "events[0].parent.eventId",
        "must be a string",
    );
    breaks(
        |e| e["sequence"]["name"] = json!(""),
        "events[0].sequence.name",
        "must not be empty",
    );
    breaks(
        |e| e["sequence"]["kind"] = json!(false),
        "events[0].sequence.kind",
        "must be a string",
    );
}

#[test]
fn timestamps_are_non_negative_integers() {
    for bad in [json!(-1), json!(1.5), json!("1694615487000"), json!(null)] {
        breaks(
            |e| e["createdAt"] = bad.clone(),
            "events[0].createdAt",
            "non-negative integer",
        );
        breaks(
            |e| e["finishedAt"] = bad.clone(),
            "events[0].finishedAt",
            "non-negative integer",
        );
    }
}

#[test]
fn finished_at_is_never_earlier_than_created_at() {
    breaks(
        |e| e["finishedAt"] = json!(1694615486999u64),
        "events[0].finishedAt",
        "must not be earlier than createdAt (1694615486999 < 1694615487000)",
    );
    let mut same = full_event();
    same["finishedAt"] = same["createdAt"].clone();
    assert_eq!(event_errors(&same), []);
}

#[test]
fn conclusion_is_one_of_the_five_values() {
    for ok in ["SUCCESS", "FAILURE", "CANCELLED", "TIMED_OUT", "SKIPPED"] {
        let mut event = full_event();
        event["conclusion"] = json!(ok);
        assert_eq!(event_errors(&event), [], "{ok}");
    }
    for bad in [
        json!("success"),
        json!("ERROR"),
        json!("TIMEDOUT"),
        json!(0),
    ] {
        breaks(
            |e| e["conclusion"] = bad.clone(),
            "events[0].conclusion",
            "must be one of SUCCESS, FAILURE, CANCELLED, TIMED_OUT, SKIPPED",
        );
    }
}

#[test]
fn payload_holds_a_metrics_array_and_a_tags_array() {
    breaks(
        |e| e["payload"] = json!([]),
        "events[0].payload",
        "must be an object",
    );
    breaks(
        |e| e["payload"]["metrics"] = json!({"duration_ms": 1}),
        "events[0].payload.metrics",
        "must be an array",
    );
    breaks(
        |e| e["payload"]["tags"] = json!("branch=main"),
        "events[0].payload.tags",
        "must be an array",
    );
    let mut empty = full_event();
    empty["payload"] = json!({"metrics": [], "tags": []});
    assert_eq!(event_errors(&empty), []);
}

#[test]
fn metric_values_are_finite_numbers() {
    for ok in [json!(0), json!(-3), json!(0.125), json!(1e300)] {
        let mut event = full_event();
        event["payload"]["metrics"][0]["v"] = ok.clone();
        assert_eq!(event_errors(&event), [], "{ok}");
    }
    // NaN and infinity cannot be JSON numbers: serde_json turns them into null.
    assert_eq!(json!(f64::NAN), Value::Null);
    for bad in [json!(f64::INFINITY), json!("12"), json!(true), json!([1])] {
        breaks(
            |e| e["payload"]["metrics"][0]["v"] = bad.clone(),
            "events[0].payload.metrics[0].v",
            "must be a finite number",
        );
    }
    breaks(
        |e| e["payload"]["metrics"][1] = json!(12),
        "events[0].payload.metrics[1]",
        "must be an object",
    );
}

#[test]
fn tag_values_are_strings_or_numbers() {
    for ok in [json!("main"), json!(""), json!(7), json!(-2.5)] {
        let mut event = full_event();
        event["payload"]["tags"][0]["v"] = ok.clone();
        event["sequence"]["payload"]["tags"][0]["v"] = ok.clone();
        assert_eq!(event_errors(&event), [], "{ok}");
    }
    for bad in [json!(true), json!(null), json!({"a": 1}), json!(["x"])] {
        breaks(
            |e| e["payload"]["tags"][1]["v"] = bad.clone(),
            "events[0].payload.tags[1].v",
            "must be a string or a number",
        );
        breaks(
            |e| e["sequence"]["payload"]["tags"][0]["v"] = bad.clone(),
            "events[0].sequence.payload.tags[0].v",
            "must be a string or a number",
        );
    }
    breaks(
        |e| e["payload"]["tags"][0]["k"] = json!(""),
        "events[0].payload.tags[0].k",
        "must not be empty",
    );
}

#[test]
fn sequence_platform_is_snake_case() {
    for ok in ["github_actions", "local", "trunk_merge", "ci2"] {
        let mut event = full_event();
        event["sequence"]["platform"] = json!(ok);
        assert_eq!(event_errors(&event), [], "{ok}");
    }
    for bad in [
        "Jenkins",
        "githubActions",
        "github-actions",
        "_ci",
        "ci_",
        "a__b",
        "2ci",
    ] {
        breaks(
            |e| e["sequence"]["platform"] = json!(bad),
            "events[0].sequence.platform",
            "snake_case",
        );
    }
}

#[test]
fn sequence_key_is_shorter_than_128_characters() {
    // Characters, not bytes: 127 two-byte characters are fine.
    let mut event = full_event();
    event["sequence"]["key"] = json!("é".repeat(127));
    assert_eq!(event_errors(&event), []);
    breaks(
        |e| e["sequence"]["key"] = json!("k".repeat(128)),
        "events[0].sequence.key",
        "shorter than 128 characters, has 128",
    );
    breaks(
        |e| e["sequence"]["key"] = json!(""),
        "events[0].sequence.key",
        "must not be empty",
    );
}

#[test]
fn sequence_payload_carries_no_metrics() {
    breaks(
        |e| e["sequence"]["payload"]["metrics"] = json!([{"k": "duration_ms", "v": 1}]),
        "events[0].sequence.payload.metrics",
        "metrics are not supported on a sequence",
    );
}

#[test]
fn repo_must_be_on_github_com_with_owner_and_name() {
    let with_repo = |repo: Value| {
        let mut body = request(vec![]);
        body["repo"] = repo;
        validate_request(&body).unwrap_err()
    };
    let errors = with_repo(json!({"host": "gitlab.com", "owner": "o", "name": "n"}));
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].path, "repo.host");
    assert!(errors[0].rule.contains("github.com") && errors[0].rule.contains("`gitlab.com`"));

    let errors = with_repo(json!({"host": "github.com", "owner": ""}));
    let got: Vec<_> = errors
        .iter()
        .map(|v| (v.path.as_str(), v.rule.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("repo.owner", "must not be empty"),
            ("repo.name", "is required (a non-empty string)"),
        ]
    );
    assert_eq!(with_repo(json!("trunk-io/analytics"))[0].path, "repo");
}

#[test]
fn request_needs_repo_and_an_events_array() {
    let errors = validate_request(&json!({})).unwrap_err();
    let paths: Vec<_> = errors.iter().map(|v| v.path.as_str()).collect();
    assert_eq!(paths, ["repo", "events"]);

    let mut body = request(vec![]);
    body["events"] = json!({"id": "a"});
    let errors = validate_request(&body).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(
        (errors[0].path.as_str(), errors[0].rule.as_str()),
        ("events", "must be an array, found an object")
    );

    let errors = validate_request(&json!([request(vec![])])).unwrap_err();
    assert_eq!(errors[0].rule, "must be an object, found an array");
    let errors = validate_request(&request(vec![json!("event")])).unwrap_err();
    assert_eq!(errors[0].path, "events[0]");
}

#[test]
fn event_ids_are_unique_within_a_request() {
    let mut second = full_event();
    second["parent"]["sequenceKey"] = json!("other");
    let third = json!({"id": "x", "chainId": "x", "createdAt": 1});
    let errors = validate_request(&request(vec![full_event(), third, second])).unwrap_err();
    assert_eq!(
        errors,
        [Violation {
            path: "events[2].id".into(),
            rule: "`0000000000000002` is also the id of events[0]; ids must be unique".into(),
        }]
    );
}

#[test]
fn every_violation_is_reported_not_just_the_first() {
    let event = json!({
        "id": 1,
        "createdAt": 20,
        "finishedAt": 10,
        "conclusion": "DONE",
        "payload": {"metrics": [{"k": "m", "v": "fast"}]},
        "sequence": {"platform": "Local", "kind": "job", "key": "k", "name": "n",
                     "payload": {"metrics": [{"k": "m", "v": 1}], "tags": []}},
        "color": "red",
    });
    let errors = event_errors(&event);
    let paths: Vec<_> = errors.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        [
            "events[0].color",
            "events[0].id",
            "events[0].chainId",
            "events[0].finishedAt",
            "events[0].conclusion",
            "events[0].payload.metrics[0].v",
            "events[0].payload.tags",
            "events[0].sequence.platform",
            "events[0].sequence.payload.metrics",
        ],
        "{errors:#?}"
    );
}

#[test]
fn an_empty_prefix_gives_paths_from_the_event() {
    let errors = validate_event(&json!({"id": "a", "chainId": "a"}), "").unwrap_err();
    assert_eq!(errors[0].path, "createdAt");
    let errors = validate_event(&json!(null), "").unwrap_err();
    assert_eq!(errors[0].path, "the body");
}
