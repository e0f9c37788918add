//! A [`Record`] as compact bytes and back, for the overflow: fixed-width integers, strings
//! length-prefixed, and a `#[track_event]` site as its index in a table of the sites seen
//! (a site is a `&'static` constant, so the table stays as small as the program's set of
//! tracked functions). Read back by the same process only.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use crate::Conclusion;
use crate::model::site::{DynSite, Meta, Site};
use crate::model::values::Extras;
use crate::model::wire::TagValue;
use crate::record::lineage::{Chain, ParentRef, RemoteParent};
use crate::record::{Frame, Record};

/// The `#[track_event]` sites met so far, by address.
#[derive(Debug, Default)]
pub(crate) struct Sites {
    sites: Vec<&'static Site>,
    index: HashMap<usize, u32>,
    /// The last site looked up: a burst is nearly always one function.
    last: Option<(usize, u32)>,
}

impl Sites {
    fn index_of(&mut self, site: &'static Site) -> u32 {
        let addr = std::ptr::from_ref(site) as usize;
        if let Some((a, i)) = self.last {
            if a == addr {
                return i;
            }
        }
        let next = u32::try_from(self.sites.len()).unwrap_or(u32::MAX);
        let i = *self.index.entry(addr).or_insert_with(|| {
            self.sites.push(site);
            next
        });
        self.last = Some((addr, i));
        i
    }
}

const META_STATIC: u8 = 0;
const META_DYNAMIC: u8 = 1;
const CHAIN_LOCAL: u8 = 0;
const CHAIN_REMOTE: u8 = 1;
const CHAIN_INHERITED: u8 = 2;
const PARENT_NONE: u8 = 0;
const PARENT_LOCAL: u8 = 1;
const PARENT_REMOTE: u8 = 2;
const PARENT_INHERITED: u8 = 3;
const TAG_INT: u8 = 0;
const TAG_UINT: u8 = 1;
const TAG_FLOAT: u8 = 2;
const TAG_STR: u8 = 3;

/// Bytes of a record's fixed-width head: id, thread, start, end, conclusion.
const HEAD: usize = 33;

/// Appends `record` to `buf`.
pub(crate) fn encode(record: &Record, thread: u64, sites: &mut Sites, buf: &mut Vec<u8>) {
    let f = &record.frame;
    buf.extend_from_slice(&f.id.to_le_bytes());
    buf.extend_from_slice(&thread.to_le_bytes());
    buf.extend_from_slice(&f.start.to_le_bytes());
    buf.extend_from_slice(&record.end.to_le_bytes());
    buf.push(conclusion_byte(record.conclusion));
    meta(buf, &f.meta, sites);
    match &f.chain {
        Chain::Local(id) => {
            buf.push(CHAIN_LOCAL);
            buf.extend_from_slice(&id.to_le_bytes());
        }
        Chain::Remote(s) => {
            buf.push(CHAIN_REMOTE);
            string(buf, s);
        }
        Chain::Inherited => buf.push(CHAIN_INHERITED),
    }
    match &f.parent {
        None => buf.push(PARENT_NONE),
        Some(ParentRef::Local { id, meta: m }) => {
            buf.push(PARENT_LOCAL);
            buf.extend_from_slice(&id.to_le_bytes());
            meta(buf, m, sites);
        }
        Some(ParentRef::Remote(r)) => {
            buf.push(PARENT_REMOTE);
            string(buf, &r.event_id);
            string(buf, &r.sequence_key);
        }
        Some(ParentRef::Inherited) => buf.push(PARENT_INHERITED),
    }
    match f.extras.as_deref() {
        None => buf.push(0),
        Some(e) => {
            buf.push(1);
            tags(buf, &e.tags);
            len(buf, e.metrics.len());
            for (k, v) in &e.metrics {
                string(buf, k);
                buf.extend_from_slice(&v.to_le_bytes());
            }
            tags(buf, &e.sequence_tags);
        }
    }
}

fn meta(buf: &mut Vec<u8>, m: &Meta, sites: &mut Sites) {
    match m {
        Meta::Static(site) => {
            buf.push(META_STATIC);
            buf.extend_from_slice(&sites.index_of(site).to_le_bytes());
        }
        Meta::Dynamic(d) => {
            buf.push(META_DYNAMIC);
            string(buf, &d.name);
            string(buf, &d.key);
            string(buf, &d.kind);
            match &d.platform {
                Some(p) => {
                    buf.push(1);
                    string(buf, p);
                }
                None => buf.push(0),
            }
            tags(buf, &d.sequence_tags);
        }
    }
}

fn len(buf: &mut Vec<u8>, n: usize) {
    buf.extend_from_slice(&u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes());
}

fn string(buf: &mut Vec<u8>, s: &str) {
    // Longer strings than 4 GiB are cut (at a character boundary) rather than misread.
    let mut end = s.len().min(u32::MAX as usize);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    len(buf, end);
    buf.extend_from_slice(&s.as_bytes()[..end]);
}

fn tags(buf: &mut Vec<u8>, tags: &[(Cow<'static, str>, TagValue)]) {
    len(buf, tags.len());
    for (k, v) in tags {
        string(buf, k);
        match v {
            TagValue::Int(i) => {
                buf.push(TAG_INT);
                buf.extend_from_slice(&i.to_le_bytes());
            }
            TagValue::UInt(u) => {
                buf.push(TAG_UINT);
                buf.extend_from_slice(&u.to_le_bytes());
            }
            TagValue::Float(x) => {
                buf.push(TAG_FLOAT);
                buf.extend_from_slice(&x.to_le_bytes());
            }
            TagValue::Str(s) => {
                buf.push(TAG_STR);
                string(buf, s);
            }
        }
    }
}

fn conclusion_byte(c: Conclusion) -> u8 {
    match c {
        Conclusion::Success => 0,
        Conclusion::Failure => 1,
        Conclusion::Cancelled => 2,
        Conclusion::TimedOut => 3,
        Conclusion::Skipped => 4,
    }
}

fn conclusion_of(b: u8) -> Option<Conclusion> {
    Some(match b {
        0 => Conclusion::Success,
        1 => Conclusion::Failure,
        2 => Conclusion::Cancelled,
        3 => Conclusion::TimedOut,
        4 => Conclusion::Skipped,
        _ => return None,
    })
}

/// Reads records written by [`encode`] with the same `sites`.
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    sites: &'a Sites,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8], sites: &'a Sites) -> Self {
        Reader { bytes, sites }
    }

    /// Bytes not read yet.
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.bytes
    }

    /// The next record and its thread, or `None` at the end (or on bytes this module did
    /// not write).
    // Inlined into the reading loop, the record is built where it is used; returned from a
    // call, it is copied out with wide loads of fields just written narrow, which stall on
    // store forwarding.
    #[inline(always)]
    pub(crate) fn next_record(&mut self) -> Option<(Record, u64)> {
        // The fixed-width head in one bounds check.
        let (head, rest) = self.bytes.split_first_chunk::<HEAD>()?;
        self.bytes = rest;
        let word = |at: usize| {
            let mut le = [0; 8];
            le.copy_from_slice(&head[at..at + 8]);
            u64::from_le_bytes(le)
        };
        let (id, thread, start, end) = (word(0), word(8), word(16), word(24));
        let conclusion = conclusion_of(head[32])?;
        let meta = self.meta()?;
        // The chain is read as plain values and built last, in the record itself: an enum
        // written in parts and soon after moved whole stalls the move's wide load on store
        // forwarding.
        let chain_kind = self.u8()?;
        let (chain_id, chain_remote) = match chain_kind {
            CHAIN_LOCAL => (self.u64()?, None),
            CHAIN_REMOTE => (0, Some(self.string()?)),
            CHAIN_INHERITED => (0, None),
            _ => return None,
        };
        let parent = match self.u8()? {
            PARENT_NONE => None,
            PARENT_LOCAL => Some(ParentRef::Local {
                id: self.u64()?,
                meta: self.meta()?,
            }),
            PARENT_REMOTE => Some(ParentRef::Remote(Arc::new(RemoteParent {
                event_id: self.string()?,
                sequence_key: self.string()?,
            }))),
            PARENT_INHERITED => Some(ParentRef::Inherited),
            _ => return None,
        };
        let extras = match self.u8()? {
            0 => None,
            _ => {
                let tags = self.tags()?;
                let n = self.len()?;
                let mut metrics = Vec::with_capacity(n.min(1024));
                for _ in 0..n {
                    metrics.push((Cow::Owned(self.string()?), f64::from_bits(self.u64()?)));
                }
                let sequence_tags = self.tags()?;
                Some(Box::new(Extras::decoded(tags, metrics, sequence_tags)))
            }
        };
        let record = Record {
            frame: Frame {
                id,
                meta,
                chain: match chain_remote {
                    Some(remote) => Chain::Remote(Arc::new(remote)),
                    None if chain_kind == CHAIN_LOCAL => Chain::Local(chain_id),
                    None => Chain::Inherited,
                },
                parent,
                start,
                conclusion: None,
                extras,
            },
            end,
            conclusion,
        };
        Some((record, thread))
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.bytes.len() < n {
            return None;
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Some(head)
    }

    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    fn len(&mut self) -> Option<usize> {
        usize::try_from(self.u32()?).ok()
    }

    fn string(&mut self) -> Option<String> {
        let n = self.len()?;
        String::from_utf8(self.take(n)?.to_vec()).ok()
    }

    fn meta(&mut self) -> Option<Meta> {
        match self.u8()? {
            META_STATIC => {
                let i = usize::try_from(self.u32()?).ok()?;
                self.sites.sites.get(i).map(|s| Meta::Static(s))
            }
            META_DYNAMIC => Some(Meta::Dynamic(Arc::new(DynSite {
                name: self.string()?,
                key: self.string()?,
                kind: self.string()?,
                platform: match self.u8()? {
                    0 => None,
                    _ => Some(self.string()?),
                },
                sequence_tags: self.tags()?,
            }))),
            _ => None,
        }
    }

    fn tags(&mut self) -> Option<Vec<(Cow<'static, str>, TagValue)>> {
        let n = self.len()?;
        let mut out = Vec::with_capacity(n.min(1024));
        for _ in 0..n {
            let k = Cow::Owned(self.string()?);
            let v = match self.u8()? {
                TAG_INT => TagValue::Int(i64::from_le_bytes(self.take(8)?.try_into().ok()?)),
                TAG_UINT => TagValue::UInt(self.u64()?),
                TAG_FLOAT => TagValue::Float(f64::from_bits(self.u64()?)),
                TAG_STR => TagValue::Str(self.string()?),
                _ => return None,
            };
            out.push((k, v));
        }
        Some(out)
    }
}
