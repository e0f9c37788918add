//! The names of spool files, which `diagnose` reads too:
//! `<created ms>-<process tag>-<seq>-<events>.json` when ready, `.<name>.tmp` while it is
//! written, `<stem>.claim-<tag>-<ms>` while a process sends it.

/// What a spool file's name says about it.
#[derive(Debug, PartialEq)]
pub(crate) struct Name<'a> {
    pub(super) stem: &'a str,
    tag: &'a str,
    pub(crate) events: usize,
    /// Waiting to be sent (not claimed, not a temp file).
    pub(crate) ready: bool,
    pub(crate) tmp: bool,
    /// When a process claimed it for sending.
    pub(crate) claimed_ms: Option<u64>,
    /// The tag of the process that claimed it.
    pub(crate) claimer: Option<&'a str>,
}

impl<'a> Name<'a> {
    /// `None` for a name the spool does not write.
    pub(crate) fn parse(name: &'a str) -> Option<Name<'a>> {
        let (hidden, name) = match name.strip_prefix('.') {
            Some(rest) => (true, rest),
            None => (false, name),
        };
        let (stem, suffix) = name.split_once('.')?;
        let mut parts = stem.split('-');
        let (ms, tag, seq, events) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || ms.len() != 13 || ms.parse::<u64>().is_err() {
            return None;
        }
        seq.parse::<u64>().ok()?;
        let events = events.parse().ok()?;
        let (ready, tmp, claimed_ms, claimer) = match (hidden, suffix) {
            (false, "json") => (true, false, None, None),
            (true, "json.tmp") => (false, true, None, None),
            (false, claim) => {
                let rest = claim.strip_prefix("claim-")?;
                let (claimer, ms) = rest.rsplit_once('-')?;
                (false, false, Some(ms.parse().ok()?), Some(claimer))
            }
            _ => return None,
        };
        Some(Name {
            stem,
            tag,
            events,
            ready,
            tmp,
            claimed_ms,
            claimer,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse() {
        let n = Name::parse("1700000000000-ab12-000001-500.json");
        assert_eq!(
            n,
            Some(Name {
                stem: "1700000000000-ab12-000001-500",
                tag: "ab12",
                events: 500,
                ready: true,
                tmp: false,
                claimed_ms: None,
                claimer: None,
            })
        );
        let c = Name::parse("1700000000000-ab12-000001-500.claim-cd34-1700000000123");
        assert_eq!(
            c.map(|c| (c.ready, c.claimed_ms, c.claimer)),
            Some((false, Some(1700000000123), Some("cd34")))
        );
        assert!(Name::parse(".1700000000000-ab12-000001-5.json.tmp").is_some_and(|n| n.tmp));
        assert!(Name::parse("breaker-0123").is_none());
        assert!(Name::parse("notes.txt").is_none());
    }
}
