//! The API reference's example request, as documented and as corrected by DESIGN §4.

#![allow(dead_code)] // each test crate uses part of it

use serde_json::{Value, json};

/// The example request body from the API reference, exactly as documented (errors included).
pub fn documented_request() -> Value {
    serde_json::from_str(include_str!("../fixtures/documented_request.json"))
        .expect("the fixture is JSON")
}

/// The documented example with the errors DESIGN §4 names corrected, the way Trunk's own
/// Jenkins plugin sends it: `parent` carries `eventId` + `sequenceKey` (the example has
/// `chainId`), `platform` is snake_case (`jenkins`, not `Jenkins`), `finishedAt` is not
/// earlier than `createdAt` (the example has them swapped), and each sequence payload has
/// its (empty) `metrics` array. Everything else is left as documented.
pub fn corrected_request() -> Value {
    let mut body = documented_request();
    let events = body["events"].as_array_mut().expect("events");
    for event in events.iter_mut() {
        let created = event["createdAt"].clone();
        event["createdAt"] = event["finishedAt"].clone();
        event["finishedAt"] = created;
        event["sequence"]["platform"] = json!("jenkins");
        event["sequence"]["payload"]["metrics"] = json!([]);
    }
    events[1]["parent"] = json!({
        "eventId": "fba555ee-90ce-42ca-a60c-38d200e9290e",
        "sequenceKey": "test-pipeline",
    });
    body
}
