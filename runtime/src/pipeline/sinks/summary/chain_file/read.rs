//! The reading end: the root reads the chain file of its chain (at most what the bounds
//! allow) and removes it; `job finish` reads it and leaves it for the root's summary.

use std::ffi::OsStr;
use std::io::{BufRead, Read};

use super::{MAX_BYTES, MAX_READ, Node, Omitted, chain_name, dir, file_name, prune_once};
use crate::platform::owner_only::Access;

/// Reads and removes the chain file of `chain` (this process's root id): what [`read`]
/// returns.
pub(crate) fn collect(chain: u64) -> (Vec<Node>, usize) {
    let read = read(chain);
    if let (Some(name), Some(dir)) = (file_name(&chain_name(chain)), dir()) {
        let _ = dir.remove(OsStr::new(&name));
        prune_once(dir);
    }
    read
}

/// Reads the chain file of `chain` and leaves it: the events the processes of the run
/// recorded so far, at most [`MAX_READ`] in [`MAX_BYTES`], and how many more they left out.
pub(crate) fn read(chain: u64) -> (Vec<Node>, usize) {
    let (Some(name), Some(dir)) = (file_name(&chain_name(chain)), dir()) else {
        return (Vec::new(), 0);
    };
    let Ok(file) = dir.open_file(&name, Access::Read) else {
        return (Vec::new(), 0);
    };
    let mut nodes = Vec::new();
    let mut omitted = 0;
    let lines = std::io::BufReader::new(file.take(MAX_BYTES))
        .lines()
        .map_while(Result::ok)
        .take(MAX_READ);
    for line in lines {
        if let Ok(node) = serde_json::from_str::<Node>(&line) {
            nodes.push(node);
        } else if let Ok(o) = serde_json::from_str::<Omitted>(&line) {
            omitted += o.count;
        }
    }
    (nodes, omitted)
}
