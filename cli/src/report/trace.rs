//! `report --trace`: the runs of an events file as one Chrome Trace Event Format file, for
//! ui.perfetto.dev and chrome://tracing.
//!
//! An events file does not say which process or thread ran an event, so each run is a
//! process lane (named by its root) and its events are laid out in as few thread lanes as
//! keep every slice inside its parent's or clear of it: what the trace viewers need to nest
//! complete (`"X"`) slices. Times come from `createdAt` and the `duration_ms` metric (ms
//! precision at the start, sub-ms for the duration).

use serde_json::{Map, Value, json};
use trunk_ci_analytics_runtime::Conclusion;
use trunk_ci_analytics_runtime::wire::{Event, TagValue};

use super::tree::{Node, Run};

/// The whole trace file: a JSON array of trace events, closed.
pub(crate) fn render(runs: &[Run]) -> String {
    let mut events = Vec::new();
    for (index, run) in runs.iter().enumerate() {
        let pid = index + 1;
        let name = run
            .nodes
            .first()
            .and_then(|n| n.event.sequence.as_ref())
            .map_or("run", |s| s.name.as_str());
        events.push(json!({
            "ph": "M", "name": "process_name", "pid": pid, "tid": 0,
            "args": { "name": format!("{name} (chain {})", chain_of(run)) },
        }));
        let lanes = lanes(run);
        for lane in 0..lanes.iter().copied().max().map_or(0, |m| m + 1) {
            events.push(json!({
                "ph": "M", "name": "thread_name", "pid": pid, "tid": lane + 1,
                "args": { "name": format!("lane {}", lane + 1) },
            }));
        }
        for (node, lane) in run.nodes.iter().zip(lanes) {
            events.push(slice(run, node, pid, lane + 1));
        }
    }
    let mut out = serde_json::to_string(&Value::Array(events)).unwrap_or_else(|_| "[]".into());
    out.push('\n');
    out
}

fn chain_of(run: &Run) -> &str {
    run.nodes.first().map_or("", |n| n.event.chain_id.as_str())
}

/// A lane per node: the first lane where it overlaps no slice partly (each slice there
/// either holds it, lies inside it, or is clear of it), so that complete slices nest.
/// Nodes come parent first, so a child usually lands in its parent's lane.
fn lanes(run: &Run) -> Vec<usize> {
    let mut lanes: Vec<Vec<(u64, u64)>> = Vec::new();
    let mut placed = Vec::with_capacity(run.nodes.len());
    for node in &run.nodes {
        let (start, end) = span_ms(run, node);
        let fits = |slices: &Vec<(u64, u64)>| {
            slices.iter().all(|&(s, e)| {
                let clear = e <= start || end <= s;
                let nested = (s <= start && end <= e) || (start <= s && e <= end);
                clear || nested
            })
        };
        let lane = match lanes.iter().position(fits) {
            Some(lane) => lane,
            None => {
                lanes.push(Vec::new());
                lanes.len() - 1
            }
        };
        if let Some(slices) = lanes.get_mut(lane) {
            slices.push((start, end));
        }
        placed.push(lane);
    }
    placed
}

/// Start and end of `node`, ms after the run's start; a running event lasts to the end of
/// the run.
fn span_ms(run: &Run, node: &Node) -> (u64, u64) {
    let start = node.offset_ms;
    let end = match node.duration_ms {
        Some(d) => start + d,
        None => run.total_ms.max(start),
    };
    (start, end)
}

fn slice(run: &Run, node: &Node, pid: usize, tid: usize) -> Value {
    let event = &node.event;
    let (start, end) = span_ms(run, node);
    let precise_ms = metric(event, "duration_ms").filter(|_| node.duration_ms.is_some());
    let dur_us = precise_ms.map_or((end - start) as f64 * 1000.0, |ms| ms * 1000.0);
    let name = event.sequence.as_ref().map_or("?", |s| s.name.as_str());
    let failed = matches!(event.conclusion, Some(Conclusion::Failure));
    let mut args = Map::new();
    let conclusion = event.conclusion.map_or("RUNNING", Conclusion::as_str);
    args.insert("conclusion".into(), conclusion.into());
    args.insert("id".into(), event.id.as_str().into());
    if let Some(parent) = &event.parent {
        args.insert("parent".into(), parent.event_id.as_str().into());
    }
    if let Some(seq) = &event.sequence {
        args.insert("kind".into(), seq.kind.as_str().into());
        args.insert("key".into(), seq.key.as_str().into());
    }
    if let Some(payload) = &event.payload {
        for tag in &payload.tags {
            let v = match &tag.v {
                TagValue::Int(i) => json!(i),
                TagValue::UInt(u) => json!(u),
                TagValue::Float(f) => json!(f),
                TagValue::Str(s) => json!(s),
            };
            args.insert(tag.k.clone(), v);
        }
        for m in &payload.metrics {
            args.insert(m.k.clone(), json!(m.v));
        }
    }
    let mut slice = json!({
        "ph": "X",
        "name": if failed { format!("✘ {name}") } else { name.to_owned() },
        "cat": event.sequence.as_ref().map_or("event", |s| s.kind.as_str()),
        "pid": pid,
        "tid": tid,
        "ts": (run.start_ms + start) as f64 * 1000.0,
        "dur": dur_us,
        "args": args,
    });
    let colour = match event.conclusion {
        Some(Conclusion::Failure) => Some("terrible"),
        Some(Conclusion::Cancelled | Conclusion::TimedOut) => Some("bad"),
        None => Some("grey"),
        _ => None,
    };
    if let (Some(c), Some(obj)) = (colour, slice.as_object_mut()) {
        obj.insert("cname".into(), c.into());
    }
    slice
}

fn metric(event: &Event, key: &str) -> Option<f64> {
    event
        .payload
        .as_ref()?
        .metrics
        .iter()
        .find(|m| m.k == key)
        .map(|m| m.v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tree;

    fn event(id: &str, parent: Option<&str>, start: u64, ms: u64, c: Conclusion) -> Event {
        serde_json::from_value(json!({
            "id": id, "chainId": "root",
            "parent": parent.map(|p| json!({"eventId": p, "sequenceKey": "k"})),
            "createdAt": start, "finishedAt": start + ms, "conclusion": c.as_str(),
            "payload": {"metrics": [{"k": "duration_ms", "v": ms as f64 + 0.25}], "tags": [{"k": "shard", "v": 2}]},
            "sequence": {"platform": "local", "kind": "step", "key": id, "name": id,
                         "payload": {"metrics": [], "tags": []}},
        }))
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn slices_nest_and_overlapping_siblings_get_their_own_lane() {
        let runs = tree::build(vec![
            event("root", None, 1_000, 100, Conclusion::Failure),
            // Two siblings that overlap (threads): they cannot share a lane.
            event("a", Some("root"), 1_010, 50, Conclusion::Success),
            event("b", Some("root"), 1_020, 50, Conclusion::Failure),
            event("a1", Some("a"), 1_015, 10, Conclusion::Success),
        ]);
        let trace: Vec<Value> =
            serde_json::from_str(&render(&runs)).unwrap_or_else(|e| panic!("{e}"));
        let slices: Vec<&Value> = trace.iter().filter(|e| e["ph"] == "X").collect();
        assert_eq!(slices.len(), 4);
        let by = |name: &str| {
            slices
                .iter()
                .find(|s| s["args"]["id"] == name)
                .copied()
                .unwrap_or_else(|| panic!("{name}"))
        };
        assert_eq!(by("root")["name"], "✘ root");
        assert_eq!(by("root")["cname"], "terrible");
        assert_eq!(by("a")["tid"], by("root")["tid"]);
        assert_eq!(by("a1")["tid"], by("a")["tid"]);
        assert_ne!(by("b")["tid"], by("a")["tid"]);
        assert_eq!(by("a")["ts"], 1_010_000.0);
        assert_eq!(by("a")["dur"], 50_250.0);
        assert_eq!(by("b")["args"]["shard"], 2);
        assert!(trace.iter().any(|e| e["name"] == "process_name"));
    }
}
