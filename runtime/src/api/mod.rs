//! The top: [`global`], the only module that installs process-wide state (the first event
//! or `init` sets the runtime up), and the public API that needs the runtime set up first:
//! carrying the current event to threads, tasks and child processes ([`propagation`]),
//! events that are not one function call ([`manual`]) and handed over to another process
//! ([`handover`]), a cargo command's work as events (`cargo`, with the `cargo` feature), and
//! `tracing` spans as events (`tracing_layer`, with the `tracing` feature).

#[cfg(feature = "cargo")]
pub(crate) mod cargo;
pub(crate) mod global;
pub(crate) mod handover;
pub(crate) mod manual;
pub(crate) mod propagation;
#[cfg(feature = "tracing")]
pub(crate) mod tracing_layer;
