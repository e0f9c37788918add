//! Layer 1, the platform: what the runtime needs from the operating system and the process,
//! and nothing about events. Every `libc` call ([`sys`]), the clock ([`clock`]), the
//! one-line diagnostics on stderr ([`log`]), the cancellation signals ([`signals`]),
//! owner-only files and directories ([`owner_only`]), where per-user files live ([`dirs`]),
//! whole lines appended to a file several processes share ([`append`]), what may be a secret
//! taken out of everything printed ([`redact`]), whether a process is an ancestor of this
//! one ([`ancestry`]), and sorting through one copy of the standard library's sort
//! ([`sort`]).

pub(crate) mod ancestry;
pub(crate) mod append;
pub(crate) mod clock;
pub(crate) mod dirs;
#[macro_use]
#[doc(hidden)]
pub mod log;
pub(crate) mod owner_only;
pub mod redact;
pub(crate) mod signals;
pub(crate) mod sort;
pub(crate) mod sys;
