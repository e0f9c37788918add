//! How a request handler ends its own connection (the `Reset` and `Stall` faults), kept apart
//! from the connection code so the handler need not know how connections are served.

use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Notify;

/// Lets a request handler end its own connection.
#[derive(Debug, Default)]
pub(crate) struct Control {
    abort: Notify,
    reset: AtomicBool,
}

impl Control {
    /// Closes the connection without answering; with `reset`, by a TCP RST instead of a FIN.
    pub(crate) fn abort(&self, reset: bool) {
        self.reset.store(reset, Ordering::SeqCst);
        // `notify_one` keeps a permit if `serve` is not waiting at this instant.
        self.abort.notify_one();
    }

    /// Resolves once [`abort`](Self::abort) was called, even if that happened before.
    pub(crate) async fn aborted(&self) {
        self.abort.notified().await;
    }

    /// Whether the connection is to end by a RST.
    pub(crate) fn is_reset(&self) -> bool {
        self.reset.load(Ordering::SeqCst)
    }
}
