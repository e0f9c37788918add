//! The rules of a `trackEvents` body, read from the API documentation
//! (`reference/trunk-ci-analytics-api.md`, its tables; DESIGN.md §4 settles where the page
//! contradicts itself) for this server alone. The server shares no code with the runtime's
//! own validator: a misreading there would otherwise hide the same misreading in the encoder
//! the server is meant to judge.

use std::collections::HashSet;

use serde_json::{Map, Value};

/// A field of a documented object: its name, whether the table marks it required, and how
/// its value is checked.
struct Field {
    name: &'static str,
    required: bool,
    check: fn(&mut Found, &str, &Value),
}

const fn field(name: &'static str, required: bool, check: fn(&mut Found, &str, &Value)) -> Field {
    Field {
        name,
        required,
        check,
    }
}

/// Request Body table.
const REQUEST: &[Field] = &[field("repo", true, repo), field("events", true, events)];
/// Repo table.
const REPO: &[Field] = &[
    field("host", true, host),
    field("owner", true, text),
    field("name", true, text),
];
/// Event table.
const EVENT: &[Field] = &[
    field("id", true, text),
    field("chainId", true, text),
    field("parent", false, parent),
    field("createdAt", true, millis),
    field("finishedAt", false, millis),
    field("conclusion", false, conclusion),
    field("payload", false, payload),
    field("sequence", false, sequence),
];
/// Parent table: both required.
const PARENT: &[Field] = &[
    field("eventId", true, text),
    field("sequenceKey", true, text),
];
/// Payload table: both arrays required, possibly empty.
const PAYLOAD: &[Field] = &[field("metrics", true, metrics), field("tags", true, tags)];
/// Sequence table: every field required.
const SEQUENCE: &[Field] = &[
    field("platform", true, platform),
    field("kind", true, text),
    field("key", true, sequence_key),
    field("name", true, text),
    field("payload", true, sequence_payload),
];
const METRIC: &[Field] = &[field("k", true, text), field("v", true, number)];
const TAG: &[Field] = &[field("k", true, text), field("v", true, string_or_number)];

/// The five conclusions of the Event table.
const CONCLUSIONS: [&str; 5] = ["SUCCESS", "FAILURE", "CANCELLED", "TIMED_OUT", "SKIPPED"];

/// "Currently only `github.com` is supported."
const HOST: &str = "github.com";

/// A sequence key is "< 128 characters".
const KEY_LIMIT: usize = 128;

/// `createdAt`/`finishedAt` are millisecond epochs: a value outside 2000..2100 is in another
/// unit (seconds, microseconds) or garbage.
const EPOCH_MS: std::ops::Range<u64> = 946_684_800_000..4_102_444_800_000;

/// Every rule of the documentation that `body` breaks, as `path: rule`
/// (`events[2].sequence.platform: …`). Empty when the body is a valid request.
///
/// ```
/// use serde_json::json;
/// use trunk_ci_analytics_testserver::request_violations;
///
/// let body = json!({
///     "repo": {"host": "github.com", "owner": "trunk-io", "name": "jenkins-plugin"},
///     "events": [{"id": "a", "chainId": "a", "createdAt": 1_694_615_487_000u64}],
/// });
/// assert!(request_violations(&body).is_empty());
/// let body = json!({"repo": {"host": "gitlab.com", "owner": "o", "name": "n"}, "events": []});
/// assert_eq!(request_violations(&body), ["repo.host: only `github.com` is supported, not `gitlab.com`"]);
/// ```
pub fn request_violations(body: &Value) -> Vec<String> {
    let mut found = Found::default();
    object(&mut found, "", body, REQUEST);
    found.0
}

/// Every rule of the documentation that one event object breaks, as `path: rule` with paths
/// from the event (`sequence.key: …`): for a line of an events file, which holds exactly the
/// wire Event.
///
/// ```
/// use serde_json::json;
/// use trunk_ci_analytics_testserver::event_violations;
///
/// let started = json!({"id": "b", "chainId": "a", "createdAt": 1_694_615_487_000u64,
///                      "parent": {"eventId": "a"}});
/// assert_eq!(event_violations(&started), ["parent.sequenceKey: is required"]);
/// ```
pub fn event_violations(event: &Value) -> Vec<String> {
    let mut found = Found::default();
    one_event(&mut found, "", event);
    found.0
}

/// An Event, and its end no earlier than its start.
fn one_event(found: &mut Found, path: &str, value: &Value) {
    let Some(event) = object(found, path, value, EVENT) else {
        return;
    };
    if let (Some(created), Some(finished)) = (
        event.get("createdAt").and_then(Value::as_u64),
        event.get("finishedAt").and_then(Value::as_u64),
    ) && finished < created
    {
        found.add(
            &join(path, "finishedAt"),
            format!("{finished} is earlier than createdAt {created}"),
        );
    }
}

#[derive(Default)]
struct Found(Vec<String>);

impl Found {
    fn add(&mut self, path: &str, rule: impl std::fmt::Display) {
        let at = if path.is_empty() { "body" } else { path };
        self.0.push(format!("{at}: {rule}"));
    }
}

/// `name` under `path` (`events[0]` + `id` → `events[0].id`; the body's own fields have no
/// prefix).
fn join(path: &str, name: &str) -> String {
    [path, name]
        .iter()
        .filter(|p| !p.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(".")
}

/// The offending value as the message shows it: itself, cut short if long.
fn what(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(40) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text,
    }
}

/// `value` must be an object with the documented fields only, each checked by its own rule.
fn object<'v>(
    found: &mut Found,
    path: &str,
    value: &'v Value,
    fields: &[Field],
) -> Option<&'v Map<String, Value>> {
    let Value::Object(map) = value else {
        found.add(path, format!("must be an object, not {}", what(value)));
        return None;
    };
    for name in map.keys() {
        if !fields.iter().any(|f| f.name == name) {
            found.add(&join(path, name), "is not a documented field");
        }
    }
    for f in fields {
        match map.get(f.name) {
            Some(v) => (f.check)(found, &join(path, f.name), v),
            None if f.required => found.add(&join(path, f.name), "is required"),
            None => {}
        }
    }
    Some(map)
}

fn text(found: &mut Found, path: &str, value: &Value) {
    match value {
        Value::String(s) if s.is_empty() => found.add(path, "must not be empty"),
        Value::String(_) => {}
        other => found.add(path, format!("must be a string, not {}", what(other))),
    }
}

fn host(found: &mut Found, path: &str, value: &Value) {
    match value.as_str() {
        Some(HOST) => {}
        Some(other) => found.add(path, format!("only `{HOST}` is supported, not `{other}`")),
        None => text(found, path, value),
    }
}

fn millis(found: &mut Found, path: &str, value: &Value) {
    match value.as_u64() {
        Some(ms) if EPOCH_MS.contains(&ms) => {}
        Some(ms) => found.add(
            path,
            format!("{ms} is no millisecond epoch between the years 2000 and 2100"),
        ),
        None => found.add(
            path,
            format!("must be an integer number of milliseconds, not {value}"),
        ),
    }
}

fn conclusion(found: &mut Found, path: &str, value: &Value) {
    if !value.as_str().is_some_and(|c| CONCLUSIONS.contains(&c)) {
        found.add(path, format!("must be one of {CONCLUSIONS:?}, not {value}"));
    }
}

fn number(found: &mut Found, path: &str, value: &Value) {
    if !value.is_number() {
        found.add(path, format!("must be a number, not {}", what(value)));
    }
}

fn string_or_number(found: &mut Found, path: &str, value: &Value) {
    if !value.is_number() && !value.is_string() {
        found.add(
            path,
            format!("must be a string or a number, not {}", what(value)),
        );
    }
}

/// `snake_case`, as the Sequence table's examples `jenkins` and `trunk_merge`: lowercase
/// words of letters and digits, starting with a letter, joined by single underscores.
fn platform(found: &mut Found, path: &str, value: &Value) {
    let Some(name) = value.as_str() else {
        return text(found, path, value);
    };
    let starts_with_letter = name.bytes().next().is_some_and(|b| b.is_ascii_lowercase());
    let words_ok = name.split('_').all(|w| {
        !w.is_empty()
            && w.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    });
    if !starts_with_letter || !words_ok {
        found.add(path, format!("must be snake_case, not `{name}`"));
    }
}

fn sequence_key(found: &mut Found, path: &str, value: &Value) {
    text(found, path, value);
    if let Some(key) = value.as_str()
        && key.chars().count() >= KEY_LIMIT
    {
        found.add(
            path,
            format!(
                "must be shorter than {KEY_LIMIT} characters, has {}",
                key.chars().count()
            ),
        );
    }
}

fn repo(found: &mut Found, path: &str, value: &Value) {
    object(found, path, value, REPO);
}

fn parent(found: &mut Found, path: &str, value: &Value) {
    object(found, path, value, PARENT);
}

fn payload(found: &mut Found, path: &str, value: &Value) {
    object(found, path, value, PAYLOAD);
}

fn sequence(found: &mut Found, path: &str, value: &Value) {
    object(found, path, value, SEQUENCE);
}

/// A sequence's payload: "metrics are not supported for a sequence", so its `metrics` is
/// the empty array the table's example shows.
fn sequence_payload(found: &mut Found, path: &str, value: &Value) {
    if let Some(map) = object(found, path, value, PAYLOAD)
        && map
            .get("metrics")
            .and_then(Value::as_array)
            .is_some_and(|m| !m.is_empty())
    {
        found.add(
            &join(path, "metrics"),
            "must be empty: a sequence has no metrics",
        );
    }
}

fn list(found: &mut Found, path: &str, value: &Value, item: &[Field]) {
    let Value::Array(items) = value else {
        return found.add(path, format!("must be an array, not {}", what(value)));
    };
    for (i, v) in items.iter().enumerate() {
        object(found, &format!("{path}[{i}]"), v, item);
    }
}

fn metrics(found: &mut Found, path: &str, value: &Value) {
    list(found, path, value, METRIC);
}

fn tags(found: &mut Found, path: &str, value: &Value) {
    list(found, path, value, TAG);
}

/// The events array: each one an Event, with "a unique identifier" each.
fn events(found: &mut Found, path: &str, value: &Value) {
    let Value::Array(items) = value else {
        return found.add(path, format!("must be an array, not {}", what(value)));
    };
    let mut ids = HashSet::new();
    for (i, event) in items.iter().enumerate() {
        let at = format!("{path}[{i}]");
        one_event(found, &at, event);
        if let Some(id) = event.get("id").and_then(Value::as_str)
            && !ids.insert(id)
        {
            found.add(
                &join(&at, "id"),
                format!("`{id}` is the id of an earlier event of this request"),
            );
        }
    }
}
