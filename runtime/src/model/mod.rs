//! Layer 2, the model: the data an event is made of, and nothing that runs. The documented
//! JSON of `trackEvents` ([`wire`]) and the contract's rules over it ([`validate`]), how an
//! event ended ([`conclusion`]), the user's tag and metric values ([`values`]) within their
//! byte bounds ([`tag_bytes`]), what an event is of ([`site`]), ids ([`id`]: ours,
//! OpenTelemetry's and the W3C trace context), the error text of `err` ([`error_text`]),
//! what a flush achieved ([`flush_report`]), the names cargo's recorded work goes by
//! ([`cargo`]), and the hand-written JSON objects of these types ([`json_fields`]).

pub(crate) mod cargo;
pub(crate) mod conclusion;
pub(crate) mod error_text;
pub(crate) mod flush_report;
pub(crate) mod id;
pub(crate) mod json_fields;
pub(crate) mod site;
pub(crate) mod tag_bytes;
pub mod validate;
pub(crate) mod values;
pub mod wire;
