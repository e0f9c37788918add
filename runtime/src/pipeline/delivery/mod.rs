//! Getting batches to an HTTP endpoint and, when it cannot take them, onto disk: the
//! upload state machine ([`uploader`]) over request bodies ([`batch`]), one request and its
//! answer ([`http`]), backoff ([`retry`]), the spool ([`spool`], owner-only through
//! [`private`]) and the circuit breaker that processes share ([`breaker`]).

pub(crate) mod batch;
pub(crate) mod breaker;
pub(crate) mod http;
pub(crate) mod liveness;
pub(crate) mod private;
pub(crate) mod retry;
pub(crate) mod spool;
pub(crate) mod uploader;
