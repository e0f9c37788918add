//! The slow path. Finished records come through the hand-off to one background thread
//! ([`worker`]), which hands each to every configured sink (the [`sink`] trait), one module
//! per destination in [`sinks`]: the Trunk `trackEvents` uploader and the OTLP/HTTP trace
//! exporter, each on its own instance of the delivery machinery of [`delivery`], the events
//! file, the trace file and the tree summary. [`json`] writes the wire JSON straight from a
//! record, [`upload_status`] tells the summary what became of uploading, and [`diagnose`]
//! holds the read-only views `doctor` shows.
//!
//! Choices worth knowing:
//! - **Memory bound.** `Tuning::memory_events` bounds what a remote sink holds (encoded,
//!   waiting for the network): past it, sealed batches go to the spool at once. It also
//!   bounds the records waiting in the hand-off. A burst the sinks cannot take at once is
//!   kept compact in an overflow (`record::overflow`), in memory up to a byte bound and then
//!   in a file beside the spool: by the background thread while the hand-off backs up, and
//!   by the senders themselves when the hand-off is at its bound (the senders' overflow);
//!   senders never block. Only past those bounds is a record dropped and counted. With no
//!   usable spool, the hand-off takes nothing more while a sink's memory is full. A full
//!   spool evicts its oldest files (counted as dropped too).
//! - **No repository.** With a token but no repository (`TRUNK_REPO`, CI variables, git
//!   origin), no request body can be formed, nor a spool file: one error line says so, the
//!   events still reach `TRUNK_EVENTS_FILE`, and flushes count them as dropped.
//! - **Spool partitions.** One per sink and endpoint: for `trackEvents` per repository and
//!   endpoint, so a token only ever sends the events its own repository's runs recorded; for
//!   OTLP per endpoint and encoding. Each remote sink has its own breaker marker too, so one
//!   dead endpoint never delays the other sink.
//! - **Replay.** Spool files (from earlier runs, or written by this one) are sent when no
//!   own batch waits. A flush at exit also keeps replaying until the spool is empty or its
//!   deadline passes — the last chance for short-lived processes such as build scripts —
//!   while a plain flush returns once this process's own events are settled.
//! - **One uploader per run.** A process under an uploading ancestor, or built without the
//!   `upload` feature, has remote sinks that only spool (`config::delivery`): each sealed
//!   batch is written to its partition at once, under the uploader's spool root when it
//!   hands over. A process that sends lists its spool at least every
//!   [`RELIST_SENDING`](delivery::spool::RELIST_SENDING), so what the processes under it
//!   hand over goes out with its own batches while it runs, and at its exit flush.
//! - **Breaker.** Two connection failures in a row, or a request still unanswered when an
//!   exit deadline cuts it (after ≥ 250 ms), open the shared breaker for
//!   `Tuning::breaker_cooldown`; 5xx and 429 do not (the endpoint is there, just unhappy).

mod delivery;
pub mod diagnose;
mod json;
mod sink;
mod sinks;
mod upload_status;
mod worker;

use crate::config::Config;
use crate::config::delivery::Delivery;
use crate::handoff::{self, Producer};
pub(crate) use sinks::summary::peek_chain;

/// Starts the background thread for `config` and returns the senders' end of its channel;
/// its remote sinks deliver as `delivery` says.
pub(crate) fn start(config: Config, delivery: Delivery) -> Producer {
    let (producer, consumer) = handoff::channel(
        config.tuning.batch_size,
        config.tuning.memory_events,
        worker::overflow_bounds(&config),
    );
    if let Err(e) = worker::spawn(config, delivery, consumer) {
        crate::log!(
            Error,
            "cannot start the background thread: {e}; events are not recorded"
        );
    }
    producer
}
