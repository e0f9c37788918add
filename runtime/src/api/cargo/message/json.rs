//! The messages' JSON, written and read by hand (see `model::json_fields` for why), in the
//! form derives would give them: fields under their own names, `None` written as `null`,
//! unknown fields ignored, a [`Line`] tagged by its `line` field (`start`, `end`).

use serde::de::{Deserializer, Error};
use serde::ser::{SerializeStruct, Serializer};
use serde::{Deserialize, Serialize};

use super::{HelperConfig, Line, Role, TestCounts};
use crate::model::json_fields::Fields;

impl Role {
    fn as_str(self) -> &'static str {
        match self {
            Role::Rustc => "rustc",
            Role::Runner => "runner",
            Role::Rustdoc => "rustdoc",
        }
    }
}

impl Serialize for Role {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Role {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == text)
            .ok_or_else(|| D::Error::unknown_variant(&text, &["rustc", "runner", "rustdoc"]))
    }
}

impl Serialize for HelperConfig {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut o = s.serialize_struct("HelperConfig", 4)?;
        o.serialize_field("rustc_wrapper", &self.rustc_wrapper)?;
        o.serialize_field("runners", &self.runners)?;
        o.serialize_field("rustdoc", &self.rustdoc)?;
        o.serialize_field("restore", &self.restore)?;
        o.end()
    }
}

impl<'de> Deserialize<'de> for HelperConfig {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut f = Fields::read(d, "HelperConfig", None)?;
        Ok(HelperConfig {
            rustc_wrapper: f.take("rustc_wrapper")?,
            runners: f.take("runners")?,
            rustdoc: f.take_opt("rustdoc")?,
            restore: f.take("restore")?,
        })
    }
}

impl Serialize for TestCounts {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut o = s.serialize_struct("TestCounts", 3)?;
        o.serialize_field("passed", &self.passed)?;
        o.serialize_field("failed", &self.failed)?;
        o.serialize_field("ignored", &self.ignored)?;
        o.end()
    }
}

impl<'de> Deserialize<'de> for TestCounts {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut f = Fields::read(d, "TestCounts", None)?;
        Ok(TestCounts {
            passed: f.take("passed")?,
            failed: f.take("failed")?,
            ignored: f.take("ignored")?,
        })
    }
}

impl Serialize for Line {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Line::Start {
                id,
                role,
                at_ns,
                args,
                env,
            } => {
                let mut o = s.serialize_struct("Line", 6)?;
                o.serialize_field("line", "start")?;
                o.serialize_field("id", id)?;
                o.serialize_field("role", role)?;
                o.serialize_field("at_ns", at_ns)?;
                o.serialize_field("args", args)?;
                o.serialize_field("env", env)?;
                o.end()
            }
            Line::End {
                id,
                at_ns,
                code,
                signal,
                tests,
            } => {
                let mut o = s.serialize_struct("Line", 6)?;
                o.serialize_field("line", "end")?;
                o.serialize_field("id", id)?;
                o.serialize_field("at_ns", at_ns)?;
                o.serialize_field("code", code)?;
                o.serialize_field("signal", signal)?;
                o.serialize_field("tests", tests)?;
                o.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Line {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut f = Fields::read(d, "Line", None)?;
        let tag: String = f.take("line")?;
        match tag.as_str() {
            "start" => Ok(Line::Start {
                id: f.take("id")?,
                role: f.take("role")?,
                at_ns: f.take("at_ns")?,
                args: f.take("args")?,
                env: f.take("env")?,
            }),
            "end" => Ok(Line::End {
                id: f.take("id")?,
                at_ns: f.take("at_ns")?,
                code: f.take_opt("code")?,
                signal: f.take_opt("signal")?,
                tests: f.take_opt("tests")?,
            }),
            other => Err(D::Error::unknown_variant(other, &["start", "end"])),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::BTreeMap;

    use super::*;

    /// The text derives wrote, which a helper of the release before reads and writes.
    #[test]
    fn the_text_is_the_derived_one() {
        let end = Line::End {
            id: 1,
            at_ns: 2,
            code: None,
            signal: Some(9),
            tests: None,
        };
        let text = r#"{"line":"end","id":1,"at_ns":2,"code":null,"signal":9,"tests":null}"#;
        assert_eq!(serde_json::to_string(&end).unwrap(), text);
        assert_eq!(serde_json::from_str::<Line>(text).unwrap(), end);
        let start = r#"{"line":"start","id":3,"role":"rustdoc","at_ns":4,"args":["--test"],"env":{"A":"b"},"new":0}"#;
        assert_eq!(
            serde_json::from_str::<Line>(start).unwrap(),
            Line::Start {
                id: 3,
                role: Role::Rustdoc,
                at_ns: 4,
                args: vec!["--test".into()],
                env: BTreeMap::from([("A".into(), "b".into())]),
            }
        );
        assert!(serde_json::from_str::<Line>(r#"{"line":"middle","id":1}"#).is_err());
        let config = HelperConfig {
            rustc_wrapper: vec!["sccache".into()],
            runners: BTreeMap::new(),
            rustdoc: None,
            restore: vec![("RUSTC_WRAPPER".into(), None)],
        };
        let text = r#"{"rustc_wrapper":["sccache"],"runners":{},"rustdoc":null,"restore":[["RUSTC_WRAPPER",null]]}"#;
        assert_eq!(serde_json::to_string(&config).unwrap(), text);
        assert_eq!(serde_json::from_str::<HelperConfig>(text).unwrap(), config);
    }
}
