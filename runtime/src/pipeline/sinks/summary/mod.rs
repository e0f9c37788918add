//! The tree printed on stderr when a root event of this process ends: the whole run, the
//! events of the processes under it included (through the [`chain_file`]), bounded
//! ([`tree`]):
//!
//! ```text
//! trunk-ci-analytics: ci ✘ 4.21 s (10,005 events in 3 processes, local mode: not uploaded)
//!   ✘ ci                              4.21 s
//!     ✔ fmt                           0.31 s
//!     ✘ test                          2.10 s
//!       ✘ unit ×10,000                ✔ 9,990 ✘ 10  total 1.20 s  max 3.0 ms
//!         ✘ unit                      2.1 ms
//! ```
//!
//! Below the tree of a run whose steps ran cargo with their work recorded: each step's
//! critical path and the slowest crates ([`cargo`]).
//!
//! A process that inherited a context prints nothing: it adds its events to the chain file
//! for its root to print. The first [`MAX_EAGER`] trees are printed as their roots end;
//! later roots are kept and printed as one tree when the process exits, so a thousand
//! top-level calls print a few dozen lines, not thousands.

mod cargo;
mod chain_file;
mod header;
pub(crate) mod job_summary;
mod node;
mod tree;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use crate::model::flush_report::FlushReport;
use crate::pipeline::sink::{Sink, SinkFlush};
use crate::pipeline::upload_status::UploadStatus;
use crate::record::Record;
use crate::record::lineage::Chain;
use chain_file::ChainWriter;
use header::header;
use job_summary::JobSummary;
use node::Node;
use tree::{plural, thousands};

/// The parent and conclusion of each event the processes of the chain `chain` recorded so
/// far (read from its chain file, which stays for the root's summary).
pub(crate) fn peek_chain(chain: u64) -> Vec<(Option<u64>, crate::Conclusion)> {
    chain_file::read(chain)
        .0
        .into_iter()
        .map(|n| (n.parent, n.conclusion))
        .collect()
}

/// Events remembered per process for summaries; beyond it they are only counted.
const MAX_NODES: usize = 50_000;
/// Trees printed as their roots end; the roots after them are printed together at exit.
const MAX_EAGER: usize = 2;

#[derive(Debug)]
pub(crate) struct Summary {
    status: Arc<UploadStatus>,
    by_chain: HashMap<u64, Vec<Node>>,
    /// Chains whose root has ended, in the order the roots arrived.
    ended: Vec<u64>,
    held: usize,
    overflow: usize,
    printed: usize,
    /// Roots (with their trees) past [`MAX_EAGER`], for the tree printed at exit.
    deferred: Vec<Node>,
    deferred_overflow: usize,
    /// Where this process's events of an inherited chain go, for its root to print.
    share: Option<ChainWriter>,
    job: Option<JobSummary>,
}

impl Summary {
    /// `inherited`: the wire id of the chain this process inherited; `job`: the job
    /// summary this process writes at exit (the run's root only).
    pub(crate) fn new(
        status: Arc<UploadStatus>,
        inherited: Option<String>,
        job: Option<JobSummary>,
    ) -> Summary {
        Summary {
            status,
            by_chain: HashMap::new(),
            ended: Vec::new(),
            held: 0,
            overflow: 0,
            printed: 0,
            deferred: Vec::new(),
            deferred_overflow: 0,
            share: inherited.map(|chain| ChainWriter::new(&chain)),
            job,
        }
    }

    /// Remembers `node` of the local chain `chain`. A root only marks its chain as ended:
    /// children that finished before it on other threads may still be on their way (each
    /// thread hands its events over in batches), so the tree is drawn once everything
    /// recorded so far has arrived.
    pub(crate) fn add(&mut self, chain: u64, node: Node) {
        if node.parent.is_none() {
            self.ended.push(chain);
        } else if self.held >= MAX_NODES {
            self.overflow += 1;
            return;
        }
        self.held += 1;
        self.by_chain.entry(chain).or_default().push(node);
    }

    /// The trees of the chains whose root has ended, as text to print now.
    pub(crate) fn take_ended(&mut self) -> Option<String> {
        if self.ended.is_empty() {
            return None;
        }
        let mut batch = Vec::new();
        let mut overflow = std::mem::take(&mut self.overflow);
        for chain in std::mem::take(&mut self.ended) {
            let Some(nodes) = self.by_chain.remove(&chain) else {
                continue;
            };
            self.held -= nodes.len();
            batch.extend(nodes);
            let (children, omitted) = chain_file::collect(chain);
            let room = MAX_NODES.saturating_sub(batch.len());
            overflow += omitted + children.len().saturating_sub(room);
            batch.extend(children.into_iter().take(room));
        }
        if let Some(job) = &mut self.job {
            job.add(&batch, overflow);
        }
        if self.printed < MAX_EAGER {
            self.printed += 1;
            return Some(self.render(&batch, overflow));
        }
        let room = MAX_NODES.saturating_sub(self.deferred.len());
        self.deferred_overflow += overflow + batch.len().saturating_sub(room);
        self.deferred.extend(batch.into_iter().take(room));
        None
    }

    /// The tree of the roots kept for the exit, if any.
    pub(crate) fn take_deferred(&mut self) -> Option<String> {
        if self.deferred.is_empty() {
            return None;
        }
        let nodes = std::mem::take(&mut self.deferred);
        let overflow = std::mem::take(&mut self.deferred_overflow);
        Some(self.render(&nodes, overflow))
    }

    fn render(&self, nodes: &[Node], overflow: usize) -> String {
        let mode = header::upload_text(&self.status);
        let mut out = header(nodes, overflow, &mode);
        let drawn = tree::draw(nodes);
        out.push_str(&tree::to_text(&drawn.lines));
        let hidden = drawn.hidden + overflow;
        if hidden > 0 {
            out.push_str(&format!(
                "  … {} more event{} not shown{}\n",
                thousands(hidden),
                plural(hidden),
                if drawn.hidden_failures > 0 {
                    format!(
                        ", {} failure{} among them",
                        thousands(drawn.hidden_failures),
                        plural(drawn.hidden_failures)
                    )
                } else {
                    String::new()
                }
            ));
        }
        out.push_str(&cargo::text_lines(nodes));
        out
    }
}

impl Sink for Summary {
    fn take(&mut self, record: &Record, _now: Instant) {
        match record.frame.chain {
            Chain::Local(chain) => self.add(chain, Node::of(record)),
            // The inherited chain is the root process's to draw.
            Chain::Inherited => {
                if let Some(share) = &mut self.share {
                    share.push(&Node::of(record));
                }
            }
            Chain::Remote(_) => {}
        }
    }

    /// Prints the trees of the roots that ended: everything recorded so far has arrived.
    fn caught_up(&mut self) {
        if let Some(share) = &mut self.share {
            share.write();
        }
        if let Some(text) = self.take_ended() {
            print(&text);
        }
    }

    fn begin_flush(&mut self, flush: SinkFlush, _now: Instant) -> Option<FlushReport> {
        if flush.exit {
            if let Some(share) = &mut self.share {
                share.finish();
            }
            if let Some(text) = self.take_deferred() {
                print(&text);
            }
            if let Some(job) = &mut self.job {
                job.write(&header::upload_text(&self.status));
            }
        }
        Some(FlushReport::default())
    }

    /// The exit hook then flushes even a program that never flushed itself.
    fn owes_exit(&self) -> bool {
        !self.deferred.is_empty() || self.job.as_ref().is_some_and(JobSummary::pending)
    }
}

/// Never through std's stderr lock, never waiting long: see `sys::stderr`.
fn print(text: &str) {
    crate::platform::sys::stderr::write(text.as_bytes());
}

#[cfg(test)]
mod tests;
