//! The background thread: one current-thread tokio runtime, one loop.
//!
//! Each turn takes a chunk of records from the channel and encodes them, lets the uploader do
//! what is due (seal, spill, send, settle flushes), then waits — for a sender's or a flush's
//! wake-up, the next timer, or the answer to the request in flight. While records keep
//! coming it only yields between chunks, so the network makes progress during a burst and the
//! channel never waits on the network.

use std::future::poll_fn;
use std::pin::pin;
use std::task::Poll;
use std::time::{Duration, Instant};

use super::FlushReport;
use super::breaker::Breaker;
use super::encoder::Encoder;
use super::http::Http;
use super::queue::{Consumer, Msg, Taken};
use super::retry::Jitter;
use super::spool::{self, Spool};
use super::uploader::Uploader;
use crate::config::Config;
use crate::encode::ProcessInfo;

/// Records taken per turn before the network gets a look-in.
const CHUNK: usize = 1024;

pub(crate) fn spawn(config: Config, consumer: Consumer) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("trunk-ci-analytics".into())
        .spawn(move || run(config, consumer))
        .map(drop)
}

fn run(config: Config, consumer: Consumer) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build();
    let runtime = match runtime {
        Ok(rt) => rt,
        Err(e) => {
            crate::log!(
                Error,
                "cannot start the background I/O runtime: {e}; events are not recorded"
            );
            return;
        }
    };
    let _enter = runtime.enter();
    let worker = Worker::new(config, consumer);
    runtime.block_on(worker.run());
}

struct Worker {
    consumer: Consumer,
    encoder: Encoder,
    uploader: Option<Uploader>,
    /// Without an uploader: what flushes report (events that could not be uploaded).
    report: FlushReport,
    /// A token but nowhere to upload to (no repository): every event counts as dropped.
    undeliverable: bool,
    tick: Duration,
    /// The memory bound, for messages.
    bound: usize,
}

impl Worker {
    fn new(config: Config, consumer: Consumer) -> Worker {
        let uploading = config.token.is_some();
        let no_git = || None;
        let git: &dyn Fn() -> Option<String> = if config.repo.is_some() || !uploading {
            &no_git
        } else {
            &crate::detect::git_remote_origin
        };
        let (detected, warnings) = crate::detect::detect(&|name| std::env::var(name).ok(), git);
        if uploading {
            for w in warnings {
                crate::log!(Warn, "{w}");
            }
        }
        let repo = config.repo.clone().or(detected.repo);
        let info = ProcessInfo {
            platform: detected.platform,
            tags: detected.tags,
        };
        let encoder = Encoder::new(&config, info);
        let mut undeliverable = false;
        let uploader = match (&config.token, repo) {
            (None, _) => None,
            (Some(_), None) => {
                crate::log!(
                    Error,
                    "no repository to upload events for: set TRUNK_REPO=owner/name (or run in a \
                     git checkout whose origin is on github.com); this process's events are not \
                     uploaded{}",
                    if config.events_file.is_some() {
                        " (they are still written to TRUNK_EVENTS_FILE)"
                    } else {
                        ""
                    }
                );
                undeliverable = true;
                None
            }
            (Some(_), Some(repo)) => {
                let up = uploader(&config, &repo);
                undeliverable = up.is_none();
                up
            }
        };
        Worker {
            consumer,
            encoder,
            uploader,
            report: FlushReport::default(),
            undeliverable,
            tick: (config.tuning.linger / 2).max(Duration::from_millis(10)),
            bound: config.tuning.memory_events,
        }
    }

    async fn run(mut self) {
        loop {
            let now = Instant::now();
            let taken = self.drain(now);
            self.settle(now);
            self.consumer.settled();
            if taken == Taken::Closed && !self.uploader.as_ref().is_some_and(Uploader::has_flushes)
            {
                break;
            }
            if taken == Taken::More {
                // Let the I/O driver and the request in flight move, then take the next chunk.
                tokio::task::yield_now().await;
                if let Some(up) = self.uploader.as_mut() {
                    poll_fn(|cx| {
                        let _ = up.poll_request(cx);
                        Poll::Ready(())
                    })
                    .await;
                }
                continue;
            }
            self.wait(now).await;
        }
        self.encoder.write_pending();
    }

    /// Takes up to a chunk of messages: records are encoded, flushes registered.
    fn drain(&mut self, now: Instant) -> Taken {
        // Before any flush in this chunk answers: what was dropped so far is its business.
        self.collect_refused();
        let Worker {
            consumer,
            encoder,
            uploader,
            report,
            undeliverable,
            bound,
            ..
        } = self;
        let taken = consumer.take(CHUNK, |msg| match msg {
            Msg::Record(record) => {
                let pushed = encoder.encode(&record, uploader.as_mut().map(Uploader::builder), now);
                match uploader.as_mut() {
                    Some(up) if pushed => up.pushed(),
                    Some(up) => up.count_dropped(1),
                    None if *undeliverable => report.dropped += 1,
                    None => {}
                }
            }
            Msg::Flush(request) => {
                // Records dropped while this chunk was taken were sent before the flush too.
                count_refused(consumer, uploader, report, *bound);
                // Every event recorded before the flush has been encoded by now.
                encoder.print_summaries();
                // The events file holds everything before the flush when it returns.
                encoder.write_pending();
                match uploader.as_mut() {
                    Some(up) => up.add_flush(request, now),
                    None => {
                        let _ = request.reply.send(std::mem::take(report));
                    }
                }
            }
        });
        if taken != Taken::More {
            // The hand-off ran empty: every event recorded before now has been encoded.
            self.encoder.print_summaries();
        }
        self.encoder.write_pending();
        taken
    }

    fn settle(&mut self, now: Instant) {
        self.collect_refused();
        if let Some(up) = self.uploader.as_mut() {
            let refuse = up.step(now);
            self.consumer.set_refuse(refuse);
            self.consumer.set_held(up.held());
        }
    }

    /// Counts the records `submit_frame` dropped (said once on stderr).
    fn collect_refused(&mut self) {
        count_refused(
            &self.consumer,
            &mut self.uploader,
            &mut self.report,
            self.bound,
        );
    }

    /// Sleeps until a wake-up, the next due time, or the answer of the request in flight.
    async fn wait(&mut self, now: Instant) {
        let mut due = now + self.tick;
        if let Some(t) = self.uploader.as_ref().and_then(Uploader::next_due) {
            due = due.min(t);
        }
        let mut sleep = pin!(tokio::time::sleep_until(due.into()));
        let mut woken = pin!(self.consumer.shared.wake.notified());
        let uploader = &mut self.uploader;
        poll_fn(|cx| {
            if let Some(up) = uploader.as_mut() {
                if up.poll_request(cx).is_ready() {
                    return Poll::Ready(());
                }
            }
            if woken.as_mut().poll(cx).is_ready() || sleep.as_mut().poll(cx).is_ready() {
                return Poll::Ready(());
            }
            Poll::Pending
        })
        .await;
    }
}

/// Counts the records `submit_frame` dropped since the last call (said once on stderr).
fn count_refused(
    consumer: &Consumer,
    uploader: &mut Option<Uploader>,
    report: &mut FlushReport,
    bound: usize,
) {
    let refused = consumer.take_refused();
    if refused == 0 {
        return;
    }
    match uploader.as_mut() {
        Some(up) if !up.spool_usable() => {
            crate::log_once!(
                Warn,
                "events are dropped: memory is full and there is no spool (counted in the \
                 flush report)"
            );
            up.count_dropped(refused);
        }
        Some(up) => {
            log_too_fast(bound);
            up.count_dropped(refused);
        }
        None => {
            log_too_fast(bound);
            report.dropped += refused;
        }
    }
}

fn log_too_fast(bound: usize) {
    crate::log_once!(
        Warn,
        "events are recorded faster than they can be sent or spooled: past {bound} waiting, \
         new ones are dropped (counted in the flush report); is #[track_event] on a function \
         called in a hot loop?"
    );
}

/// Sets up uploading for `repo`: spool, breaker, HTTP client. `None` (said once on stderr)
/// when the client cannot be built.
fn uploader(config: &Config, repo: &crate::wire::Repo) -> Option<Uploader> {
    let token = config.token.as_ref()?;
    let tuning = config.tuning.clone();
    let http = match Http::new(&config.api_address, token, tuning.request_timeout) {
        Ok(http) => http,
        Err(e) => {
            crate::log!(Error, "{e}; this process's events are not uploaded");
            return None;
        }
    };
    let tag = format!("{:x}{:04x}", std::process::id(), Jitter::new().tag());
    let root = config.spool_dir.clone().unwrap_or_else(spool::default_root);
    let mut spool = Spool::new(
        root,
        &spool::partition(&config.api_address, repo),
        tuning.spool_bytes,
        tag.clone(),
    );
    let spool = match spool.ensure_dir() {
        Ok(()) => Some(spool),
        Err(e) => {
            crate::log!(
                Error,
                "cannot use the spool directory ({e}); events the network cannot take are \
                 dropped (set TRUNK_SPOOL_DIR to a writable directory)"
            );
            None
        }
    };
    let breaker = Breaker::new(
        spool.as_ref().map(|s| s.root().to_owned()),
        &config.api_address,
        tag,
        tuning.breaker_cooldown,
        tuning.request_timeout,
    );
    let repo_json = serde_json::to_vec(repo).unwrap_or_default();
    Some(Uploader::new(tuning, http, &repo_json, spool, breaker))
}
