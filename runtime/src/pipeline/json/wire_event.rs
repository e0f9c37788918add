//! A finished [`Record`] as the owned wire [`Event`] of the trackEvents API (and of
//! `TRUNK_EVENTS_FILE`). Tests only: the reference the direct encoder ([`super::event`]) is
//! checked against; the runtime itself writes the JSON straight from the record.

use crate::config::detect::process_info::ProcessInfo;
use crate::model::id;
use crate::model::wire::{Event, Metric, Parent, Payload, Sequence, Tag, TagValue};
use crate::platform::clock::EventTimes;
use crate::record::Record;

/// The wire event of `record`, with the tags every event of this process carries.
pub(crate) fn wire_event(record: &Record, info: &ProcessInfo) -> Event {
    let frame = &record.frame;
    let times = EventTimes::of(frame.start, record.end);
    let extras = frame.extras.as_deref();

    let mut metrics = vec![Metric {
        k: "duration_ms".into(),
        v: times.duration_ms(),
    }];
    for (k, v) in extras.map(|e| e.metrics.as_slice()).unwrap_or_default() {
        if v.is_finite() {
            metrics.push(Metric {
                k: k.to_string(),
                v: *v,
            });
        } else {
            crate::warn_once!(
                "metric `{k}` of `{}` is {v}, which JSON cannot carry: dropped",
                frame.meta.name()
            );
        }
    }

    let user_tags = extras.map(|e| e.tags.as_slice()).unwrap_or_default();
    let mut tags: Vec<Tag> = info
        .tags
        .iter()
        .filter(|(k, _)| !user_tags.iter().any(|(u, _)| u == k))
        .map(|(k, v)| Tag {
            k: k.clone(),
            v: v.clone(),
        })
        .collect();
    tags.extend(
        user_tags
            .iter()
            .filter_map(|(k, v)| finite_tag(k, v, frame.meta.name())),
    );

    let seq_tags = frame
        .meta
        .static_sequence_tags()
        .iter()
        .chain(
            extras
                .map(|e| e.sequence_tags.as_slice())
                .unwrap_or_default(),
        )
        .filter_map(|(k, v)| finite_tag(k, v, frame.meta.name()))
        .collect();

    Event {
        id: id::format(frame.id),
        chain_id: frame.chain.to_wire(),
        parent: frame.parent.as_ref().map(|p| Parent {
            event_id: p.event_id(),
            sequence_key: p.sequence_key(),
        }),
        created_at: times.created_ms,
        finished_at: Some(times.finished_ms),
        conclusion: Some(record.conclusion),
        payload: Some(Payload { metrics, tags }),
        sequence: Some(Sequence {
            platform: frame.meta.platform().unwrap_or(&info.platform).to_owned(),
            kind: frame.meta.kind().to_owned(),
            key: frame.meta.key().to_owned(),
            name: frame.meta.name().to_owned(),
            payload: Payload {
                metrics: Vec::new(),
                tags: seq_tags,
            },
        }),
    }
}

fn finite_tag(k: &str, v: &TagValue, event: &str) -> Option<Tag> {
    match v {
        TagValue::Float(f) if !f.is_finite() => {
            crate::warn_once!("tag `{k}` of `{event}` is {f}, which JSON cannot carry: dropped");
            None
        }
        v => Some(Tag {
            k: k.to_owned(),
            v: v.clone(),
        }),
    }
}
