//! The slow path, behind one channel: the background thread turns records into wire
//! events and hands them to the local sinks (and, with a token, to the uploader).

mod report;

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

pub use report::FlushReport;

use crate::config::Config;
use crate::encode::{self, ProcessInfo};
use crate::event::Record;
use crate::local::{EventsFile, Node, Summary};

enum Msg {
    Record(Record),
    Flush(Sender<FlushReport>, Instant),
}

/// Handle held by the process-wide runtime.
#[derive(Debug)]
pub(crate) struct Pipeline {
    tx: Sender<Msg>,
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Msg::Record(_) => "Record",
            Msg::Flush(..) => "Flush",
        })
    }
}

impl Pipeline {
    pub(crate) fn start(config: Config) -> Pipeline {
        let (tx, rx) = mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("trunk-ci-analytics".into())
            .spawn(move || Worker::new(config).run(rx));
        if let Err(e) = spawned {
            crate::log!(
                Error,
                "cannot start the background thread: {e}; events are not recorded"
            );
        }
        Pipeline { tx }
    }

    #[inline]
    pub(crate) fn submit(&self, record: Record) {
        let _ = self.tx.send(Msg::Record(record));
    }

    pub(crate) fn flush(&self, timeout: Duration) -> FlushReport {
        let (reply, answer) = mpsc::channel();
        let deadline = Instant::now() + timeout;
        if self.tx.send(Msg::Flush(reply, deadline)).is_err() {
            return FlushReport::default();
        }
        // The worker answers by the deadline; the margin covers writing the spool.
        answer
            .recv_timeout(timeout + Duration::from_millis(500))
            .unwrap_or(FlushReport {
                timed_out: true,
                ..FlushReport::default()
            })
    }
}

struct Worker {
    config: Config,
    info: ProcessInfo,
    events_file: Option<EventsFile>,
    summary: Option<Summary>,
}

impl Worker {
    fn new(config: Config) -> Worker {
        let (detected, warnings) = crate::detect::detect(
            &|name| std::env::var(name).ok(),
            &crate::detect::git_remote_origin,
        );
        for w in warnings {
            crate::log!(Warn, "{w}");
        }
        let info = ProcessInfo {
            platform: detected.platform,
            tags: detected.tags,
        };
        let events_file = config.events_file.as_deref().map(EventsFile::new);
        let summary =
            (config.summary && crate::log::enabled(crate::LogLevel::Error)).then(Summary::default);
        Worker {
            config,
            info,
            events_file,
            summary,
        }
    }

    fn run(mut self, rx: Receiver<Msg>) {
        loop {
            match rx.recv_timeout(self.config.tuning.linger) {
                Ok(Msg::Record(r)) => self.handle(r),
                Ok(Msg::Flush(reply, _deadline)) => {
                    self.write_pending();
                    let _ = reply.send(FlushReport::default());
                }
                Err(RecvTimeoutError::Timeout) => self.write_pending(),
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        self.write_pending();
    }

    fn handle(&mut self, record: Record) {
        let event = encode::encode(&record, &self.info);
        if let Some(f) = self.events_file.as_mut() {
            f.push(&event);
        }
        if let Some(summary) = self.summary.as_mut() {
            if let crate::context::Chain::Local(chain) = record.frame.chain {
                let node = Node {
                    id: record.frame.id,
                    parent: match &record.frame.parent {
                        Some(crate::context::ParentRef::Local { id, .. }) => Some(*id),
                        Some(crate::context::ParentRef::Remote(_)) => Some(0),
                        None => None,
                    },
                    chain,
                    name: record.frame.meta.name().to_owned(),
                    conclusion: record.conclusion,
                    duration_ms: encode::duration_ms(&record),
                    start: record.frame.start,
                };
                if let Some(text) = summary.add(node, self.config.token.is_some()) {
                    self.write_pending();
                    let _ =
                        std::io::Write::write_all(&mut std::io::stderr().lock(), text.as_bytes());
                }
            }
        }
    }

    fn write_pending(&mut self) {
        if let Some(f) = self.events_file.as_mut() {
            f.write_pending();
        }
    }
}
