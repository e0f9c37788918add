//! Events still running, as the background thread sees them: for the *started* event of a
//! long-running step (sent once it has run a second, so a killed job still shows it) and for
//! concluding every open event as `CANCELLED` when the process is cancelled by a signal.
//!
//! A running event lives on its thread's context stack or inside its future or handle, where
//! no other thread may look. So each is also published where one may: a frame on a stack in
//! that thread's [`mirror`] (plain atomics, written on the hot path without a lock), and an
//! event off any stack — a suspended future, a manual event, a frame the mirror cannot hold —
//! in the [`registry`] (a lock, taken only on those colder paths).

pub(crate) mod mirror;
pub(crate) mod registry;

use std::collections::HashSet;

use crate::record::Frame;

/// Every event running now in this process (each once, outermost of a thread first), as
/// [`Frame::running_view`]s.
pub(crate) fn snapshot() -> Vec<Frame> {
    let mut seen = HashSet::new();
    let mut open = mirror::read_all();
    open.extend(registry::read_all());
    open.retain(|e| seen.insert(e.id));
    open
}

#[cfg(test)]
#[allow(clippy::expect_used)] // a failed expect is a failed test
mod tests {
    use super::*;
    use crate::model::site::{Meta, Site};
    use crate::record::lineage::{Chain, ParentRef};

    static SITE: Site = Site::new(
        "outer",
        None,
        None,
        "open_tests::outer",
        "function",
        None,
        false,
        false,
    );
    static INNER: Site = Site::new(
        "inner",
        None,
        None,
        "open_tests::inner",
        "function",
        None,
        false,
        false,
    );

    fn frame(id: u64, site: &'static Site, parent: Option<(u64, &'static Site)>) -> Frame {
        Frame {
            id,
            meta: Meta::Static(site),
            chain: Chain::Local(parent.map_or(id, |(p, _)| p)),
            parent: parent.map(|(p, s)| ParentRef::Local {
                id: p,
                meta: Meta::Static(s),
            }),
            start: 7,
            conclusion: None,
            extras: None,
        }
    }

    fn ids() -> Vec<u64> {
        snapshot().iter().map(|e| e.id).collect()
    }

    #[test]
    fn published_frames_are_seen_with_their_parent_until_retired() {
        let m = mirror::acquire();
        let outer = frame(0xA1, &SITE, None);
        let inner = frame(0xA2, &INNER, Some((0xA1, &SITE)));
        m.publish(0, &outer);
        m.publish(1, &inner);
        let open = snapshot();
        let seen = open.iter().find(|e| e.id == 0xA2).expect("inner is open");
        assert_eq!(seen.meta.name(), "inner");
        assert_eq!(seen.start, 7);
        match &seen.parent {
            Some(ParentRef::Local { id, meta }) => {
                assert_eq!(*id, 0xA1);
                assert_eq!(meta.name(), "outer");
            }
            other => panic!("parent {other:?}"),
        }
        assert!(matches!(seen.chain, Chain::Local(0xA1)));
        m.retire(1, &inner);
        assert!(!ids().contains(&0xA2));
        assert!(ids().contains(&0xA1));
        m.release();
        assert!(!ids().contains(&0xA1), "a released mirror shows nothing");
    }

    #[test]
    fn frames_the_mirror_cannot_hold_go_to_the_registry_and_back() {
        let m = mirror::acquire();
        // Too deep for a slot.
        let deep = frame(0xB1, &SITE, None);
        m.publish(mirror::SLOTS + 3, &deep);
        // A context from elsewhere: not plain integers.
        let mut remote = frame(0xB2, &SITE, None);
        remote.chain = Chain::Remote(std::sync::Arc::new("other-run".into()));
        m.publish(2, &remote);
        assert!(ids().contains(&0xB1) && ids().contains(&0xB2));
        m.retire(mirror::SLOTS + 3, &deep);
        m.retire(2, &remote);
        assert!(!ids().contains(&0xB1) && !ids().contains(&0xB2));
        m.release();
    }

    #[test]
    fn registry_holds_count_so_a_scope_does_not_end_a_manual_event() {
        let f = frame(0xC1, &SITE, None);
        registry::hold(&f);
        registry::hold(&f);
        registry::release(0xC1);
        assert!(ids().contains(&0xC1));
        registry::release(0xC1);
        assert!(!ids().contains(&0xC1));
    }

    #[test]
    fn a_reader_never_sees_one_event_with_another_ones_fields() {
        // Ids of this test are tagged so other tests' events can be told apart; an even id
        // is published with SITE, an odd one with INNER, and every start is its id times 3.
        const TAG: u64 = 0x5EED_0000_0000_0000;
        let rounds: u64 = if cfg!(miri) { 200 } else { 100_000 };
        let writer = std::thread::spawn(move || {
            let m = mirror::acquire();
            for i in 1..=rounds {
                let id = TAG | i;
                let site: &'static Site = if i % 2 == 0 { &SITE } else { &INNER };
                let mut f = frame(id, site, None);
                f.start = id.wrapping_mul(3);
                m.publish(0, &f);
                m.retire(0, &f);
            }
            m.release();
        });
        while !writer.is_finished() {
            for e in snapshot().into_iter().filter(|e| e.id & TAG == TAG) {
                let want = if e.id % 2 == 0 { "outer" } else { "inner" };
                assert_eq!(e.meta.name(), want, "id {:x}", e.id);
                assert_eq!(e.start, e.id.wrapping_mul(3), "id {:x}", e.id);
                assert!(matches!(e.chain, Chain::Local(c) if c == e.id));
            }
        }
        // How many reads catch an event running varies; consistency is what is checked.
        assert!(writer.join().is_ok());
    }
}
