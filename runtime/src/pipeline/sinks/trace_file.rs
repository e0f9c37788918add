//! `TRUNK_TRACE_FILE`: every finished event of the run, from every process of the chain, as
//! one Chrome Trace Event Format file (JSON Array Format) that ui.perfetto.dev and
//! chrome://tracing open: a lane per process and thread, a complete (`"X"`) slice per event.
//!
//! The format lets the closing `]` be left out so that writers can append concurrently:
//! the file's first line is `[` with one event, every later line `,{event}`, so appending
//! `]` makes it strict JSON. The file is made whole with its first line
//! ([`append::create_whole`]), so no process ever sees it without; after that every process
//! appends whole lines ([`append`]). Like the events file it is the owner's alone (0600).
//!
//! No process ever truncates or replaces the file: one that did not inherit a context may
//! still run beside others of the same run (an untracked script starting two tracked
//! tools), whose open descriptors would then write into a file nobody sees.

use std::collections::HashSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use serde_json::{Map, Value, json};

use crate::Conclusion;
use crate::handoff::ThreadNames;
use crate::model::cargo::TAG_PATH_POSITION;
use crate::model::id;
use crate::model::wire::TagValue;
use crate::pipeline::sink::Sink;
use crate::platform::append;
use crate::platform::clock;
use crate::record::Record;
use crate::record::lineage::ParentRef;

#[derive(Debug)]
pub(crate) struct TraceFile {
    path: PathBuf,
    file: Option<File>,
    buf: Vec<u8>,
    failed: bool,
    pid: u32,
    /// What the process lane is called until a top-level event names it.
    binary: String,
    names: Arc<ThreadNames>,
    /// Threads whose lane has been named.
    threads: HashSet<u64>,
    /// Whether a top-level event has named the process lane.
    named: bool,
}

impl TraceFile {
    /// A trace file at `path`, opened (created if needed) at once.
    pub(crate) fn new(path: &Path, names: Arc<ThreadNames>) -> TraceFile {
        let mut trace = TraceFile {
            path: path.to_owned(),
            file: None,
            buf: Vec::new(),
            failed: false,
            pid: std::process::id(),
            binary: binary_name(),
            names,
            threads: HashSet::new(),
            named: false,
        };
        if let Err(e) = trace.open() {
            trace.fail(&e);
        }
        trace
    }

    fn fail(&mut self, e: &std::io::Error) {
        self.failed = true;
        self.buf = Vec::new();
        crate::log!(
            Error,
            "cannot write TRUNK_TRACE_FILE {}: {e}; the trace stays incomplete",
            self.path.display()
        );
    }

    /// Opens the file for appending; creates it with its first line if it does not exist.
    fn open(&mut self) -> std::io::Result<()> {
        let mut first = b"[".to_vec();
        first.extend(self.process_name_line());
        append::create_whole(&self.path, &first)?;
        self.file = Some(append::open_append(&self.path)?);
        // Every process names its own lane, the file's creator included (again: harmless).
        let line = self.process_name_line();
        self.push(&line);
        Ok(())
    }

    fn process_name_line(&self) -> Vec<u8> {
        let mut line = metadata(self.pid, 0, "process_name", &self.binary);
        line.push(b'\n');
        line
    }

    /// Appends `line` (one JSON value, no separator) as `,value\n` to what waits.
    fn push(&mut self, line: &[u8]) {
        self.buf.push(b',');
        self.buf.extend_from_slice(line);
        if self.buf.last() != Some(&b'\n') {
            self.buf.push(b'\n');
        }
    }

    fn push_value(&mut self, value: &Value) {
        if let Ok(line) = serde_json::to_vec(value) {
            self.push(&line);
        }
    }

    fn write_pending(&mut self) {
        if self.buf.is_empty() || self.failed {
            return;
        }
        let written = match self.file.as_mut() {
            Some(file) => append::write_lines(file, &self.buf),
            None => Ok(()),
        };
        self.buf.clear();
        if let Err(e) = written {
            self.fail(&e);
        }
    }

    /// Names the lanes `record` goes into, the first time they are used.
    fn name_lanes(&mut self, record: &Record, thread: u64) {
        if self.threads.insert(thread) {
            let name = self.names.get(thread).unwrap_or_else(|| {
                if thread == u64::from(self.pid) {
                    "main".to_owned()
                } else {
                    format!("thread {thread}")
                }
            });
            let line = metadata(self.pid, thread, "thread_name", &name);
            self.push(&line);
        }
        // The first event that is top-level in this process names it, as the summary does.
        let top = !matches!(record.frame.parent, Some(ParentRef::Local { .. }));
        if top && !self.named {
            self.named = true;
            if record.frame.meta.name() == self.binary {
                return;
            }
            let name = format!("{} · {}", record.frame.meta.name(), self.binary);
            let line = metadata(self.pid, 0, "process_name", &name);
            self.push(&line);
        }
    }
}

impl Sink for TraceFile {
    fn take(&mut self, record: &Record, now: Instant) {
        self.take_from(record, 0, now);
    }

    fn take_from(&mut self, record: &Record, thread: u64, _now: Instant) {
        if self.failed {
            return;
        }
        self.name_lanes(record, thread);
        let slice = slice(record, self.pid, thread);
        self.push_value(&slice);
        if append::is_full(&self.buf) {
            self.write_pending();
        }
    }

    fn caught_up(&mut self) {
        self.write_pending();
    }
}

/// A metadata event naming a process (`tid` 0) or thread lane.
fn metadata(pid: u32, tid: u64, what: &str, name: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "name": what, "ph": "M", "pid": pid, "tid": tid, "args": {"name": name}
    }))
    .unwrap_or_default()
}

/// The complete slice of `record`: times in µs with the clock's sub-µs part; failures
/// named with their symbol and coloured.
fn slice(record: &Record, pid: u32, tid: u64) -> Value {
    let frame = &record.frame;
    let meta = &frame.meta;
    let name = match record.conclusion {
        Conclusion::Success => meta.name().to_owned(),
        other => format!("{} {}", other.symbol(), meta.name()),
    };
    let mut args = Map::new();
    args.insert("conclusion".into(), record.conclusion.as_str().into());
    args.insert("kind".into(), meta.kind().into());
    args.insert("key".into(), meta.key().into());
    args.insert("id".into(), id::format(frame.id).into());
    if let Some(parent) = &frame.parent {
        args.insert("parent_id".into(), parent.event_id().into());
    }
    args.insert("chain_id".into(), frame.chain.to_wire().into());
    args.insert("duration_ms".into(), number(record.duration_ms()));
    if let Some(extras) = frame.extras.as_deref() {
        let mut tags = Map::new();
        for (k, v) in extras.tags.iter().chain(&extras.sequence_tags) {
            tags.insert(k.to_string(), tag_value(v));
        }
        if !tags.is_empty() {
            args.insert("tags".into(), Value::Object(tags));
        }
        let metrics: Map<String, Value> = extras
            .metrics
            .iter()
            .map(|(k, v)| (k.to_string(), number(*v)))
            .collect();
        if !metrics.is_empty() {
            args.insert("metrics".into(), Value::Object(metrics));
        }
    }
    // A unit on a cargo step's critical path is in a category of its own too (filterable)
    // and drawn in a colour of its own.
    let critical = frame
        .extras
        .as_deref()
        .is_some_and(|e| e.tags.iter().any(|(k, _)| k == TAG_PATH_POSITION));
    let cat = if critical {
        format!("{},critical_path", meta.kind())
    } else {
        meta.kind().to_owned()
    };
    let mut slice = json!({
        "name": name,
        "cat": cat,
        "ph": "X",
        "ts": micros(clock::epoch_us(frame.start)),
        "dur": micros(record.duration_ms() * 1e3),
        "pid": pid,
        "tid": tid,
        "args": Value::Object(args),
    });
    let colour = match record.conclusion {
        Conclusion::Success if critical => Some("yellow"),
        Conclusion::Success | Conclusion::Skipped => None,
        Conclusion::Failure => Some("terrible"),
        Conclusion::Cancelled | Conclusion::TimedOut => Some("bad"),
    };
    if let (Some(c), Some(obj)) = (colour, slice.as_object_mut()) {
        obj.insert("cname".into(), c.into());
    }
    slice
}

/// Microseconds rounded to the nanosecond (a reading's own precision).
fn micros(us: f64) -> Value {
    number((us * 1e3).round() / 1e3)
}

/// A JSON number, or null for what JSON cannot carry.
fn number(v: f64) -> Value {
    serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
}

fn tag_value(v: &TagValue) -> Value {
    match v {
        TagValue::Int(i) => (*i).into(),
        TagValue::UInt(u) => (*u).into(),
        TagValue::Float(f) => number(*f),
        TagValue::Str(s) => s.as_str().into(),
    }
}

/// The program's name; for a build script, which package's.
fn binary_name() -> String {
    let exe = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "process".to_owned());
    match std::env::var("CARGO_PKG_NAME") {
        Ok(pkg) if exe.starts_with("build-script") => format!("{pkg} build script"),
        _ => exe,
    }
}
