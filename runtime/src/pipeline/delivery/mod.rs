//! Getting batches to an HTTP endpoint and, when it cannot take them, onto disk: the
//! upload state machine ([`uploader`]) over request bodies ([`batch`], [`body`]), one request
//! ([`http`]), what differs between protocols ([`protocol`]), backoff ([`retry`]), the spool
//! ([`spool`]) and the circuit breaker that processes share ([`breaker`]), both opened per
//! sink by [`on_disk`]; [`remote`] makes an encoder and an uploader one sink. Without the
//! `upload` feature, [`http`] is a type with no values: the same uploader then only spools.

pub(crate) mod batch;
pub(crate) mod body;
pub(crate) mod breaker;
#[cfg(feature = "upload")]
pub(crate) mod http;
#[cfg(not(feature = "upload"))]
#[path = "no_http.rs"]
pub(crate) mod http;
pub(crate) mod on_disk;
pub(crate) mod protocol;
pub(crate) mod remote;
pub(crate) mod retry;
pub(crate) mod spool;
pub(crate) mod transport;
pub(crate) mod uploader;
