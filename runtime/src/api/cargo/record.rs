//! What cargo did, as events under the step that ran it: one per compiled unit, build-script
//! run and test binary run, with the times the helpers measured; the critical path marked
//! on its units and summed up for the step.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::SystemTime;

use super::critical_path::{Node, critical_path};
use super::work::{Compile, ScriptRun, TestRun, Work};
use crate::model::cargo::{
    KIND_BUILD_SCRIPT_RUN, KIND_COMPILE, KIND_TEST_BINARY, TAG_PATH_POSITION,
};
use crate::platform::sort;
use crate::record::lineage::EventContext;
use crate::{Conclusion, EventBuilder};

/// Most units named in the critical path's text; the middle of a longer one is counted.
const MAX_NAMED: usize = 10;

/// What the step that ran cargo is told.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct StepFacts {
    pub(crate) compiled: usize,
    /// Units used without being compiled in this step, as far as the step shows them (see
    /// `fresh_units` in the crate docs).
    pub(crate) fresh: usize,
    pub(crate) script_runs: usize,
    pub(crate) test_runs: usize,
    /// `syn → serde_derive → app`, and its length in ms.
    pub(crate) critical_path: Option<(String, f64)>,
}

/// Records `work` under `parent`; what was still running when cargo ended (at `ended`)
/// is recorded as cancelled then.
pub(crate) fn record(work: &Work, parent: &EventContext, ended: SystemTime) -> StepFacts {
    let interrupted = work.compiles.iter().any(|c| {
        c.ended
            .is_none_or(|e| e.conclusion() == Conclusion::Cancelled)
    });
    let nodes = graph(work, ended);
    let path = critical_path(&nodes);
    let position: HashMap<usize, usize> =
        path.iter().enumerate().map(|(p, &i)| (i, p + 1)).collect();
    let n = work.compiles.len();

    let mut events: Vec<(SystemTime, EventBuilder, SystemTime, Conclusion)> = Vec::new();
    for (i, c) in work.compiles.iter().enumerate() {
        let (end, conclusion) = c
            .ended
            .map_or((ended, Conclusion::Cancelled), |e| (e.at, e.conclusion()));
        let mut b = compile_event(c, parent);
        if let Some(p) = position.get(&i) {
            b = b.tag(TAG_PATH_POSITION, *p as u64);
        }
        events.push((c.start, b, end, conclusion));
    }
    for (j, r) in work.runs.iter().enumerate() {
        let (end, conclusion) = match r.end {
            Some(end) => (end, Conclusion::Success),
            None if interrupted => (ended, Conclusion::Cancelled),
            None => (ended, Conclusion::Failure),
        };
        let mut b = run_event(r, parent);
        if let Some(p) = position.get(&(n + j)) {
            b = b.tag(TAG_PATH_POSITION, *p as u64);
        }
        events.push((r.start, b, end, conclusion));
    }
    for t in &work.tests {
        let (end, conclusion) = t
            .ended
            .map_or((ended, Conclusion::Cancelled), |e| (e.at, e.conclusion()));
        events.push((t.start, test_event(t, parent), end, conclusion));
    }
    sort::sort_by_key(&mut events, |(start, ..)| *start);
    for (start, builder, end, conclusion) in events {
        builder.started_at(start).start().finish_at(end, conclusion);
    }

    let critical_path = (!path.is_empty()).then(|| {
        let first = &nodes[path[0]];
        let last = &nodes[path[path.len() - 1]];
        let ms = last
            .end
            .duration_since(first.start)
            .map_or(0.0, |d| d.as_secs_f64() * 1e3);
        let labels: Vec<String> = path.iter().map(|&i| label(work, i)).collect();
        (path_text(&labels), ms)
    });
    StepFacts {
        compiled: work.compiles.len(),
        fresh: fresh(work),
        script_runs: work.runs.len(),
        test_runs: work.tests.len(),
        critical_path,
    }
}

/// The units and runs as nodes (compiles first, then runs), with their edges: a unit's
/// `--extern` dependencies and build-script run, a run's build script.
fn graph(work: &Work, ended: SystemTime) -> Vec<Node> {
    let n = work.compiles.len();
    let by_hash: HashMap<&str, usize> = work
        .compiles
        .iter()
        .enumerate()
        .filter_map(|(i, c)| Some((c.hash.as_deref()?, i)))
        .collect();
    let by_dir: HashMap<&Path, usize> = work
        .runs
        .iter()
        .enumerate()
        .map(|(j, r)| (r.dir.as_path(), n + j))
        .collect();
    let mut nodes: Vec<Node> = work
        .compiles
        .iter()
        .map(|c| Node {
            start: c.start,
            end: c.ended.map_or(ended, |e| e.at),
            deps: c
                .deps
                .iter()
                .filter_map(|h| by_hash.get(h.as_str()).copied())
                .chain(
                    c.script_out
                        .as_deref()
                        .and_then(Path::parent)
                        .and_then(|d| by_dir.get(d).copied()),
                )
                .collect(),
        })
        .collect();
    for r in &work.runs {
        // The build script it ran: the last one of its package compiled before it started
        // (by start: the run's start is a file time, which the kernel keeps coarser than
        // the helpers' clock, so it may read a little before the compile's end).
        let script = work
            .compiles
            .iter()
            .enumerate()
            .filter(|(_, c)| c.target == "build-script" && c.package == r.package)
            .filter(|(_, c)| c.ended.is_some() && c.start <= r.start)
            .max_by_key(|(_, c)| c.ended.map(|e| e.at))
            .map(|(i, _)| i);
        nodes.push(Node {
            start: r.start,
            end: r.end.unwrap_or(ended),
            deps: script.into_iter().collect(),
        });
    }
    nodes
}

/// How node `i` is named in the critical path's text.
fn label(work: &Work, i: usize) -> String {
    let n = work.compiles.len();
    if i >= n {
        return format!("{} (build.rs run)", work.runs[i - n].package);
    }
    let c = &work.compiles[i];
    match c.target {
        "lib" | "proc-macro" => c.package.clone(),
        "build-script" => format!("{} (build.rs)", c.package),
        // A package's integration tests, benches, examples and extra bins each have a name
        // of their own: without it a path through five of them says the same thing 5 times.
        other if c.crate_name != c.package.replace('-', "_") => {
            format!("{} ({other} {})", c.package, c.crate_name)
        }
        other => format!("{} ({other})", c.package),
    }
}

/// `a → b → c`, the middle of a long path counted rather than named.
fn path_text(labels: &[String]) -> String {
    if labels.len() <= MAX_NAMED {
        return labels.join(" → ");
    }
    let head = 4;
    let tail = MAX_NAMED - head;
    let hidden = labels.len() - head - tail;
    format!(
        "{} → … {hidden} more … → {}",
        labels[..head].join(" → "),
        labels[labels.len() - tail..].join(" → ")
    )
}

/// Units the step used without compiling them: dependencies of what it compiled, and test
/// binaries it ran, that were built before.
fn fresh(work: &Work) -> usize {
    let compiled: HashSet<&str> = work
        .compiles
        .iter()
        .filter_map(|c| c.hash.as_deref())
        .collect();
    let used: HashSet<&str> = work
        .compiles
        .iter()
        .flat_map(|c| c.deps.iter().map(String::as_str))
        .chain(work.tests.iter().filter_map(|t| t.hash.as_deref()))
        .collect();
    used.difference(&compiled).count()
}

fn compile_event(c: &Compile, parent: &EventContext) -> EventBuilder {
    let mut b = EventBuilder::new(c.package.clone())
        .kind(KIND_COMPILE)
        .key(format!(
            "cargo::{KIND_COMPILE}::{}::{}::{}::{}",
            c.profile, c.package, c.target, c.crate_name
        ))
        .parent(parent)
        .tag("crate", c.package.clone())
        .tag("version", c.version.clone())
        .tag("target", c.target)
        .tag("profile", c.profile.clone());
    if !matches!(c.target, "lib" | "proc-macro" | "build-script") {
        b = b.tag("target_name", c.crate_name.clone());
    }
    b
}

fn run_event(r: &ScriptRun, parent: &EventContext) -> EventBuilder {
    let mut b = EventBuilder::new(r.package.clone())
        .kind(KIND_BUILD_SCRIPT_RUN)
        .key(format!(
            "cargo::{KIND_BUILD_SCRIPT_RUN}::{}::{}",
            r.profile, r.package
        ))
        .parent(parent)
        .tag("crate", r.package.clone())
        .tag("profile", r.profile.clone());
    if let Some(v) = &r.version {
        b = b.tag("version", v.clone());
    }
    b
}

fn test_event(t: &TestRun, parent: &EventContext) -> EventBuilder {
    let mut b = EventBuilder::new(t.name.clone())
        .kind(KIND_TEST_BINARY)
        .key(format!(
            "cargo::{KIND_TEST_BINARY}::{}::{}",
            t.package, t.name
        ))
        .parent(parent)
        .tag("crate", t.package.clone())
        .tag("target", t.target.clone());
    if let Some(test) = &t.test {
        b = b.tag("test", test.clone());
    }
    if t.list {
        b = b.tag("mode", "list");
    }
    if let Some(counts) = t.tests {
        b = b
            .metric("passed", counts.passed)
            .metric("failed", counts.failed)
            .metric("ignored", counts.ignored);
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_paths_name_their_ends() {
        let labels: Vec<String> = (0..25).map(|i| format!("c{i}")).collect();
        assert_eq!(
            path_text(&labels),
            "c0 → c1 → c2 → c3 → … 15 more … → c19 → c20 → c21 → c22 → c23 → c24"
        );
        assert_eq!(path_text(&labels[..3]), "c0 → c1 → c2");
    }

    #[test]
    fn labels_name_a_packages_own_targets() {
        let unit = |target: &'static str, crate_name: &str| Compile {
            package: "trunk-ci-analytics".into(),
            version: "0.1.0".into(),
            crate_name: crate_name.into(),
            target,
            profile: "dev".into(),
            start: SystemTime::UNIX_EPOCH,
            ended: None,
            hash: None,
            deps: Vec::new(),
            out_dir: std::path::PathBuf::new(),
            script_out: None,
        };
        let work = Work {
            compiles: vec![
                unit("lib", "trunk_ci_analytics"),
                unit("test", "trunk_ci_analytics"),
                unit("test", "e2e"),
                unit("build-script", "build_script_build"),
            ],
            ..Work::default()
        };
        let labels: Vec<String> = (0..4).map(|i| label(&work, i)).collect();
        assert_eq!(
            labels,
            [
                "trunk-ci-analytics",
                "trunk-ci-analytics (test)",
                "trunk-ci-analytics (test e2e)",
                "trunk-ci-analytics (build.rs)"
            ]
        );
    }
}
