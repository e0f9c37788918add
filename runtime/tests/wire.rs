//! Golden tests of the wire model against the API reference: each documented object
//! deserializes into its type and serializes back to exactly the documented JSON.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test

mod common;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use trunk_ci_analytics_runtime::Conclusion;
use trunk_ci_analytics_runtime::validate::{validate_event, validate_request};
use trunk_ci_analytics_runtime::wire::{
    Event, Metric, Parent, Payload, Repo, Sequence, Tag, TagValue, TrackEventsRequest,
};

/// `json` reads as `expected` and writes back as the same JSON value.
#[track_caller]
fn round_trips<T>(json: Value, expected: &T)
where
    T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let parsed: T = serde_json::from_value(json.clone()).expect("deserializes");
    assert_eq!(&parsed, expected);
    assert_eq!(serde_json::to_value(&parsed).expect("serializes"), json);
    // And through text, as it goes over the wire.
    let text = serde_json::to_string(expected).expect("serializes");
    assert_eq!(serde_json::from_str::<Value>(&text).expect("json"), json);
}

#[test]
fn the_corrected_documented_request_round_trips_and_validates() {
    let body = common::corrected_request();
    let request: TrackEventsRequest = serde_json::from_value(body.clone()).expect("deserializes");

    assert_eq!(
        request.repo,
        Repo {
            host: "github.com".into(),
            owner: "trunk-io".into(),
            name: "jenkins-plugin".into(),
        }
    );
    assert_eq!(request.events.len(), 2);
    let child = &request.events[1];
    assert_eq!(
        child.parent,
        Some(Parent {
            event_id: "fba555ee-90ce-42ca-a60c-38d200e9290e".into(),
            sequence_key: "test-pipeline".into(),
        })
    );
    assert_eq!(child.created_at, 1694615487000);
    assert_eq!(child.finished_at, Some(1694616487000));
    assert_eq!(child.conclusion, Some(Conclusion::Success));
    let payload = child.payload.as_ref().expect("payload");
    assert_eq!(
        payload.metrics,
        [
            Metric {
                k: "duration_ms".into(),
                v: 1000.0
            },
            Metric {
                k: "api_latency".into(),
                v: 500.0
            },
        ]
    );
    let sequence = child.sequence.as_ref().expect("sequence");
    assert_eq!(sequence.platform, "jenkins");
    assert_eq!(sequence.key, "test-pipeline/nested-pipeline");
    assert!(sequence.payload.metrics.is_empty());

    assert_eq!(serde_json::to_value(&request).expect("serializes"), body);
    assert_eq!(validate_request(&body), Ok(()));
}

#[test]
fn the_documented_request_as_written_is_refused_by_the_wire_model() {
    // `parent.chainId` is not a field of Parent, and the sequence payloads lack `metrics`.
    let err = serde_json::from_value::<TrackEventsRequest>(common::documented_request())
        .expect_err("the example's errors must not deserialize silently");
    let msg = err.to_string();
    assert!(msg.contains("metrics") || msg.contains("chainId"), "{msg}");
}

#[test]
fn repo() {
    // The reference's own example for https://github.com/trunk-io/jenkins-plugin.
    round_trips(
        json!({"host": "github.com", "owner": "trunk-io", "name": "jenkins-plugin"}),
        &Repo {
            host: "github.com".into(),
            owner: "trunk-io".into(),
            name: "jenkins-plugin".into(),
        },
    );
}

#[test]
fn parent() {
    round_trips(
        json!({"eventId": "fba555ee-90ce-42ca-a60c-38d200e9290e", "sequenceKey": "test-pipeline"}),
        &Parent {
            event_id: "fba555ee-90ce-42ca-a60c-38d200e9290e".into(),
            sequence_key: "test-pipeline".into(),
        },
    );
    assert!(serde_json::from_value::<Parent>(json!({"eventId": "a"})).is_err());
    assert!(
        serde_json::from_value::<Parent>(json!({"eventId": "a", "chainId": "b"})).is_err(),
        "the example's `chainId` is not a parent field"
    );
}

#[test]
fn metric_whole_and_fractional() {
    // The reference's example metric: whole numbers stay JSON integers.
    round_trips(
        json!({"k": "duration_ms", "v": 101920}),
        &Metric {
            k: "duration_ms".into(),
            v: 101920.0,
        },
    );
    round_trips(
        json!({"k": "duration_ms", "v": 0.375}),
        &Metric {
            k: "duration_ms".into(),
            v: 0.375,
        },
    );
    round_trips(
        json!({"k": "delta", "v": -12}),
        &Metric {
            k: "delta".into(),
            v: -12.0,
        },
    );
    // Beyond 2^53 a whole f64 is no longer exact: it stays a float.
    let huge = serde_json::to_value(Metric {
        k: "bytes".into(),
        v: 1e300,
    })
    .expect("serializes");
    assert_eq!(huge["v"].as_f64(), Some(1e300));
}

#[test]
fn tag_with_string_and_number_values() {
    // The reference's example tag.
    round_trips(
        json!({"k": "runner", "v": "self-hosted"}),
        &Tag {
            k: "runner".into(),
            v: TagValue::Str("self-hosted".into()),
        },
    );
    round_trips(
        json!({"k": "shard", "v": 3}),
        &Tag {
            k: "shard".into(),
            v: TagValue::Int(3),
        },
    );
    round_trips(
        json!({"k": "offset", "v": -7}),
        &Tag {
            k: "offset".into(),
            v: TagValue::Int(-7),
        },
    );
    round_trips(
        json!({"k": "ratio", "v": 0.5}),
        &Tag {
            k: "ratio".into(),
            v: TagValue::Float(0.5),
        },
    );
    round_trips(
        json!({"k": "big", "v": u64::MAX}),
        &Tag {
            k: "big".into(),
            v: TagValue::UInt(u64::MAX),
        },
    );
    assert!(serde_json::from_value::<Tag>(json!({"k": "flag", "v": true})).is_err());
}

#[test]
fn payload_always_has_both_arrays() {
    round_trips(
        json!({"metrics": [], "tags": []}),
        &Payload {
            metrics: vec![],
            tags: vec![],
        },
    );
    round_trips(
        json!({
            "metrics": [{"k": "duration_ms", "v": 1000}, {"k": "api_latency", "v": 500}],
            "tags": [{"k": "branch", "v": "merge-PR-1"}, {"k": "attempt", "v": 2}],
        }),
        &Payload {
            metrics: vec![
                Metric {
                    k: "duration_ms".into(),
                    v: 1000.0,
                },
                Metric {
                    k: "api_latency".into(),
                    v: 500.0,
                },
            ],
            tags: vec![
                Tag {
                    k: "branch".into(),
                    v: "merge-PR-1".into(),
                },
                Tag {
                    k: "attempt".into(),
                    v: 2.into(),
                },
            ],
        },
    );
    assert!(serde_json::from_value::<Payload>(json!({"tags": []})).is_err());
}

#[test]
fn sequence() {
    round_trips(
        json!({
            "platform": "jenkins",
            "kind": "pipeline",
            "key": "test-pipeline",
            "name": "Trying out a test pipeline",
            "payload": {"metrics": [], "tags": [{"k": "label", "v": "self-hosted"}]},
        }),
        &Sequence {
            platform: "jenkins".into(),
            kind: "pipeline".into(),
            key: "test-pipeline".into(),
            name: "Trying out a test pipeline".into(),
            payload: Payload {
                metrics: vec![],
                tags: vec![Tag {
                    k: "label".into(),
                    v: "self-hosted".into(),
                }],
            },
        },
    );
}

fn bare_event() -> Event {
    Event {
        id: "test-workflow-a-1".into(),
        chain_id: "test-workflow-a-1".into(),
        parent: None,
        created_at: 1694615487000,
        finished_at: None,
        conclusion: None,
        payload: None,
        sequence: None,
    }
}

#[test]
fn event_without_optionals_omits_them() {
    let json = json!({
        "id": "test-workflow-a-1",
        "chainId": "test-workflow-a-1",
        "createdAt": 1694615487000u64,
    });
    round_trips(json.clone(), &bare_event());
    assert_eq!(validate_event(&json, ""), Ok(()));
}

#[test]
fn event_with_every_optional() {
    let json = json!({
        "id": "test-workflow-a-1",
        "chainId": "b0ea8b0d-6574-4421-a63b-56f04eab9738",
        "parent": {"eventId": "fba555ee-90ce-42ca-a60c-38d200e9290e", "sequenceKey": "test-pipeline"},
        "createdAt": 1694615487000u64,
        "finishedAt": 1694616487000u64,
        "conclusion": "TIMED_OUT",
        "payload": {"metrics": [{"k": "duration_ms", "v": 1000000}], "tags": []},
        "sequence": {
            "platform": "jenkins",
            "kind": "nested-pipeline",
            "key": "test-pipeline/nested-pipeline",
            "name": "Trying out a test nested pipeline",
            "payload": {"metrics": [], "tags": []},
        },
    });
    let event = Event {
        chain_id: "b0ea8b0d-6574-4421-a63b-56f04eab9738".into(),
        parent: Some(Parent {
            event_id: "fba555ee-90ce-42ca-a60c-38d200e9290e".into(),
            sequence_key: "test-pipeline".into(),
        }),
        finished_at: Some(1694616487000),
        conclusion: Some(Conclusion::TimedOut),
        payload: Some(Payload {
            metrics: vec![Metric {
                k: "duration_ms".into(),
                v: 1_000_000.0,
            }],
            tags: vec![],
        }),
        sequence: Some(Sequence {
            platform: "jenkins".into(),
            kind: "nested-pipeline".into(),
            key: "test-pipeline/nested-pipeline".into(),
            name: "Trying out a test nested pipeline".into(),
            payload: Payload::default(),
        }),
        ..bare_event()
    };
    round_trips(json.clone(), &event);
    assert_eq!(validate_event(&json, ""), Ok(()));
}

#[test]
fn conclusions_use_the_documented_spelling() {
    for (c, s) in [
        (Conclusion::Success, "SUCCESS"),
        (Conclusion::Failure, "FAILURE"),
        (Conclusion::Cancelled, "CANCELLED"),
        (Conclusion::TimedOut, "TIMED_OUT"),
        (Conclusion::Skipped, "SKIPPED"),
    ] {
        let event = Event {
            conclusion: Some(c),
            ..bare_event()
        };
        let json = serde_json::to_value(&event).expect("serializes");
        assert_eq!(json["conclusion"], s);
        assert_eq!(validate_event(&json, ""), Ok(()));
    }
}

#[test]
fn unknown_fields_are_refused_everywhere() {
    let mut json = serde_json::to_value(bare_event()).expect("serializes");
    json["extra"] = json!(1);
    assert!(serde_json::from_value::<Event>(json).is_err());
    assert!(
        serde_json::from_value::<Repo>(
            json!({"host": "github.com", "owner": "o", "name": "n", "url": "x"})
        )
        .is_err()
    );
}
