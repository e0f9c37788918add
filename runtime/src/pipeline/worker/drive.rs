//! The two ways to run the worker's turns. A process whose sinks send over the network
//! (feature `upload`, and no run's uploader to hand its events to) runs them on a
//! current-thread tokio runtime, which drives the requests in flight. Any other process —
//! files, summaries and the spool only — runs them on the background thread itself, sleeping
//! in `park_timeout` between turns: no async runtime is started, or even compiled in without
//! `upload`. Both sleep until the worker's next due time or its wake-up, whichever comes
//! first; the hand-off wakes either through the waker it is given (`handoff::wake`).

use std::sync::Arc;
use std::task::{Context, Waker};
use std::time::Instant;

use super::{Next, Worker};
use crate::config::Config;
use crate::config::delivery::Delivery;
use crate::handoff::Consumer;

/// Runs the background thread's loop until every sender is gone.
pub(super) fn run(config: &Config, delivery: &Delivery, consumer: Consumer) {
    let worker = Worker::new(config, delivery, consumer);
    #[cfg(feature = "upload")]
    if worker.sends() {
        with_tokio(worker);
        return;
    }
    blocking(worker);
}

/// Wakes the background thread from `park_timeout`.
struct Unpark(std::thread::Thread);

impl std::task::Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// The loop on this thread alone.
fn blocking(mut worker: Worker) {
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    worker.start();
    loop {
        match worker.turn() {
            Next::Stop => break,
            Next::Again => {
                let _ = worker.poll_requests(&mut cx);
            }
            Next::Sleep(due) => {
                // A spurious unpark only costs another look.
                while worker.poll_wake(&mut cx).is_pending() {
                    let now = Instant::now();
                    if now >= due {
                        break;
                    }
                    std::thread::park_timeout(due - now);
                }
            }
        }
    }
    worker.end();
}

/// The loop on a current-thread tokio runtime, which drives the requests in flight.
#[cfg(feature = "upload")]
fn with_tokio(worker: Worker) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build();
    match runtime {
        Ok(runtime) => runtime.block_on(async_loop(worker)),
        Err(e) => crate::log!(
            Error,
            "cannot start the background I/O runtime: {e}; events are not recorded"
        ),
    }
}

#[cfg(feature = "upload")]
async fn async_loop(mut worker: Worker) {
    use std::future::poll_fn;
    use std::pin::pin;
    use std::task::Poll;
    worker.start();
    loop {
        match worker.turn() {
            Next::Stop => break,
            Next::Again => {
                // Let the I/O driver and the requests in flight move, then take more.
                tokio::task::yield_now().await;
                poll_fn(|cx| {
                    let _ = worker.poll_requests(cx);
                    Poll::Ready(())
                })
                .await;
            }
            Next::Sleep(due) => {
                let mut sleep = pin!(tokio::time::sleep_until(due.into()));
                poll_fn(|cx| {
                    if worker.poll_wake(cx).is_ready() || sleep.as_mut().poll(cx).is_ready() {
                        return Poll::Ready(());
                    }
                    Poll::Pending
                })
                .await;
            }
        }
    }
    worker.end();
}
