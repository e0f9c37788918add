//! Claiming spool files for replay: the oldest ready file of the partition (or a claim its
//! process left behind, dead or stale) is renamed to a claim of this process; a delivered
//! claim is removed, a failed one renamed back. Listing the partition waits longer after
//! each empty look.

use std::ffi::OsStr;
use std::io;
use std::time::Instant;

use super::file_name::Name;
use super::{Claimed, RELIST_EMPTY, STALE, Spool, liveness};
use crate::platform::clock::wall_ms;
use crate::platform::sort;

impl Spool {
    /// Whether files may be waiting in this partition (without touching the disk when the
    /// last look found none, a little while ago).
    pub(crate) fn may_have_files(&self, now: Instant) -> bool {
        self.dir.is_some() && (!self.candidates.is_empty() || self.relist_due(now))
    }

    fn relist_due(&self, now: Instant) -> bool {
        self.listed_at
            .is_none_or(|at| now.duration_since(at) >= self.relist_after)
    }

    /// Makes the next look list the directory again (the process is about to exit: last
    /// chance to send what other processes left).
    pub(crate) fn relist_soon(&mut self) {
        self.listed_at = None;
        self.relist_after = RELIST_EMPTY.min(self.relist_max);
    }

    /// Claims the oldest ready (or stale claimed) file of this partition.
    pub(crate) fn claim_next(&mut self, now: Instant) -> Option<Claimed> {
        self.dir.as_ref()?;
        for _ in 0..2 {
            while let Some(name) = self.candidates.pop_front() {
                if let Some(c) = self.claim(&name) {
                    return Some(c);
                }
            }
            if !self.relist_due(now) {
                return None;
            }
            self.list(now);
        }
        None
    }

    fn list(&mut self, now: Instant) {
        self.listed_at = Some(now);
        let (Some(dir), Some(root)) = (&self.dir, &self.root) else {
            return;
        };
        let Ok(entries) = dir.names() else {
            return;
        };
        let wall = wall_ms();
        let mut names: Vec<String> = entries
            .into_iter()
            .filter_map(|name| {
                let name = name.into_string().ok()?;
                let kind = Name::parse(&name)?;
                let aged = kind
                    .claimed_ms
                    .is_some_and(|ms| wall.saturating_sub(ms) > STALE.as_millis() as u64);
                let stale_claim = aged
                    || kind
                        .claimer
                        .is_some_and(|t| t != self.tag && liveness::is_dead(root, t));
                (kind.ready || stale_claim).then_some(name)
            })
            .collect();
        sort::sort_by(&mut names, String::cmp);
        self.relist_after = if names.is_empty() {
            (self.relist_after * 2).min(self.relist_max)
        } else {
            RELIST_EMPTY.min(self.relist_max)
        };
        self.candidates = names.into();
    }

    fn claim(&mut self, name: &str) -> Option<Claimed> {
        let kind = Name::parse(name)?;
        let (dir, root) = (self.dir.as_ref()?, self.root.as_ref()?);
        if self.alive.is_none() {
            // Before the first claim exists, so no claim of ours ever looks abandoned.
            self.alive = Some(liveness::hold(root, &self.tag));
        }
        let stem = kind.stem;
        let claim = format!("{stem}.claim-{}-{}", self.tag, wall_ms());
        // The rename is the claim: if another process got there first, the source is gone.
        dir.rename(name, &claim).ok()?;
        Some(Claimed {
            claim,
            name: format!("{stem}.json"),
            events: kind.events,
        })
    }

    pub(crate) fn read(&self, c: &Claimed) -> io::Result<Vec<u8>> {
        self.dir
            .as_ref()
            .ok_or(io::ErrorKind::NotFound)?
            .read(&c.claim)
    }

    /// The claimed file was delivered (or is unusable): remove it.
    pub(crate) fn finish(&mut self, c: Claimed) {
        let Some(dir) = &self.dir else { return };
        let claim = OsStr::new(&c.claim);
        if let Ok(stat) = dir.stat(claim) {
            if let Some((size, _)) = self.size.as_mut() {
                *size = size.saturating_sub(stat.len);
            }
        }
        let _ = dir.remove(claim);
    }

    /// The claimed file could not be delivered now: make it ready again.
    pub(crate) fn release(&self, c: Claimed) {
        if let Some(dir) = &self.dir {
            let _ = dir.rename(&c.claim, &c.name);
        }
    }
}
