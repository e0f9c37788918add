//! A [`HandOver`]'s text: one JSON object, written and read by hand (see
//! `model::json_fields` for why), optional parts left out when there are none.

use serde::de::Deserializer;
use serde::ser::{SerializeStruct, Serializer};
use serde::{Deserialize, Serialize};

use super::{HandOver, Parent};
use crate::model::json_fields::{Fields, field_opt};

impl Serialize for HandOver {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut o = s.serialize_struct("HandOver", 10)?;
        o.serialize_field("id", &self.id)?;
        o.serialize_field("chain", &self.chain)?;
        field_opt(&mut o, "parent", self.parent.as_ref())?;
        o.serialize_field("name", &self.name)?;
        o.serialize_field("key", &self.key)?;
        o.serialize_field("kind", &self.kind)?;
        field_opt(&mut o, "platform", self.platform.as_ref())?;
        o.serialize_field("start_ns", &self.start_ns)?;
        field_opt(&mut o, "tags", Some(&self.tags).filter(|t| !t.is_empty()))?;
        field_opt(
            &mut o,
            "sequence_tags",
            Some(&self.sequence_tags).filter(|t| !t.is_empty()),
        )?;
        o.end()
    }
}

impl<'de> Deserialize<'de> for HandOver {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut f = Fields::read(d, "HandOver", None)?;
        Ok(HandOver {
            id: f.take("id")?,
            chain: f.take("chain")?,
            parent: f.take_opt("parent")?,
            name: f.take("name")?,
            key: f.take("key")?,
            kind: f.take("kind")?,
            platform: f.take_opt("platform")?,
            start_ns: f.take("start_ns")?,
            tags: f.take_opt("tags")?.unwrap_or_default(),
            sequence_tags: f.take_opt("sequence_tags")?.unwrap_or_default(),
        })
    }
}

impl Serialize for Parent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut o = s.serialize_struct("Parent", 2)?;
        o.serialize_field("event_id", &self.event_id)?;
        o.serialize_field("sequence_key", &self.sequence_key)?;
        o.end()
    }
}

impl<'de> Deserialize<'de> for Parent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut f = Fields::read(d, "Parent", None)?;
        Ok(Parent {
            event_id: f.take("event_id")?,
            sequence_key: f.take("sequence_key")?,
        })
    }
}
