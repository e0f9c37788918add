//! Records become wire JSON, once, on the background thread: into the batch being filled and,
//! from the same bytes, into the local sinks (events file, tree summary).

use std::time::Instant;

use super::batch::BatchBuilder;
use crate::config::Config;
use crate::context::{Chain, ParentRef};
use crate::encode::{self, ProcessInfo};
use crate::event::Record;
use crate::local::{EventsFile, Node, Summary};

#[derive(Debug)]
pub(crate) struct Encoder {
    info: ProcessInfo,
    events_file: Option<EventsFile>,
    summary: Option<Summary>,
    uploading: bool,
}

impl Encoder {
    pub(crate) fn new(config: &Config, info: ProcessInfo) -> Encoder {
        Encoder {
            info,
            events_file: config.events_file.as_deref().map(EventsFile::new),
            summary: (config.summary && crate::log::enabled(crate::LogLevel::Error))
                .then(Summary::default),
            uploading: config.token.is_some(),
        }
    }

    /// Encodes `record` into `batch` (when uploading) and the local sinks. Returns whether
    /// the batch got it.
    pub(crate) fn encode(
        &mut self,
        record: &Record,
        batch: Option<&mut BatchBuilder>,
        now: Instant,
    ) -> bool {
        let event = encode::encode(record, &self.info);
        let mut pushed = false;
        match batch {
            Some(batch) => {
                let json = batch.push_with(now, |buf| serde_json::to_writer(buf, &event));
                pushed = json.is_some();
                if let (Some(json), Some(file)) = (json, self.events_file.as_mut()) {
                    file.push_json(json);
                }
            }
            None => {
                if let Some(file) = self.events_file.as_mut() {
                    file.push(&event);
                }
            }
        }
        self.summarize(record);
        pushed
    }

    fn summarize(&mut self, record: &Record) {
        let Some(summary) = self.summary.as_mut() else {
            return;
        };
        let Chain::Local(chain) = record.frame.chain else {
            return;
        };
        let node = Node {
            id: record.frame.id,
            parent: match &record.frame.parent {
                Some(ParentRef::Local { id, .. }) => Some(*id),
                Some(ParentRef::Remote(_) | ParentRef::Inherited) => Some(0),
                None => None,
            },
            chain,
            name: record.frame.meta.name().to_owned(),
            conclusion: record.conclusion,
            duration_ms: encode::duration_ms(record),
            start: record.frame.start,
        };
        summary.add(node);
    }

    /// Prints the trees of the roots that ended; call once everything recorded so far has
    /// been encoded (the hand-off ran empty, or a flush arrived).
    pub(crate) fn print_summaries(&mut self) {
        let Some(summary) = self.summary.as_mut() else {
            return;
        };
        let trees = summary.take_ended(self.uploading);
        if trees.is_empty() {
            return;
        }
        // The events file first, so a reader who sees the summary finds every event.
        self.write_pending();
        let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), trees.concat().as_bytes());
    }

    /// Writes the events file's pending lines.
    pub(crate) fn write_pending(&mut self) {
        if let Some(f) = self.events_file.as_mut() {
            f.write_pending();
        }
    }
}
