//! Checks a request or event against every rule of the wire contract.
//!
//! It judges `serde_json::Value`s, not the wire types, so it sees exactly what goes over the
//! wire (unknown fields, wrong types, nulls) and reports every broken rule at once, each with
//! its JSON path. The loopback test server answers 400 with these; tests check that what the
//! runtime writes passes.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use serde_json::{Map, Value};
use trunk_ci_analytics_rules::{MAX_KEY_CHARS, is_snake_case};

use super::wire::EVENT_FIELDS;

/// One broken rule: where (a JSON path like `events[0].sequence.platform`) and which rule.
///
/// ```
/// use trunk_ci_analytics::validate::Violation;
/// let v = Violation { path: "events[0].id".into(), rule: "is required".into() };
/// assert_eq!(v.to_string(), "events[0].id: is required");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// JSON path of the offending field.
    pub path: String,
    /// The rule, in words.
    pub rule: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.rule)
    }
}

/// The documented conclusions.
const CONCLUSIONS: [&str; 5] = ["SUCCESS", "FAILURE", "CANCELLED", "TIMED_OUT", "SKIPPED"];

const REQUEST_FIELDS: &[&str] = &["repo", "events"];
const REPO_FIELDS: &[&str] = &["host", "owner", "name"];
const PARENT_FIELDS: &[&str] = &["eventId", "sequenceKey"];
const PAYLOAD_FIELDS: &[&str] = &["metrics", "tags"];
const KV_FIELDS: &[&str] = &["k", "v"];
const SEQUENCE_FIELDS: &[&str] = &["platform", "kind", "key", "name", "payload"];

/// Validates a whole request body: `repo`, `events`, every event, and that event ids are
/// unique within the request.
///
/// ```
/// use serde_json::json;
/// use trunk_ci_analytics::validate::validate_request;
///
/// let body = json!({
///     "repo": {"host": "github.com", "owner": "trunk-io", "name": "jenkins-plugin"},
///     "events": [{"id": "a", "chainId": "a", "createdAt": 1694615487000u64}],
/// });
/// assert_eq!(validate_request(&body), Ok(()));
///
/// let errors = validate_request(&json!({"repo": {"host": "gitlab.com", "owner": "o", "name": "n"}}))
///     .unwrap_err();
/// let paths: Vec<_> = errors.iter().map(|v| v.path.as_str()).collect();
/// assert_eq!(paths, ["repo.host", "events"]);
/// ```
pub fn validate_request(body: &Value) -> Result<(), Vec<Violation>> {
    let mut c = Checker::default();
    c.request(body);
    c.finish()
}

/// Validates one event object; `path` prefixes the reported paths (`""` for none).
///
/// ```
/// use serde_json::json;
/// use trunk_ci_analytics::validate::validate_event;
///
/// let event = json!({"id": "b", "chainId": "a", "createdAt": 10, "finishedAt": 5,
///                    "parent": {"eventId": "a"}});
/// let errors = validate_event(&event, "events[1]").unwrap_err();
/// assert_eq!(errors[0].path, "events[1].parent.sequenceKey");
/// assert_eq!(errors[1].path, "events[1].finishedAt");
/// ```
pub fn validate_event(event: &Value, path: &str) -> Result<(), Vec<Violation>> {
    let mut c = Checker::default();
    c.event(event, path);
    c.finish()
}

#[derive(Default)]
struct Checker {
    found: Vec<Violation>,
}

impl Checker {
    fn finish(self) -> Result<(), Vec<Violation>> {
        if self.found.is_empty() {
            Ok(())
        } else {
            Err(self.found)
        }
    }

    fn fail(&mut self, path: &str, rule: impl Into<String>) {
        self.found.push(Violation {
            path: path.to_owned(),
            rule: rule.into(),
        });
    }

    fn request(&mut self, body: &Value) {
        let Some(req) = self.object(body, "", REQUEST_FIELDS) else {
            return;
        };
        match req.get("repo") {
            Some(repo) => self.repo(repo, "repo"),
            None => self.fail("repo", "is required"),
        }
        match req.get("events") {
            Some(Value::Array(events)) => {
                let mut first_seen: HashMap<&str, usize> = HashMap::new();
                for (i, event) in events.iter().enumerate() {
                    let path = format!("events[{i}]");
                    self.event(event, &path);
                    let Some(id) = event.get("id").and_then(Value::as_str) else {
                        continue;
                    };
                    match first_seen.entry(id) {
                        Entry::Vacant(slot) => {
                            slot.insert(i);
                        }
                        Entry::Occupied(first) => self.fail(
                            &format!("{path}.id"),
                            format!(
                                "`{id}` is also the id of events[{}]; ids must be unique",
                                first.get()
                            ),
                        ),
                    }
                }
            }
            Some(other) => self.fail("events", format!("must be an array, found {}", kind(other))),
            None => self.fail("events", "is required (an array of events)"),
        }
    }

    fn repo(&mut self, v: &Value, path: &str) {
        let Some(repo) = self.object(v, path, REPO_FIELDS) else {
            return;
        };
        if let Some(host) = self.text(repo, path, "host", true)
            && host != "github.com"
        {
            self.fail(
                &join(path, "host"),
                format!("must be `github.com` (the only supported host), found `{host}`"),
            );
        }
        self.text(repo, path, "owner", true);
        self.text(repo, path, "name", true);
    }

    fn event(&mut self, v: &Value, path: &str) {
        let Some(event) = self.object(v, path, &EVENT_FIELDS) else {
            return;
        };
        self.text(event, path, "id", true);
        self.text(event, path, "chainId", true);
        if let Some(parent) = event.get("parent") {
            self.parent(parent, &join(path, "parent"));
        }
        let created = self.millis(event, path, "createdAt", true);
        let finished = self.millis(event, path, "finishedAt", false);
        if let (Some(created), Some(finished)) = (created, finished)
            && finished < created
        {
            self.fail(
                &join(path, "finishedAt"),
                format!("must not be earlier than createdAt ({finished} < {created})"),
            );
        }
        match event.get("conclusion") {
            None => {}
            Some(Value::String(c)) if CONCLUSIONS.contains(&c.as_str()) => {}
            Some(other) => self.fail(
                &join(path, "conclusion"),
                format!("must be one of {}, found {other}", CONCLUSIONS.join(", ")),
            ),
        }
        if let Some(payload) = event.get("payload") {
            self.payload(payload, &join(path, "payload"), true);
        }
        if let Some(sequence) = event.get("sequence") {
            self.sequence(sequence, &join(path, "sequence"));
        }
    }

    fn parent(&mut self, v: &Value, path: &str) {
        if let Some(parent) = self.object(v, path, PARENT_FIELDS) {
            self.text(parent, path, "eventId", true);
            self.text(parent, path, "sequenceKey", true);
        }
    }

    fn payload(&mut self, v: &Value, path: &str, metrics_allowed: bool) {
        let Some(payload) = self.object(v, path, PAYLOAD_FIELDS) else {
            return;
        };
        if let Some(metrics) = self.array(payload, path, "metrics") {
            if !metrics_allowed && !metrics.is_empty() {
                self.fail(
                    &join(path, "metrics"),
                    "must be empty: metrics are not supported on a sequence",
                );
            }
            for (i, metric) in metrics.iter().enumerate() {
                self.metric(metric, &format!("{path}.metrics[{i}]"));
            }
        }
        if let Some(tags) = self.array(payload, path, "tags") {
            for (i, tag) in tags.iter().enumerate() {
                self.tag(tag, &format!("{path}.tags[{i}]"));
            }
        }
    }

    fn metric(&mut self, v: &Value, path: &str) {
        let Some(metric) = self.object(v, path, KV_FIELDS) else {
            return;
        };
        self.text(metric, path, "k", true);
        match metric.get("v") {
            Some(Value::Number(n)) if n.as_f64().is_some_and(f64::is_finite) => {}
            Some(other) => self.fail(
                &join(path, "v"),
                format!("must be a finite number, found {}", kind(other)),
            ),
            None => self.fail(&join(path, "v"), "is required (a number)"),
        }
    }

    fn tag(&mut self, v: &Value, path: &str) {
        let Some(tag) = self.object(v, path, KV_FIELDS) else {
            return;
        };
        self.text(tag, path, "k", true);
        match tag.get("v") {
            Some(Value::String(_) | Value::Number(_)) => {}
            Some(other) => self.fail(
                &join(path, "v"),
                format!("must be a string or a number, found {}", kind(other)),
            ),
            None => self.fail(&join(path, "v"), "is required (a string or a number)"),
        }
    }

    fn sequence(&mut self, v: &Value, path: &str) {
        let Some(sequence) = self.object(v, path, SEQUENCE_FIELDS) else {
            return;
        };
        if let Some(platform) = self.text(sequence, path, "platform", true)
            && !is_snake_case(platform)
        {
            self.fail(
                &join(path, "platform"),
                format!("must be snake_case (like `github_actions`), found `{platform}`"),
            );
        }
        self.text(sequence, path, "kind", true);
        if let Some(key) = self.text(sequence, path, "key", true) {
            let chars = key.chars().count();
            if chars > MAX_KEY_CHARS {
                self.fail(
                    &join(path, "key"),
                    format!(
                        "must be shorter than {} characters, has {chars}",
                        MAX_KEY_CHARS + 1
                    ),
                );
            }
        }
        self.text(sequence, path, "name", true);
        match sequence.get("payload") {
            Some(payload) => self.payload(payload, &join(path, "payload"), false),
            None => self.fail(
                &join(path, "payload"),
                "is required (`{\"metrics\": [], \"tags\": [...]}`)",
            ),
        }
    }

    /// `v` as an object; reports a non-object and every field not in `fields`.
    fn object<'v>(
        &mut self,
        v: &'v Value,
        path: &str,
        fields: &[&str],
    ) -> Option<&'v Map<String, Value>> {
        let Value::Object(map) = v else {
            let at = if path.is_empty() { "the body" } else { path };
            self.fail(at, format!("must be an object, found {}", kind(v)));
            return None;
        };
        for key in map.keys().filter(|k| !fields.contains(&k.as_str())) {
            self.fail(
                &join(path, key),
                format!("unknown field (expected one of {})", fields.join(", ")),
            );
        }
        Some(map)
    }

    /// A non-empty string field.
    fn text<'v>(
        &mut self,
        obj: &'v Map<String, Value>,
        path: &str,
        key: &str,
        required: bool,
    ) -> Option<&'v str> {
        match obj.get(key) {
            Some(Value::String(s)) if s.is_empty() => {
                self.fail(&join(path, key), "must not be empty");
                None
            }
            Some(Value::String(s)) => Some(s),
            Some(other) => {
                self.fail(
                    &join(path, key),
                    format!("must be a string, found {}", kind(other)),
                );
                None
            }
            None => {
                if required {
                    self.fail(&join(path, key), "is required (a non-empty string)");
                }
                None
            }
        }
    }

    /// A millisecond timestamp: a non-negative integer.
    fn millis(
        &mut self,
        obj: &Map<String, Value>,
        path: &str,
        key: &str,
        required: bool,
    ) -> Option<u64> {
        match obj.get(key) {
            Some(Value::Number(n)) if n.is_u64() => n.as_u64(),
            Some(other) => {
                self.fail(
                    &join(path, key),
                    format!(
                        "must be a non-negative integer (milliseconds since the Unix epoch), found {other}"
                    ),
                );
                None
            }
            None => {
                if required {
                    self.fail(
                        &join(path, key),
                        "is required (milliseconds since the Unix epoch)",
                    );
                }
                None
            }
        }
    }

    fn array<'v>(
        &mut self,
        obj: &'v Map<String, Value>,
        path: &str,
        key: &str,
    ) -> Option<&'v Vec<Value>> {
        match obj.get(key) {
            Some(Value::Array(items)) => Some(items),
            Some(other) => {
                self.fail(
                    &join(path, key),
                    format!("must be an array, found {}", kind(other)),
                );
                None
            }
            None => {
                self.fail(&join(path, key), "is required (an array, possibly empty)");
                None
            }
        }
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
