//! Getting batches to an HTTP endpoint and, when it cannot take them, onto disk: the
//! upload state machine ([`uploader`]) over request bodies ([`batch`]), one request ([`http`]),
//! what differs between protocols ([`protocol`]), backoff ([`retry`]), the spool ([`spool`],
//! owner-only through [`private`], claims kept alive by [`liveness`]) and the circuit breaker
//! that processes share ([`breaker`]), set up per sink by [`storage`]; [`remote`] makes an
//! encoder and an uploader one sink.

pub(crate) mod batch;
pub(crate) mod breaker;
pub(crate) mod http;
pub(crate) mod liveness;
pub(crate) mod protocol;
pub(crate) mod remote;
pub(crate) mod retry;
pub(crate) mod spool;
pub(crate) mod storage;
pub(crate) mod uploader;
