//! The wire types as JSON, by hand (see `model::json_fields` for why): field names as the
//! API spells them, optional fields written only when set and read as `None` when absent,
//! unknown fields refused (the API's tables are the whole contract), and a whole metric
//! written as a JSON integer.

use serde::de::{Deserializer, Error};
use serde::ser::{SerializeStruct, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{
    EVENT_FIELDS, Event, Metric, Parent, Payload, Repo, Sequence, Tag, TagValue, TrackEventsRequest,
};
use crate::model::json_fields::{Fields, field_opt};

impl Serialize for TrackEventsRequest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut o = s.serialize_struct("TrackEventsRequest", 2)?;
        o.serialize_field("repo", &self.repo)?;
        o.serialize_field("events", &self.events)?;
        o.end()
    }
}

impl<'de> Deserialize<'de> for TrackEventsRequest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut f = Fields::read(d, "TrackEventsRequest", Some(&["repo", "events"]))?;
        Ok(TrackEventsRequest {
            repo: f.take("repo")?,
            events: f.take("events")?,
        })
    }
}

impl Serialize for Repo {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut o = s.serialize_struct("Repo", 3)?;
        o.serialize_field("host", &self.host)?;
        o.serialize_field("owner", &self.owner)?;
        o.serialize_field("name", &self.name)?;
        o.end()
    }
}

impl<'de> Deserialize<'de> for Repo {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut f = Fields::read(d, "Repo", Some(&["host", "owner", "name"]))?;
        Ok(Repo {
            host: f.take("host")?,
            owner: f.take("owner")?,
            name: f.take("name")?,
        })
    }
}

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut o = s.serialize_struct("Event", EVENT_FIELDS.len())?;
        o.serialize_field("id", &self.id)?;
        o.serialize_field("chainId", &self.chain_id)?;
        field_opt(&mut o, "parent", self.parent.as_ref())?;
        o.serialize_field("createdAt", &self.created_at)?;
        field_opt(&mut o, "finishedAt", self.finished_at.as_ref())?;
        field_opt(&mut o, "conclusion", self.conclusion.as_ref())?;
        field_opt(&mut o, "payload", self.payload.as_ref())?;
        field_opt(&mut o, "sequence", self.sequence.as_ref())?;
        o.end()
    }
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut f = Fields::read(d, "Event", Some(&EVENT_FIELDS))?;
        Ok(Event {
            id: f.take("id")?,
            chain_id: f.take("chainId")?,
            parent: f.take_opt("parent")?,
            created_at: f.take("createdAt")?,
            finished_at: f.take_opt("finishedAt")?,
            conclusion: f.take_opt("conclusion")?,
            payload: f.take_opt("payload")?,
            sequence: f.take_opt("sequence")?,
        })
    }
}

impl Serialize for Parent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut o = s.serialize_struct("Parent", 2)?;
        o.serialize_field("eventId", &self.event_id)?;
        o.serialize_field("sequenceKey", &self.sequence_key)?;
        o.end()
    }
}

impl<'de> Deserialize<'de> for Parent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut f = Fields::read(d, "Parent", Some(&["eventId", "sequenceKey"]))?;
        Ok(Parent {
            event_id: f.take("eventId")?,
            sequence_key: f.take("sequenceKey")?,
        })
    }
}

impl Serialize for Payload {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut o = s.serialize_struct("Payload", 2)?;
        o.serialize_field("metrics", &self.metrics)?;
        o.serialize_field("tags", &self.tags)?;
        o.end()
    }
}

impl<'de> Deserialize<'de> for Payload {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut f = Fields::read(d, "Payload", Some(&["metrics", "tags"]))?;
        Ok(Payload {
            metrics: f.take("metrics")?,
            tags: f.take("tags")?,
        })
    }
}

impl Serialize for Metric {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut o = s.serialize_struct("Metric", 2)?;
        o.serialize_field("k", &self.k)?;
        o.serialize_field("v", &WholeAsInteger(self.v))?;
        o.end()
    }
}

impl<'de> Deserialize<'de> for Metric {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut f = Fields::read(d, "Metric", Some(&["k", "v"]))?;
        Ok(Metric {
            k: f.take("k")?,
            v: f.take("v")?,
        })
    }
}

/// A metric value written as the API documents metrics: a whole number as a JSON integer
/// (`1000`, not `1000.0`); fractions, and magnitudes past 2^53 where `f64` stops being exact,
/// stay floats.
struct WholeAsInteger(f64);

impl Serialize for WholeAsInteger {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
        let v = self.0;
        if v.fract() == 0.0 && v.abs() <= EXACT {
            // In range and whole, so the cast is exact.
            s.serialize_i64(v as i64)
        } else {
            s.serialize_f64(v)
        }
    }
}

impl Serialize for Tag {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut o = s.serialize_struct("Tag", 2)?;
        o.serialize_field("k", &self.k)?;
        o.serialize_field("v", &self.v)?;
        o.end()
    }
}

impl<'de> Deserialize<'de> for Tag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut f = Fields::read(d, "Tag", Some(&["k", "v"]))?;
        Ok(Tag {
            k: f.take("k")?,
            v: f.take("v")?,
        })
    }
}

impl Serialize for TagValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            TagValue::Int(v) => s.serialize_i64(*v),
            TagValue::UInt(v) => s.serialize_u64(*v),
            TagValue::Float(v) => s.serialize_f64(*v),
            TagValue::Str(v) => s.serialize_str(v),
        }
    }
}

impl<'de> Deserialize<'de> for TagValue {
    /// A number as the first of `i64`, `u64` and `f64` that holds it; a string as itself.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    Ok(TagValue::Int(i))
                } else if let Some(u) = n.as_u64() {
                    Ok(TagValue::UInt(u))
                } else {
                    n.as_f64()
                        .map(TagValue::Float)
                        .ok_or_else(|| D::Error::custom("a number out of range"))
                }
            }
            Value::String(s) => Ok(TagValue::Str(s)),
            other => Err(D::Error::custom(format_args!(
                "a tag value is a string or a number, not {other}"
            ))),
        }
    }
}

const SEQUENCE_FIELDS: [&str; 5] = ["platform", "kind", "key", "name", "payload"];

impl Serialize for Sequence {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut o = s.serialize_struct("Sequence", SEQUENCE_FIELDS.len())?;
        o.serialize_field("platform", &self.platform)?;
        o.serialize_field("kind", &self.kind)?;
        o.serialize_field("key", &self.key)?;
        o.serialize_field("name", &self.name)?;
        o.serialize_field("payload", &self.payload)?;
        o.end()
    }
}

impl<'de> Deserialize<'de> for Sequence {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut f = Fields::read(d, "Sequence", Some(&SEQUENCE_FIELDS))?;
        Ok(Sequence {
            platform: f.take("platform")?,
            kind: f.take("kind")?,
            key: f.take("key")?,
            name: f.take("name")?,
            payload: f.take("payload")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Conclusion;

    fn event() -> Event {
        Event {
            id: "b154752619c3fe4c".into(),
            chain_id: "17133b7500ee6dc8".into(),
            parent: Some(Parent {
                event_id: "6fe60912edd71483".into(),
                sequence_key: "xtask::ci".into(),
            }),
            created_at: 1_795_698_599_426,
            finished_at: Some(1_795_698_599_695),
            conclusion: Some(Conclusion::TimedOut),
            payload: Some(Payload {
                metrics: vec![
                    Metric {
                        k: "duration_ms".into(),
                        v: 268.73,
                    },
                    Metric {
                        k: "files".into(),
                        v: 12.0,
                    },
                ],
                tags: vec![
                    Tag {
                        k: "exit_code".into(),
                        v: TagValue::Int(-1),
                    },
                    Tag {
                        k: "big".into(),
                        v: TagValue::UInt(u64::MAX),
                    },
                    Tag {
                        k: "ratio".into(),
                        v: TagValue::Float(0.5),
                    },
                    Tag {
                        k: "os".into(),
                        v: TagValue::Str("linux".into()),
                    },
                ],
            }),
            sequence: Some(Sequence {
                platform: "local".into(),
                kind: "step".into(),
                key: "xtask::xtask::fmt".into(),
                name: "fmt".into(),
                payload: Payload::default(),
            }),
        }
    }

    #[test]
    fn an_event_is_written_as_documented_and_reads_back() {
        let e = event();
        let text = serde_json::to_string(&e).unwrap_or_default();
        assert_eq!(
            text,
            r#"{"id":"b154752619c3fe4c","chainId":"17133b7500ee6dc8","parent":{"eventId":"6fe60912edd71483","sequenceKey":"xtask::ci"},"createdAt":1795698599426,"finishedAt":1795698599695,"conclusion":"TIMED_OUT","payload":{"metrics":[{"k":"duration_ms","v":268.73},{"k":"files","v":12}],"tags":[{"k":"exit_code","v":-1},{"k":"big","v":18446744073709551615},{"k":"ratio","v":0.5},{"k":"os","v":"linux"}]},"sequence":{"platform":"local","kind":"step","key":"xtask::xtask::fmt","name":"fmt","payload":{"metrics":[],"tags":[]}}}"#
        );
        let back: Event = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, e);
    }

    #[test]
    fn absent_optionals_are_left_out_and_read_as_none() {
        let root = Event {
            parent: None,
            finished_at: None,
            conclusion: None,
            payload: None,
            sequence: None,
            ..event()
        };
        let text = serde_json::to_string(&root).unwrap_or_default();
        assert_eq!(
            text,
            r#"{"id":"b154752619c3fe4c","chainId":"17133b7500ee6dc8","createdAt":1795698599426}"#
        );
        assert_eq!(serde_json::from_str::<Event>(&text).ok(), Some(root));
    }

    #[test]
    fn unknown_fields_and_wrong_types_are_refused() {
        for bad in [
            r#"{"id":"a","chainId":"a","createdAt":1,"extra":1}"#,
            r#"{"id":"a","chainId":"a"}"#,
            r#"{"id":"a","chainId":"a","createdAt":1,"conclusion":"DONE"}"#,
            r#"{"id":"a","chainId":"a","createdAt":1,"payload":{"metrics":[]}}"#,
        ] {
            assert!(serde_json::from_str::<Event>(bad).is_err(), "{bad}");
        }
        assert!(serde_json::from_str::<TagValue>("true").is_err());
        assert!(serde_json::from_str::<Repo>(r#"{"host":"h","owner":"o"}"#).is_err());
    }
}
