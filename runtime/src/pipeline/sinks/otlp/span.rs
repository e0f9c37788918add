//! One event as one span (DESIGN §9): its ids, times, status and attributes, read straight
//! from the [`Record`] for the encoders, borrowing rather than copying.

use std::cell::OnceCell;

use crate::Conclusion;
use crate::model::id::otel::{span_id, span_id_of, trace_id};
use crate::model::wire::TagValue;
use crate::platform::clock;
use crate::record::Record;
use crate::record::lineage::{Chain, ParentRef, inherited};

/// The tag whose text becomes the status message of a failed span.
pub(crate) const ERROR_MESSAGE: &str = "error.message";

/// An attribute value; numbers stay numbers.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Attr<'a> {
    Str(&'a str),
    Int(i64),
    Double(f64),
}

/// What a span is, besides its attributes.
#[derive(Debug)]
pub(crate) struct SpanData<'a> {
    pub(crate) trace_id: [u8; 16],
    pub(crate) span_id: [u8; 8],
    pub(crate) parent: Option<[u8; 8]>,
    pub(crate) name: &'a str,
    pub(crate) start_ns: u64,
    pub(crate) end_ns: u64,
    /// Status ERROR (else UNSET).
    pub(crate) error: bool,
    pub(crate) message: Option<&'a str>,
}

/// The ids of the inherited context, worked out once: every event of a build script under a
/// tracked step has them.
#[derive(Debug, Default)]
pub(crate) struct Ids {
    inherited_trace: OnceCell<[u8; 16]>,
    inherited_parent: OnceCell<[u8; 8]>,
}

impl Ids {
    fn trace(&self, chain: &Chain) -> [u8; 16] {
        match chain {
            // Our chain ids are 16 hex digits of the root's id: `trace_id` of that text,
            // without formatting it.
            Chain::Local(id) if *id != 0 => {
                let mut out = [0; 16];
                out[8..].copy_from_slice(&id.to_be_bytes());
                out
            }
            Chain::Inherited => *self
                .inherited_trace
                .get_or_init(|| trace_id(&chain.to_wire())),
            other => trace_id(&other.to_wire()),
        }
    }

    fn parent(&self, parent: &ParentRef) -> [u8; 8] {
        match parent {
            ParentRef::Local { id, .. } => span_id(*id),
            ParentRef::Remote(r) => span_id_of(&r.event_id),
            ParentRef::Inherited => *self
                .inherited_parent
                .get_or_init(|| span_id_of(&inherited().map(|c| c.event_id()).unwrap_or_default())),
        }
    }
}

/// The span of `record`.
pub(crate) fn data<'a>(record: &'a Record, ids: &Ids) -> SpanData<'a> {
    let frame = &record.frame;
    let start_ns = clock::epoch_ns(frame.start);
    let error = matches!(
        record.conclusion,
        Conclusion::Failure | Conclusion::TimedOut | Conclusion::Cancelled
    );
    let message = error
        .then(|| {
            frame.extras.as_deref().and_then(|e| {
                // `#[track_event(err)]` keeps the text apart; a tag set by hand also counts.
                e.error.as_deref().or_else(|| {
                    e.tags.iter().find_map(|(k, v)| match v {
                        TagValue::Str(s) if k == ERROR_MESSAGE => Some(s.as_str()),
                        _ => None,
                    })
                })
            })
        })
        .flatten();
    SpanData {
        trace_id: ids.trace(&frame.chain),
        span_id: span_id(frame.id),
        parent: frame.parent.as_ref().map(|p| ids.parent(p)),
        name: frame.meta.name(),
        start_ns,
        end_ns: clock::epoch_ns(record.end).max(start_ns),
        error,
        message,
    }
}

/// The CI/CD semantic-convention value of a conclusion (`cicd.pipeline.task.run.result`).
pub(crate) fn run_result(c: Conclusion) -> &'static str {
    match c {
        Conclusion::Success => "success",
        Conclusion::Failure => "failure",
        Conclusion::TimedOut => "timeout",
        Conclusion::Cancelled => "cancellation",
        Conclusion::Skipped => "skip",
    }
}

/// A tag as an attribute value; `None` for what OTLP cannot carry well (a NaN).
fn tag_attr(v: &TagValue) -> Option<Attr<'_>> {
    Some(match v {
        TagValue::Int(i) => Attr::Int(*i),
        TagValue::UInt(u) => i64::try_from(*u).map_or(Attr::Double(*u as f64), Attr::Int),
        TagValue::Float(f) if f.is_finite() => Attr::Double(*f),
        TagValue::Float(_) => return None,
        TagValue::Str(s) => Attr::Str(s),
    })
}

/// Every attribute of `record`'s span that is its own (the process's are encoded once).
pub(crate) fn attributes(record: &Record, emit: &mut dyn FnMut(&str, Attr<'_>)) {
    let frame = &record.frame;
    let extras = frame.extras.as_deref();
    let tags = extras.map(|e| e.tags.as_slice()).unwrap_or_default();
    let seq_tags = extras
        .map(|e| e.sequence_tags.as_slice())
        .unwrap_or_default();
    for (k, v) in tags
        .iter()
        .chain(frame.meta.static_sequence_tags())
        .chain(seq_tags)
    {
        if let Some(v) = tag_attr(v) {
            emit(k, v);
        }
    }
    for (k, v) in extras.map(|e| e.metrics.as_slice()).unwrap_or_default() {
        if v.is_finite() {
            emit(k, Attr::Double(*v));
        }
    }
    emit("duration_ms", Attr::Double(record.duration_ms()));
    emit(
        "cicd.pipeline.task.run.result",
        Attr::Str(run_result(record.conclusion)),
    );
    // Every event is a task of the run's pipeline (the pipeline's name and run id are on the
    // resource); a CI job event is its job's task.
    emit("cicd.pipeline.task.name", Attr::Str(frame.meta.name()));
    emit("trunk.sequence.key", Attr::Str(frame.meta.key()));
    emit("trunk.sequence.kind", Attr::Str(frame.meta.kind()));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::tests::record;

    #[test]
    fn a_root_of_ours_gets_its_chain_as_trace_id() {
        let mut r = record(0xabc);
        r.conclusion = Conclusion::TimedOut;
        let d = data(&r, &Ids::default());
        assert_eq!(d.trace_id, trace_id(&crate::model::id::format(0xabc)));
        assert_eq!(d.span_id, span_id(0xabc));
        assert!(d.parent.is_none() && d.error && d.end_ns >= d.start_ns);
        let mut names = Vec::new();
        attributes(&r, &mut |k, v| names.push(format!("{k}={v:?}")));
        assert!(names.contains(&"cicd.pipeline.task.run.result=Str(\"timeout\")".to_owned()));
    }

    #[test]
    fn numbers_stay_numbers() {
        assert!(matches!(tag_attr(&TagValue::Int(-3)), Some(Attr::Int(-3))));
        assert!(matches!(
            tag_attr(&TagValue::UInt(u64::MAX)),
            Some(Attr::Double(_))
        ));
        assert!(tag_attr(&TagValue::Float(f64::NAN)).is_none());
        assert!(matches!(
            tag_attr(&TagValue::Str("x".into())),
            Some(Attr::Str("x"))
        ));
    }
}
