//! A cheap look at a body without building a JSON tree: the text and id of each event.
//!
//! Events are stored as the text the client sent, not as `serde_json::Value` trees: a tree
//! costs several times the memory and allocations, and benchmarks push hundreds of thousands
//! of events through this server on the same cores as the uploader they measure.

use std::borrow::Cow;

use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::value::RawValue;

/// One event exactly as sent.
#[derive(Clone, Debug)]
pub(crate) struct RawEvent {
    pub(crate) id: Option<String>,
    pub(crate) json: Box<str>,
}

impl RawEvent {
    /// Whether it has a `finishedAt` (else it is the *started* event of one still running).
    /// A key, not text inside a string: there a quote would be escaped.
    pub(crate) fn is_finished(&self) -> bool {
        self.json.contains("\"finishedAt\":")
    }

    pub(crate) fn parse(&self) -> serde_json::Value {
        // Cannot fail: the text was cut out of a body that parsed as JSON.
        serde_json::from_str(&self.json).unwrap_or_default()
    }
}

/// The usual body: `events` is an array (or absent).
#[derive(Deserialize)]
struct Top<'a> {
    #[serde(borrow, default)]
    events: Vec<&'a RawValue>,
}

/// Any object: tells a body with some other `events` from one that is not JSON.
#[derive(Deserialize)]
struct AnyTop<'a> {
    #[serde(borrow, default, rename = "events")]
    _events: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct IdOf<'a> {
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
}

/// Why a body is not even shaped like a request.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum BodyError {
    /// Not JSON at all; serde's message.
    NotJson(String),
    /// JSON, but this kind of value instead of an object.
    NotObject(&'static str),
}

/// The elements of the body's `events` array (none if it has no array there: that is for the
/// validator to judge), or why the body is not a JSON object.
pub(crate) fn events(body: &[u8]) -> Result<Vec<RawEvent>, BodyError> {
    let kind = match body.trim_ascii_start().first() {
        Some(b'{') => None,
        Some(b'[') => Some("an array"),
        Some(b'"') => Some("a string"),
        Some(b't' | b'f') => Some("a boolean"),
        Some(b'n') => Some("null"),
        _ => Some("a number"),
    };
    if let Some(kind) = kind {
        // Also keeps serde from reading `Top` out of an array. Rare path: the extra pass is free.
        return Err(match serde_json::from_slice::<IgnoredAny>(body) {
            Ok(_) => BodyError::NotObject(kind),
            Err(e) => BodyError::NotJson(e.to_string()),
        });
    }
    let events = match serde_json::from_slice::<Top<'_>>(body) {
        Ok(top) => top.events,
        // `events` is not an array (the validator's business), or the body is not JSON.
        Err(_) => match serde_json::from_slice::<AnyTop<'_>>(body) {
            Ok(_) => Vec::new(),
            Err(e) => return Err(BodyError::NotJson(e.to_string())),
        },
    };
    Ok(events
        .into_iter()
        .map(|raw| RawEvent {
            id: id_of(raw),
            json: raw.get().into(),
        })
        .collect())
}

fn id_of(event: &RawValue) -> Option<String> {
    if !event.get().starts_with('{') {
        return None;
    }
    let id = serde_json::from_str::<IdOf<'_>>(event.get()).ok()?.id?;
    Some(id.into_owned())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn finds_each_event_verbatim_with_its_id() {
        let body =
            br#" {"repo": {}, "events": [{"id": "a\u0062", "x": [1, {"id": "no"}]}, {"x": 1}, 7]}"#;
        let found = events(body).unwrap();
        let ids: Vec<_> = found.iter().map(|e| e.id.as_deref()).collect();
        assert_eq!(ids, [Some("ab"), None, None]);
        assert_eq!(
            &*found[0].json,
            r#"{"id": "a\u0062", "x": [1, {"id": "no"}]}"#
        );
        assert_eq!(found[0].parse()["x"][1]["id"], "no");
    }

    #[test]
    fn an_object_without_an_events_array_has_no_events() {
        for body in [
            &br#"{"events": {"id": "a"}}"#[..],
            br#"{"repo": {}}"#,
            b"{}",
        ] {
            let found = events(body);
            assert_eq!(
                found.map(|e| e.len()),
                Ok(0),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn tells_invalid_json_from_other_values() {
        let kinds = [
            (&br#"[{"id": "a"}]"#[..], "an array"),
            (br#""x""#, "a string"),
            (b"false", "a boolean"),
            (b" null", "null"),
            (b"-1.5", "a number"),
        ];
        for (body, kind) in kinds {
            assert_eq!(events(body).map(|_| ()), Err(BodyError::NotObject(kind)));
        }
        for body in [
            &br#"{"events": [{"id": "a"}"#[..],
            b"",
            b"[1,",
            b"{} {}",
            b"nope",
        ] {
            let error = events(body).map(|_| ()).unwrap_err();
            assert!(matches!(error, BodyError::NotJson(_)), "{error:?}");
        }
    }
}
