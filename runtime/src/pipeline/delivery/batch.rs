//! Batches: request bodies built event by event, kept splittable.
//!
//! A batch is the ready-to-send body plus where each event lies in it: for `trackEvents`
//! `{"repo":…,"events":[…]}`, for OTLP/JSON the same shape of a head, comma-separated events
//! and a tail, for OTLP/protobuf the events (length-delimited spans) behind an envelope whose
//! header, which holds their total length, is written at sealing into room kept for it.
//! Sending, retrying and spooling use the bytes as they are; only a 400 on a `trackEvents`
//! batch (find the bad events) needs the spans, to build smaller bodies from the same bytes.

use std::ops::Range;
use std::rc::Rc;
use std::time::Instant;

use super::body::{self, Body};
use crate::platform::sort;

/// A batch is sealed once its body reaches this size, whatever its event count: large tags
/// must not make one request huge.
const MAX_BODY_BYTES: usize = 1 << 20;

/// Whose events a batch holds, for the flush report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    /// Recorded by this process.
    Own,
    /// Read back from the spool of an earlier run.
    Replayed,
    /// *Started* events of events still running: sent once, never spooled (replayed after
    /// the finished event, one would overwrite it) and not counted in flush reports (the
    /// finished event is).
    Started,
}

/// A sealed batch.
#[derive(Debug)]
pub(crate) struct Batch {
    /// Order of sealing; flushes wait for the batches sealed before them.
    pub(crate) seq: u64,
    pub(crate) origin: Origin,
    pub(crate) body: Body,
    /// `{"repo":…,"events":[`, the start of the body.
    prefix: usize,
    spans: Vec<Range<usize>>,
}

impl Batch {
    /// Bytes of its events' JSON (what the uploader's memory bound counts).
    pub(crate) fn event_bytes(&self) -> usize {
        self.spans.iter().map(ExactSizeIterator::len).sum()
    }

    pub(crate) fn len(&self) -> usize {
        self.spans.len()
    }

    /// The JSON of event `i`.
    pub(crate) fn event(&self, i: usize) -> &[u8] {
        self.spans.get(i).map_or(&[][..], |r| &self.body[r.clone()])
    }

    /// Splits the batch after a 400: each event in `suspects` alone, the others together; with
    /// no suspect named, in halves. Every part is strictly smaller, so repeated splitting ends
    /// with single events.
    pub(crate) fn split(&self, suspects: &[usize]) -> Vec<Batch> {
        let n = self.len();
        let mut suspects: Vec<usize> = suspects.iter().copied().filter(|&i| i < n).collect();
        sort::sort_by(&mut suspects, usize::cmp);
        suspects.dedup();
        let groups: Vec<Vec<usize>> = if suspects.is_empty() || suspects.len() == n {
            if suspects.len() == n && n > 0 {
                (0..n).map(|i| vec![i]).collect()
            } else {
                let mid = n / 2;
                vec![(0..mid).collect(), (mid..n).collect()]
            }
        } else {
            let rest: Vec<usize> = (0..n)
                .filter(|i| suspects.binary_search(i).is_err())
                .collect();
            let mut groups = vec![rest];
            groups.extend(suspects.iter().map(|&i| vec![i]));
            groups
        };
        groups
            .into_iter()
            .filter(|g| !g.is_empty())
            .map(|group| {
                let mut b = BatchBuilder::from_prefix(&self.body[..self.prefix]);
                for i in group {
                    b.push(self.event(i), Instant::now());
                }
                b.seal(self.seq, self.origin)
            })
            .collect()
    }

    /// Rebuilds a batch from a spooled body, so a 400 on a replay can be split like any
    /// batch. `None` when the body is not the JSON the spool writes.
    pub(crate) fn from_body(body: &[u8], seq: u64) -> Option<Batch> {
        let parsed: serde_json::Value = serde_json::from_slice(body).ok()?;
        let repo_json = serde_json::to_vec(parsed.get("repo")?).ok()?;
        let mut b = BatchBuilder::new(&repo_json);
        for event in parsed.get("events")?.as_array()? {
            let json = serde_json::to_vec(event).ok()?;
            b.push(&json, Instant::now());
        }
        Some(b.seal(seq, Origin::Replayed))
    }
}

/// Writes the header of an envelope around events that take `inner` bytes; it must fit in
/// the room the builder keeps for it.
pub(crate) type WriteHeader = Rc<dyn Fn(usize, &mut Vec<u8>)>;

/// The batch being filled.
pub(crate) struct BatchBuilder {
    buf: Vec<u8>,
    prefix: usize,
    spans: Vec<Range<usize>>,
    opened: Option<Instant>,
    separator: &'static [u8],
    tail: &'static [u8],
    envelope: Option<WriteHeader>,
    /// The buffer of a delivered batch, for the next body: its pages are mapped and warm
    /// in the cache, where a new one would fault every page in again.
    spare: Option<Vec<u8>>,
}

impl std::fmt::Debug for BatchBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchBuilder")
            .field("len", &self.spans.len())
            .field("bytes", &self.buf.len())
            .finish_non_exhaustive()
    }
}

impl BatchBuilder {
    pub(crate) fn new(repo_json: &[u8]) -> BatchBuilder {
        let mut prefix = Vec::with_capacity(repo_json.len() + 32);
        prefix.extend_from_slice(b"{\"repo\":");
        prefix.extend_from_slice(repo_json);
        prefix.extend_from_slice(b",\"events\":[");
        BatchBuilder::from_prefix(&prefix)
    }

    fn from_prefix(prefix: &[u8]) -> BatchBuilder {
        BatchBuilder::framed(prefix, b",", b"]}")
    }

    /// Bodies of `head`, the events joined by `separator`, and `tail`.
    pub(crate) fn framed(
        head: &[u8],
        separator: &'static [u8],
        tail: &'static [u8],
    ) -> BatchBuilder {
        let mut buf = Vec::with_capacity(64 * 1024);
        buf.extend_from_slice(head);
        BatchBuilder {
            prefix: buf.len(),
            buf,
            spans: Vec::new(),
            opened: None,
            separator,
            tail,
            envelope: None,
            spare: None,
        }
    }

    /// Bodies of the events one after the other, behind the header `envelope` writes at
    /// sealing (at most `room` bytes).
    pub(crate) fn enveloped(room: usize, envelope: WriteHeader) -> BatchBuilder {
        let mut b = BatchBuilder::framed(&vec![0; room], b"", b"");
        b.envelope = Some(envelope);
        b
    }

    pub(crate) fn len(&self) -> usize {
        self.spans.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// When the first event of this batch arrived.
    pub(crate) fn opened(&self) -> Option<Instant> {
        self.opened
    }

    /// Bytes of the JSON of the event pushed last.
    pub(crate) fn last_len(&self) -> usize {
        self.spans.last().map_or(0, ExactSizeIterator::len)
    }

    /// Whether the body reached [`MAX_BODY_BYTES`].
    pub(crate) fn is_full_bytes(&self) -> bool {
        self.buf.len() >= MAX_BODY_BYTES
    }

    /// Appends an event's JSON.
    pub(crate) fn push(&mut self, event_json: &[u8], now: Instant) {
        self.push_with(now, |buf| {
            buf.extend_from_slice(event_json);
            Ok(())
        });
    }

    /// Appends an event written by `write` straight into the body (no intermediate buffer);
    /// returns its JSON, or `None` (and nothing appended) if `write` failed.
    pub(crate) fn push_with(
        &mut self,
        now: Instant,
        write: impl FnOnce(&mut Vec<u8>) -> Result<(), serde_json::Error>,
    ) -> Option<&[u8]> {
        let mark = self.buf.len();
        if !self.spans.is_empty() {
            self.buf.extend_from_slice(self.separator);
        }
        let start = self.buf.len();
        if write(&mut self.buf).is_err() {
            self.buf.truncate(mark);
            return None;
        }
        let span = start..self.buf.len();
        self.spans.push(span.clone());
        self.opened.get_or_insert(now);
        Some(&self.buf[span])
    }

    /// Takes back the body of a batch that is done with, if nothing else holds it, as the
    /// buffer of a later batch.
    pub(crate) fn recycle(&mut self, body: Body) {
        if self.spare.is_some() {
            return;
        }
        if let Some(buf) = body::take_back(body) {
            if buf.capacity() <= MAX_BODY_BYTES * 2 {
                self.spare = Some(buf);
            }
        }
    }

    /// Closes the body and starts an empty one with the same repo.
    pub(crate) fn seal(&mut self, seq: u64, origin: Origin) -> Batch {
        let mut next = match self.spare.take() {
            Some(spare) => spare,
            None => Vec::with_capacity(self.buf.capacity().min(MAX_BODY_BYTES * 2)),
        };
        next.extend_from_slice(&self.buf[..self.prefix]);
        let mut body = std::mem::replace(&mut self.buf, next);
        body.extend_from_slice(self.tail);
        self.opened = None;
        let mut spans = std::mem::take(&mut self.spans);
        let Some(envelope) = &self.envelope else {
            return Batch {
                seq,
                origin,
                body: Body::from(body),
                prefix: self.prefix,
                spans,
            };
        };
        let mut header = Vec::with_capacity(self.prefix);
        envelope(body.len() - self.prefix, &mut header);
        let (body, start) = match self.prefix.checked_sub(header.len()) {
            Some(start) => {
                body[start..self.prefix].copy_from_slice(&header);
                (Body::from(body).slice(start..), start)
            }
            // Never with a right-sized room; still a valid body if it happens.
            None => {
                header.extend_from_slice(&body[self.prefix..]);
                let shift = header.len() - (body.len() - self.prefix);
                for span in &mut spans {
                    *span = span.start + shift..span.end + shift;
                }
                (Body::from(header), self.prefix)
            }
        };
        for span in &mut spans {
            *span = span.start - start..span.end - start;
        }
        Batch {
            seq,
            origin,
            body,
            prefix: self.prefix - start.min(self.prefix),
            spans,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPO: &[u8] = br#"{"host":"github.com","owner":"o","name":"r"}"#;

    fn batch(n: usize) -> Batch {
        let mut b = BatchBuilder::new(REPO);
        for i in 0..n {
            b.push(format!(r#"{{"id":"e{i}"}}"#).as_bytes(), Instant::now());
        }
        b.seal(7, Origin::Own)
    }

    fn ids(b: &Batch) -> Vec<String> {
        let v: serde_json::Value = serde_json::from_slice(&b.body).unwrap_or_default();
        assert_eq!(v["repo"]["owner"], "o");
        v["events"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|e| e["id"].as_str().unwrap_or("").to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    fn body_is_the_documented_request() {
        let b = batch(3);
        assert_eq!(ids(&b), ["e0", "e1", "e2"]);
        assert_eq!(b.event(1), br#"{"id":"e1"}"#);
        assert_eq!(ids(&batch(0)), Vec::<String>::new());
    }

    #[test]
    fn builder_is_reusable_after_seal() {
        let mut b = BatchBuilder::new(REPO);
        b.push(b"{\"id\":\"a\"}", Instant::now());
        let first = b.seal(1, Origin::Own);
        assert!(b.is_empty() && b.opened().is_none());
        b.push(b"{\"id\":\"b\"}", Instant::now());
        let second = b.seal(2, Origin::Own);
        assert_eq!(ids(&first), ["a"]);
        assert_eq!(ids(&second), ["b"]);
    }

    #[test]
    fn a_delivered_body_becomes_the_next_buffer() {
        let mut b = BatchBuilder::new(REPO);
        b.push(b"{\"id\":\"a\"}", Instant::now());
        let first = b.seal(1, Origin::Own);
        let held = first.body.clone();
        b.recycle(first.body);
        assert!(b.spare.is_none(), "a body still shared is not taken back");
        let address = held.as_ptr();
        b.recycle(held);
        b.push(b"{\"id\":\"b\"}", Instant::now());
        let second = b.seal(2, Origin::Own);
        b.push(b"{\"id\":\"c\"}", Instant::now());
        let third = b.seal(3, Origin::Own);
        assert_eq!(ids(&second), ["b"]);
        assert_eq!(ids(&third), ["c"]);
        assert_eq!(
            third.body.as_ptr(),
            address,
            "the third body is written in the first's buffer"
        );
    }

    #[test]
    fn a_failed_write_leaves_no_trace() {
        let mut b = BatchBuilder::new(REPO);
        b.push(b"{\"id\":\"a\"}", Instant::now());
        let failed = b.push_with(Instant::now(), |buf| {
            buf.extend_from_slice(b"{\"half");
            Err(serde::ser::Error::custom("boom"))
        });
        assert!(failed.is_none());
        assert_eq!(ids(&b.seal(1, Origin::Own)), ["a"]);
    }

    #[test]
    fn an_envelope_header_goes_right_before_the_events() {
        let envelope: WriteHeader = Rc::new(|inner, out| {
            out.extend_from_slice(format!("<{inner}>").as_bytes());
        });
        let mut b = BatchBuilder::enveloped(16, envelope);
        b.push(b"ab", Instant::now());
        b.push(b"cde", Instant::now());
        let first = b.seal(1, Origin::Own);
        assert_eq!(&first.body[..], b"<5>abcde");
        assert_eq!((first.event(0), first.event(1)), (&b"ab"[..], &b"cde"[..]));
        b.push(b"f", Instant::now());
        assert_eq!(&b.seal(2, Origin::Own).body[..], b"<1>f");

        let tight: WriteHeader = Rc::new(|_, out| out.extend_from_slice(b"[long header]"));
        let mut b = BatchBuilder::enveloped(2, tight);
        b.push(b"xy", Instant::now());
        let sealed = b.seal(3, Origin::Own);
        assert_eq!(&sealed.body[..], b"[long header]xy");
        assert_eq!(sealed.event(0), b"xy");
    }

    #[test]
    fn split_isolates_suspects_or_halves() {
        let b = batch(5);
        let parts = b.split(&[3, 1, 9]);
        let got: Vec<Vec<String>> = parts.iter().map(ids).collect();
        assert_eq!(got, [vec!["e0", "e2", "e4"], vec!["e1"], vec!["e3"]]);
        assert!(parts.iter().all(|p| p.seq == 7 && p.origin == Origin::Own));

        let halves: Vec<Vec<String>> = b.split(&[]).iter().map(ids).collect();
        assert_eq!(halves, [vec!["e0", "e1"], vec!["e2", "e3", "e4"]]);

        let all: Vec<Vec<String>> = batch(2).split(&[0, 1]).iter().map(ids).collect();
        assert_eq!(all, [vec!["e0"], vec!["e1"]]);
    }

    #[test]
    fn spooled_bodies_come_back_as_batches() {
        let b = batch(3);
        let back = Batch::from_body(&b.body, 9).unwrap_or_else(|| panic!("parse"));
        assert_eq!(ids(&back), ["e0", "e1", "e2"]);
        assert_eq!(back.origin, Origin::Replayed);
        assert_eq!(ids(&back.split(&[1])[1]), ["e1"]);
        assert!(Batch::from_body(b"{\"repo\":1", 9).is_none());
    }
}
