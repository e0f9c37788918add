//! The JSON objects of our types, read and written by hand rather than derived: `serde_derive`
//! and the second `syn` it brings were the longest chain of a cold build of a build script on
//! the library (13.7 s of 24.7 s, BENCHMARKS.md "Light in build scripts"), and a build-dependency compiles
//! them before anything else of ours. What the derives did is kept: absent optional fields
//! read as `None` (and `null` too), present ones are written only when set, and types that
//! refused unknown fields still do.

use serde::de::{DeserializeOwned, Deserializer, Error};
use serde::ser::SerializeStruct;
use serde_json::{Map, Value};

/// The fields of one JSON object, taken one by one.
#[derive(Debug)]
pub(crate) struct Fields(Map<String, Value>);

impl Fields {
    /// The object `d` holds; with `known`, one with a field not in it is refused.
    pub(crate) fn read<'de, D: Deserializer<'de>>(
        d: D,
        what: &'static str,
        known: Option<&[&str]>,
    ) -> Result<Fields, D::Error> {
        let Value::Object(map) = <Value as serde::Deserialize>::deserialize(d)? else {
            return Err(D::Error::custom(format_args!("{what}: expected an object")));
        };
        if let Some(known) = known {
            if let Some(field) = map.keys().find(|k| !known.contains(&k.as_str())) {
                return Err(D::Error::unknown_field(field, &[]));
            }
        }
        Ok(Fields(map))
    }

    /// A field that must be there.
    pub(crate) fn take<T: DeserializeOwned, E: Error>(
        &mut self,
        name: &'static str,
    ) -> Result<T, E> {
        match self.0.remove(name) {
            Some(value) => {
                T::deserialize(value).map_err(|e| E::custom(format_args!("{name}: {e}")))
            }
            None => Err(E::missing_field(name)),
        }
    }

    /// A field that may be absent (or `null`).
    pub(crate) fn take_opt<T: DeserializeOwned, E: Error>(
        &mut self,
        name: &'static str,
    ) -> Result<Option<T>, E> {
        match self.0.remove(name) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => T::deserialize(value)
                .map(Some)
                .map_err(|e| E::custom(format_args!("{name}: {e}"))),
        }
    }
}

/// Writes an optional field only when it is set (what `skip_serializing_if` did).
pub(crate) fn field_opt<S: SerializeStruct, T: serde::Serialize>(
    s: &mut S,
    name: &'static str,
    value: Option<&T>,
) -> Result<(), S::Error> {
    match value {
        Some(v) => s.serialize_field(name, v),
        None => s.skip_field(name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    struct Two {
        a: u32,
        b: Option<String>,
    }

    impl<'de> serde::Deserialize<'de> for Two {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            let mut f = Fields::read(d, "Two", Some(&["a", "b"]))?;
            Ok(Two {
                a: f.take("a")?,
                b: f.take_opt("b")?,
            })
        }
    }

    #[test]
    fn fields_read_as_the_derives_did() {
        let two = |text: &str| serde_json::from_str::<Two>(text).map_err(|e| e.to_string());
        assert_eq!(two(r#"{"a":1}"#), Ok(Two { a: 1, b: None }));
        assert_eq!(two(r#"{"a":1,"b":null}"#), Ok(Two { a: 1, b: None }));
        assert_eq!(
            two(r#"{"b":"x","a":2}"#),
            Ok(Two {
                a: 2,
                b: Some("x".into())
            })
        );
        assert!(two(r#"{"b":"x"}"#).is_err_and(|e| e.contains("missing field `a`")));
        assert!(two(r#"{"a":1,"c":0}"#).is_err_and(|e| e.contains("unknown field `c`")));
        assert!(two(r#"{"a":"one"}"#).is_err_and(|e| e.contains("a:")));
        assert!(two("[1]").is_err());
    }
}
