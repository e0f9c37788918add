//! What the summaries keep of one finished event, from this process or (through the chain
//! file) from a process under it.

use crate::Conclusion;
use crate::model::cargo::{METRIC_CRITICAL_PATH_MS, TAG_CRITICAL_PATH};
use crate::model::id;
use crate::model::json_fields::{Fields, field_opt};
use crate::model::wire::TagValue;
use crate::platform::clock;
use crate::record::Record;
use crate::record::lineage::{ParentRef, inherited};

/// Longest error text kept per event.
const MAX_ERROR_CHARS: usize = 300;

/// One finished event, in the compact form the chain file carries (one JSON line each, its
/// fields named by one letter, or two: `i p n k c d s x e cp`, in the order below).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Node {
    pub(crate) id: u64,
    /// The parent's id; `None` for a root.
    pub(crate) parent: Option<u64>,
    pub(crate) name: String,
    pub(crate) kind: String,
    pub(crate) conclusion: Conclusion,
    pub(crate) duration_ms: f64,
    /// Start, in µs since the Unix epoch: comparable across processes.
    pub(crate) start_us: f64,
    pub(crate) pid: u32,
    /// The `error.message` tag, when the event has one.
    pub(crate) error: Option<String>,
    /// The critical path of the cargo command the event ran, and its length in ms (its
    /// `critical_path` tag and `critical_path_ms` metric).
    pub(crate) critical_path: Option<(String, f64)>,
}

impl serde::Serialize for Node {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut o = s.serialize_struct("Node", 10)?;
        o.serialize_field("i", &self.id)?;
        field_opt(&mut o, "p", self.parent.as_ref())?;
        o.serialize_field("n", &self.name)?;
        o.serialize_field("k", &self.kind)?;
        o.serialize_field("c", &self.conclusion)?;
        o.serialize_field("d", &self.duration_ms)?;
        o.serialize_field("s", &self.start_us)?;
        o.serialize_field("x", &self.pid)?;
        field_opt(&mut o, "e", self.error.as_ref())?;
        field_opt(&mut o, "cp", self.critical_path.as_ref())?;
        o.end()
    }
}

impl<'de> serde::Deserialize<'de> for Node {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut f = Fields::read(d, "Node", None)?;
        Ok(Node {
            id: f.take("i")?,
            parent: f.take_opt("p")?,
            name: f.take("n")?,
            kind: f.take("k")?,
            conclusion: f.take("c")?,
            duration_ms: f.take("d")?,
            start_us: f.take("s")?,
            pid: f.take("x")?,
            error: f.take_opt("e")?,
            critical_path: f.take_opt("cp")?,
        })
    }
}

impl Node {
    pub(crate) fn of(record: &Record) -> Node {
        let frame = &record.frame;
        let parent = match &frame.parent {
            None => None,
            Some(ParentRef::Local { id, .. }) => Some(*id),
            // Ids on the wire are our ids in hex; another producer's may not be: then the
            // event hangs at the top of its tree.
            Some(ParentRef::Remote(r)) => Some(parse_id(&r.event_id)),
            Some(ParentRef::Inherited) => Some(inherited().map_or(0, |c| parse_id(&c.event_id()))),
        };
        let error = frame.extras.as_deref().and_then(|e| {
            e.tags
                .iter()
                .find(|(k, _)| k == "error.message")
                .map(|(_, v)| {
                    let text = match v {
                        TagValue::Str(s) => s.clone(),
                        TagValue::Int(i) => i.to_string(),
                        TagValue::UInt(u) => u.to_string(),
                        TagValue::Float(f) => f.to_string(),
                    };
                    text.chars().take(MAX_ERROR_CHARS).collect()
                })
        });
        let critical_path = frame.extras.as_deref().and_then(|e| {
            let text = e.tags.iter().find_map(|(k, v)| match v {
                TagValue::Str(s) if k == TAG_CRITICAL_PATH => Some(s.clone()),
                _ => None,
            })?;
            let ms = e
                .metrics
                .iter()
                .find_map(|(k, v)| (k == METRIC_CRITICAL_PATH_MS).then_some(*v))
                .unwrap_or(0.0);
            Some((text, ms))
        });
        Node {
            id: frame.id,
            parent,
            name: frame.meta.name().to_owned(),
            kind: frame.meta.kind().to_owned(),
            conclusion: record.conclusion,
            duration_ms: record.duration_ms(),
            start_us: clock::epoch_us(frame.start),
            pid: std::process::id(),
            error,
            critical_path,
        }
    }
}

/// An id in its wire form back to the number; 0 (no such event) when it is not ours.
pub(crate) fn parse_id(wire: &str) -> u64 {
    u64::from_str_radix(wire, 16).unwrap_or(0)
}

/// The wire form of a chain id.
pub(crate) fn chain_name(chain: u64) -> String {
    id::format(chain)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_step_s_critical_path_crosses_the_chain_file_and_others_add_nothing() {
        let mut node = Node {
            id: 7,
            parent: Some(1),
            name: "test".into(),
            kind: "step".into(),
            conclusion: Conclusion::Success,
            duration_ms: 1.5,
            start_us: 2.0,
            pid: 3,
            error: None,
            critical_path: None,
        };
        let plain = serde_json::to_string(&node).unwrap();
        assert!(!plain.contains("cp"), "{plain}");
        node.critical_path = Some(("syn → app (bin)".into(), 1234.5));
        let line = serde_json::to_string(&node).unwrap();
        assert_eq!(serde_json::from_str::<Node>(&line).unwrap(), node);
        assert_eq!(
            serde_json::from_str::<Node>(&plain).unwrap().critical_path,
            None
        );
    }
}
