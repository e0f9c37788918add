//! The chain file: how the root process of a run learns what the processes under it
//! recorded (build scripts, tools an xtask runs), for its summaries.
//!
//! A process that inherited a context appends each of its events of the inherited chain
//! as one compact JSON line ([`Node`]) to a file named after the chain ([`write`]), in a
//! private directory (this user's alone, opened by descriptor: see `owner_only`) under the
//! temp dir; whole lines in single `O_APPEND` writes, so processes running at once never
//! mix their lines. The root reads the file when its root event ends (its children have
//! exited by then) and removes it ([`read`](mod@read)).
//!
//! Bounded, because a persistent runner's temp dir is often memory: a file holds at most
//! what its reader takes ([`MAX_BYTES`]; events past it are only counted); a file is
//! written only for a chain whose root is a process of ours, which reads it (a chain that
//! came from a `TRACEPARENT`, whose root is elsewhere, has no reader); and files a root
//! never collected (it crashed, or prints no summary) are pruned once a day old, and the
//! oldest first while the directory holds more than [`MAX_DIR_BYTES`].

mod read;
mod write;

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use super::node::{Node, chain_name};
use crate::model::json_fields::Fields;
use crate::platform::dirs::user_temp_dir;
use crate::platform::owner_only::PrivateDir;
use crate::platform::sort;
pub(crate) use read::{collect, read};
pub(crate) use write::ChainWriter;

/// Age past which a chain file no root collected is removed.
const STALE: Duration = Duration::from_secs(24 * 60 * 60);
/// Most bytes of one chain file, written or read: the summary keeps 50,000 events, ~8 MiB
/// of lines (a name of 60 characters, an error text).
pub(crate) const MAX_BYTES: u64 = 8 * 1024 * 1024;
/// Most lines read from one chain file.
pub(crate) const MAX_READ: usize = 200_000;
/// Most bytes of all chain files together; past it the oldest are removed.
pub(crate) const MAX_DIR_BYTES: u64 = 4 * MAX_BYTES;

/// The directory of chain files, opened (made private) once per process; `None` when it
/// cannot be (said once).
fn dir() -> Option<&'static PrivateDir> {
    static DIR: OnceLock<Option<PrivateDir>> = OnceLock::new();
    DIR.get_or_init(|| {
        let path = user_temp_dir().join("chains");
        match PrivateDir::open(&path) {
            Ok(dir) => Some(dir),
            Err(e) => {
                crate::log!(
                    Warn,
                    "cannot use {} for the run's tree ({e}): the summary shows this process's \
                     events only",
                    path.display()
                );
                None
            }
        }
    })
    .as_ref()
}

/// The file name of chain `chain` (its wire id) when a root of ours reads it: our chain
/// ids are 16 hex digits, the form [`chain_name`] gives. Any other chain id (from a
/// `TRACEPARENT`, or set by hand) has no reader here, and an id from the environment is
/// untrusted anyway: only this plain form goes into a path.
fn file_name(chain: &str) -> Option<String> {
    let ours = chain.len() == 16
        && chain
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    ours.then(|| format!("{chain}.jsonl"))
}

/// Removes, once per process, the chain files no root collected: those a day old, then the
/// oldest while all of them together hold more than [`MAX_DIR_BYTES`].
fn prune_once(dir: &PrivateDir) {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let Ok(names) = dir.names() else {
            return;
        };
        let now = SystemTime::now();
        let mut kept = Vec::new();
        for name in names {
            let Ok(stat) = dir.stat(&name) else { continue };
            if !stat.is_file {
                continue;
            }
            let old = now
                .duration_since(stat.modified)
                .is_ok_and(|age| age > STALE);
            if old {
                let _ = dir.remove(&name);
            } else {
                kept.push((stat.modified, stat.len, name));
            }
        }
        let mut total: u64 = kept.iter().map(|(_, len, _)| len).sum();
        sort::sort_by_key(&mut kept, |(modified, _, _)| *modified);
        for (_, len, name) in kept {
            if total <= MAX_DIR_BYTES {
                break;
            }
            if dir.remove(&name).is_ok() {
                total = total.saturating_sub(len);
            }
        }
    });
}

/// The line that counts events a writer left out past [`MAX_BYTES`]: `{"omitted":N}`.
struct Omitted {
    count: usize,
}

// By hand, as every JSON object of the runtime (`model::json_fields` says why).
impl serde::Serialize for Omitted {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut o = s.serialize_struct("Omitted", 1)?;
        o.serialize_field("omitted", &self.count)?;
        o.end()
    }
}

impl<'de> serde::Deserialize<'de> for Omitted {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut f = Fields::read(d, "Omitted", None)?;
        Ok(Omitted {
            count: f.take("omitted")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_chain_ids_name_a_file() {
        assert_eq!(
            file_name(&chain_name(0xab)).as_deref(),
            Some("00000000000000ab.jsonl")
        );
        for other in [
            "4bf92f3577b34da6a3ce929d0e0e4736",
            "c",
            "../../etc/passwd",
            "0123456789ABCDEF",
            "",
        ] {
            assert!(file_name(other).is_none(), "{other}");
        }
    }
}
