//! JSON written straight into a byte buffer, with exactly serde_json's spelling (the wire
//! types in `wire` are serialized by serde_json, and both must agree byte for byte): the
//! primitives ([`text`]) and a finished record as a wire event ([`event`]); for tests only,
//! the owned form the encoder is checked against (`wire_event`).

pub(crate) mod event;
pub(crate) mod text;
// The owned form, the reference the direct encoder is tested against.
#[cfg(test)]
pub(crate) mod wire_event;

pub(crate) use event::EventEncoder;
