//! JSON written straight into a byte buffer, with exactly serde_json's spelling (the wire
//! types in `wire` are serialized by serde_json, and both must agree byte for byte): the
//! primitives ([`text`]) and a finished record as a wire event ([`event`]).

pub(crate) mod event;
pub(crate) mod text;

pub(crate) use event::EventEncoder;
