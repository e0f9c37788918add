//! The overflow: finished records kept for later as compact bytes ([`codec`]) in a
//! first-in first-out queue ([`fifo`]) bounded in memory, then on disk. Keeping a record
//! here costs a fraction of encoding and sending it: a burst the sinks cannot take at once
//! waits here rather than being dropped — on the background thread (its overflow) or, when
//! the hand-off is at its bound, on the recording thread (the senders' overflow,
//! `handoff::overflow`).

mod codec;
mod fifo;

use crate::record::Record;
pub(crate) use fifo::Bounds;

/// Records kept for later, oldest first.
#[derive(Debug)]
pub(crate) struct Overflow {
    sites: codec::Sites,
    fifo: fifo::Fifo,
    lost: u64,
}

impl Overflow {
    pub(crate) fn new(bounds: Bounds) -> Overflow {
        Overflow {
            sites: codec::Sites::default(),
            fifo: fifo::Fifo::new(bounds),
            lost: 0,
        }
    }

    /// Records held.
    pub(crate) fn len(&self) -> usize {
        self.fifo.len()
    }

    /// Whether it can take another record.
    pub(crate) fn accepts(&self) -> bool {
        !self.fifo.full()
    }

    /// Keeps `record`, recorded on the OS thread `thread`, for later.
    pub(crate) fn push(&mut self, record: &Record, thread: u64) {
        let sites = &mut self.sites;
        self.fifo
            .push(|buf| codec::encode(record, thread, sites, buf));
    }

    /// Gives up to `max` of the oldest records, each with its thread, to `f`; returns how
    /// many.
    pub(crate) fn pop(&mut self, max: usize, mut f: impl FnMut(Record, u64)) -> usize {
        let sites = &self.sites;
        self.fifo.pop(max, &mut self.lost, |bytes, max| {
            let mut reader = codec::Reader::new(bytes, sites);
            let mut n = 0;
            while n < max {
                match reader.next_record() {
                    Some((record, thread)) => {
                        f(record, thread);
                        n += 1;
                    }
                    None => break,
                }
            }
            (bytes.len() - reader.rest().len(), n)
        })
    }

    /// Records lost since the last call (the file could not be read back).
    pub(crate) fn take_lost(&mut self) -> u64 {
        std::mem::take(&mut self.lost)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test
mod tests {
    use std::path::PathBuf;
    use std::sync::Arc;

    use super::*;
    use crate::model::site::{DynSite, Meta, Site};
    use crate::model::values::Extras;
    use crate::model::wire::TagValue;
    use crate::record::lineage::{Chain, EventContext, ParentRef};
    use crate::record::tests::record_of;

    static SITE: Site = Site::new(
        "s",
        None,
        Some("pkg"),
        "m::s",
        "function",
        None,
        false,
        false,
    );
    static OTHER: Site = Site::new(
        "o",
        Some("explicit::key"),
        None,
        "m::o",
        "step",
        Some("local"),
        false,
        false,
    );

    fn varied(id: u64) -> Record {
        let meta = match id % 3 {
            0 => Meta::Static(&SITE),
            1 => Meta::Static(&OTHER),
            _ => Meta::Dynamic(Arc::new(DynSite {
                name: format!("manual \"{id}\""),
                key: "k\n".into(),
                kind: "job".into(),
                platform: Some("gitlab_ci".into()),
                sequence_tags: vec![("st".into(), TagValue::Str("é".into()))],
            })),
        };
        let mut r = record_of(id, meta);
        r.end = 1_000 + id;
        match id % 4 {
            0 => {}
            1 => {
                r.frame.parent = Some(ParentRef::Local {
                    id: id ^ 0xffff,
                    meta: Meta::Static(&OTHER),
                });
                r.frame.chain = Chain::Local(7);
            }
            2 => {
                let ctx = EventContext::from_ids("chain\"", format!("p{id}"), "parent::key");
                r.frame.parent = Some(ctx.parent);
                r.frame.chain = ctx.chain;
            }
            _ => {
                r.frame.parent = Some(ParentRef::Inherited);
                r.frame.chain = Chain::Inherited;
            }
        }
        if id % 5 == 0 {
            r.frame.extras = Extras::new()
                .tag("t", TagValue::UInt(u64::MAX))
                .tag("f", TagValue::Float(-0.25))
                .metric("m", 1.5)
                .metric("nan", f64::NAN)
                .sequence_tag("i", TagValue::Int(-9))
                .boxed();
        }
        r.conclusion = [
            crate::Conclusion::Success,
            crate::Conclusion::Failure,
            crate::Conclusion::Cancelled,
            crate::Conclusion::TimedOut,
            crate::Conclusion::Skipped,
        ][(id % 5) as usize];
        r
    }

    /// `r` as the codec writes it: every field of a record but the conclusion set inside
    /// the body (already folded into the record's conclusion).
    fn bytes(sites: &mut codec::Sites, r: &Record) -> Vec<u8> {
        let mut buf = Vec::new();
        codec::encode(r, r.frame.id ^ 0x5a5a, sites, &mut buf);
        buf
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("tca-overflow-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn records_come_back_whole_and_in_order_through_memory_and_file() {
        let dir = temp_dir("order");
        let mut overflow = Overflow::new(Bounds {
            memory_bytes: 300 * 1024,
            file_bytes: 1 << 30,
            dir: Some(dir.clone()),
        });
        let mut sites = codec::Sites::default();
        let total = 60_000;
        let mut popped = Vec::new();
        // Interleaved: reading starts before writing ends, as on the background thread.
        for id in 0..total {
            overflow.push(&varied(id), id ^ 0x5a5a);
            if id % 7_000 == 6_999 {
                overflow.pop(3_000, |r, thread| popped.push((r, thread)));
            }
        }
        assert!(
            std::fs::read_dir(&dir).is_ok(),
            "past the memory bound, segments went to a file in the directory"
        );
        assert_eq!(overflow.len() + popped.len(), total as usize);
        while overflow.pop(1_000, |r, thread| popped.push((r, thread))) > 0 {}
        assert_eq!(overflow.len(), 0);
        assert_eq!(overflow.take_lost(), 0);
        assert_eq!(popped.len(), total as usize);
        for (id, (r, thread)) in (0..total).zip(&popped) {
            assert_eq!(*thread, id ^ 0x5a5a, "each record keeps its thread");
            assert_eq!(bytes(&mut sites, r), bytes(&mut sites, &varied(id)));
        }
        // Emptied, it takes more and gives them back.
        overflow.push(&varied(1), 7);
        assert_eq!(
            overflow.pop(10, |r, thread| assert_eq!((r.frame.id, thread), (1, 7))),
            1
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn it_refuses_once_memory_and_file_are_at_their_bounds() {
        let mut overflow = Overflow::new(Bounds {
            memory_bytes: 256 * 1024,
            file_bytes: 0,
            dir: None,
        });
        let mut n = 0u64;
        while overflow.accepts() {
            overflow.push(&varied(n * 3), n);
            n += 1;
            assert!(n < 1_000_000, "never full");
        }
        assert_eq!(overflow.len() as u64, n);
        let mut got = 0;
        while overflow.pop(usize::MAX, |_, _| got += 1) > 0 {}
        assert_eq!(got, n);
        assert!(overflow.accepts());
    }
}
