//! `TRUNK_EVENTS_FILE`: every finished event as one JSON line.
//!
//! Several processes (an xtask and each build script cargo runs) append to the same file at
//! once. Each `write` goes to an `O_APPEND` descriptor and holds whole lines only, so lines
//! never interleave or break.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::pipeline::json::EventEncoder;
use crate::pipeline::process::ProcessInfo;
use crate::pipeline::sink::Sink;
use crate::record::Record;

/// Largest single `write`; whole lines only, so one huge batch does not become one syscall
/// that another process's lines must wait behind.
const CHUNK: usize = 64 * 1024;

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
            if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            self.file = Some(
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&self.path)?,
            );
        }
        let Some(file) = self.file.as_mut() else {
            return Ok(());
        };
        let mut rest = &self.buf[..];
        while !rest.is_empty() {
            let cut = if rest.len() <= CHUNK {
                rest.len()
            } else {
                // End the chunk after the last newline within it (or the first line's end).
                match rest[..CHUNK].iter().rposition(|b| *b == b'\n') {
                    Some(i) => i + 1,
                    None => rest
                        .iter()
                        .position(|b| *b == b'\n')
                        .map_or(rest.len(), |i| i + 1),
                }
            };
            file.write_all(&rest[..cut])?;
            rest = &rest[cut..];
        }
        Ok(())
    }
}

impl Sink for EventsFile {
    fn take(&mut self, record: &Record, _now: Instant) {
        if self.failed {
            return;
        }
        self.encoder.encode(record, &mut self.buf);
        self.buf.push(b'\n');
        if self.buf.len() >= CHUNK {
            self.write_pending();
        }
    }

    fn caught_up(&mut self) {
        self.write_pending();
    }
}
