//! `TRUNK_EVENTS_FILE`: every finished event as one JSON line.
//!
//! Several processes (an xtask and each build script cargo runs) append to the same file at
//! once, in whole lines ([`append`]).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::config::detect::process_info::ProcessInfo;
use crate::pipeline::json::EventEncoder;
use crate::pipeline::sink::Sink;
use crate::platform::append;
use crate::record::Record;

#[derive(Debug)]
pub(crate) struct EventsFile {
    encoder: EventEncoder,
    path: PathBuf,
    file: Option<File>,
    buf: Vec<u8>,
    failed: bool,
}

impl EventsFile {
    pub(crate) fn new(path: &Path, info: ProcessInfo) -> Self {
        EventsFile {
            encoder: EventEncoder::new(&info),
            path: path.to_owned(),
            file: None,
            buf: Vec::new(),
            failed: false,
        }
    }

    fn write_pending(&mut self) {
        if self.buf.is_empty() || self.failed {
            self.buf.clear();
            return;
        }
        if let Err(e) = self.write_lines() {
            self.failed = true;
            crate::log!(
                Error,
                "cannot append events to TRUNK_EVENTS_FILE {}: {e}; the events file stays incomplete",
                self.path.display()
            );
        }
        self.buf.clear();
    }

    fn write_lines(&mut self) -> std::io::Result<()> {
        if self.file.is_none() {
            self.file = Some(append::open_append(&self.path)?);
        }
        match self.file.as_mut() {
            Some(file) => append::write_lines(file, &self.buf),
            None => Ok(()),
        }
    }
}

impl Sink for EventsFile {
    fn take(&mut self, record: &Record, _now: Instant) {
        if self.failed {
            return;
        }
        self.encoder.encode(record, &mut self.buf);
        self.buf.push(b'\n');
        if append::is_full(&self.buf) {
            self.write_pending();
        }
    }

    fn caught_up(&mut self) {
        self.write_pending();
    }
}
