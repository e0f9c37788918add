//! A finished [`Record`] as the JSON of one wire [`Event`](crate::model::wire::Event), written
//! straight into the buffer it goes out in (a batch body, the events file): nothing owned
//! is built per event. The tags every event of the process carries are encoded once.

use super::text;
use crate::config::detect::process_info::ProcessInfo;
use crate::model::site::{Meta, Site};
use crate::model::values::Extras;
use crate::model::wire::TagValue;
use crate::platform::clock::{self, EventTimes};
use crate::record::lineage::{Chain, ParentRef, inherited};
use crate::record::{Frame, Record};

/// Writes records as wire events for one process.
#[derive(Debug, Default)]
pub(crate) struct EventEncoder {
    /// The detected platform, as a JSON string.
    platform: Vec<u8>,
    /// Each process tag's key and its `{"k":..,"v":..}`, for events that override some.
    tags: Vec<(String, Vec<u8>)>,
    /// All of them, comma-separated: what an event without tags of its own carries.
    all_tags: Vec<u8>,
    /// The JSON of `#[track_event]` sites seen, by address (a direct-mapped cache: a
    /// program's hot sites are few).
    sites: Vec<SiteJson>,
}

/// Slots of the site cache.
const SITE_SLOTS: usize = 64;

/// A site's strings as JSON, built once.
#[derive(Debug, Default)]
struct SiteJson {
    /// The site's address; 0 in an empty slot.
    addr: usize,
    /// `"key"`, for its children's `parent.sequenceKey`.
    key: Vec<u8>,
    /// `"sequence":{"platform":..,"kind":..,"key":..,"name":..,"payload":{"metrics":[],"tags":[`
    sequence: Vec<u8>,
    /// Everything after the duration's value of an event without extras: the process tags,
    /// the sequence, the closing brackets. One copy instead of several.
    rest: Vec<u8>,
}

impl EventEncoder {
    pub(crate) fn new(info: &ProcessInfo) -> EventEncoder {
        let mut platform = Vec::new();
        text::string(&mut platform, &info.platform);
        let tags: Vec<(String, Vec<u8>)> = info
            .tags
            .iter()
            .filter(|(k, v)| finite(k, v, "every event"))
            .map(|(k, v)| {
                let mut json = Vec::new();
                text::tag(&mut json, k, v);
                (k.clone(), json)
            })
            .collect();
        let all_tags = tags
            .iter()
            .map(|(_, json)| json.as_slice())
            .collect::<Vec<_>>()
            .join(&b","[..]);
        EventEncoder {
            platform,
            tags,
            all_tags,
            sites: Vec::new(),
        }
    }

    /// The JSON of `site`, from the cache or built now.
    fn site(&mut self, site: &'static Site) -> &SiteJson {
        let addr = std::ptr::from_ref(site) as usize;
        if self.sites.is_empty() {
            self.sites.resize_with(SITE_SLOTS, SiteJson::default);
        }
        // Sites are statics at least a word apart: the low bits carry little.
        let slot = (addr >> 3) % SITE_SLOTS;
        if self.sites[slot].addr != addr {
            let meta = Meta::Static(site);
            let mut key = Vec::new();
            text::string(&mut key, meta.key());
            let mut sequence = Vec::new();
            sequence_head(&mut sequence, &meta, &self.platform);
            let mut rest = b"}],\"tags\":[".to_vec();
            rest.extend_from_slice(&self.all_tags);
            rest.extend_from_slice(b"]},");
            rest.extend_from_slice(&sequence);
            // A `#[track_event]` site has no sequence tags of its own.
            rest.extend_from_slice(b"]}}}");
            self.sites[slot] = SiteJson {
                addr,
                key,
                sequence,
                rest,
            };
        }
        &self.sites[slot]
    }

    /// Appends `record`'s wire event to `buf`.
    pub(crate) fn encode(&mut self, record: &Record, buf: &mut Vec<u8>) {
        let frame = &record.frame;
        let meta = &frame.meta;
        let times = EventTimes::of(frame.start, record.end);
        let extras = frame.extras.as_deref();

        self.head(frame, buf);
        text::created_finished(buf, times.created_ms, times.finished_ms);
        buf.extend_from_slice(b",\"conclusion\":\"");
        buf.extend_from_slice(record.conclusion.as_str().as_bytes());
        buf.extend_from_slice(b"\",\"payload\":{\"metrics\":[{\"k\":\"duration_ms\",\"v\":");
        text::ns_as_ms(buf, times.duration_ns);
        if let (None, Meta::Static(site)) = (extras, meta) {
            debug_assert!(meta.static_sequence_tags().is_empty());
            buf.extend_from_slice(&self.site(site).rest);
            return;
        }
        buf.push(b'}');
        self.tail(meta, extras, buf);
    }

    /// Appends the *started* event of `frame`, still running, to `buf`: its id, chain,
    /// parent, start and sequence, without `finishedAt`, `conclusion` or metrics (the
    /// finished event, with the same id, replaces it). Rare: no cached shortcut.
    pub(crate) fn encode_started(&mut self, frame: &Frame, buf: &mut Vec<u8>) {
        self.head(frame, buf);
        buf.extend_from_slice(b",\"createdAt\":");
        text::epoch_ms(buf, clock::epoch_ms(frame.start));
        buf.extend_from_slice(b",\"payload\":{\"metrics\":[");
        self.tail(&frame.meta, frame.extras.as_deref(), buf);
    }

    /// `{"id":..,"chainId":..` and the parent, if any.
    fn head(&mut self, frame: &Frame, buf: &mut Vec<u8>) {
        buf.extend_from_slice(b"{\"id\":");
        text::hex_id(buf, frame.id);
        buf.extend_from_slice(b",\"chainId\":");
        chain(buf, &frame.chain);
        if let Some(p) = &frame.parent {
            buf.extend_from_slice(b",\"parent\":{\"eventId\":");
            parent_id(buf, p);
            buf.extend_from_slice(b",\"sequenceKey\":");
            match p {
                ParentRef::Local {
                    meta: Meta::Static(site),
                    ..
                } => buf.extend_from_slice(&self.site(site).key),
                p => parent_key(buf, p),
            }
            buf.push(b'}');
        }
    }

    /// The user's metrics (after any metric already written: each is preceded by a
    /// comma), the tags, the sequence and the closing brackets.
    fn tail(&mut self, meta: &Meta, extras: Option<&Extras>, buf: &mut Vec<u8>) {
        let mut first_metric = buf.last() == Some(&b'[');
        for (k, v) in extras.map(|e| e.metrics.as_slice()).unwrap_or_default() {
            if v.is_finite() {
                comma(buf, &mut first_metric);
                buf.extend_from_slice(b"{\"k\":");
                text::string(buf, k);
                buf.extend_from_slice(b",\"v\":");
                text::metric(buf, *v);
                buf.push(b'}');
            } else {
                crate::warn_once!(
                    "metric `{k}` of `{}` is {v}, which JSON cannot carry: dropped",
                    meta.name()
                );
            }
        }
        buf.extend_from_slice(b"],\"tags\":[");
        let user_tags = extras.map(|e| e.tags.as_slice()).unwrap_or_default();
        let mut first = true;
        if user_tags.is_empty() {
            buf.extend_from_slice(&self.all_tags);
            first = self.all_tags.is_empty();
        } else {
            for (k, json) in &self.tags {
                if user_tags.iter().all(|(u, _)| u != k) {
                    comma(buf, &mut first);
                    buf.extend_from_slice(json);
                }
            }
        }
        tags(buf, user_tags, &mut first, meta.name());
        buf.extend_from_slice(b"]},");
        match meta {
            Meta::Static(site) => buf.extend_from_slice(&self.site(site).sequence),
            meta => sequence_head(buf, meta, &self.platform),
        }
        let mut first = true;
        tags(buf, meta.static_sequence_tags(), &mut first, meta.name());
        if let Some(e) = extras {
            tags(buf, &e.sequence_tags, &mut first, meta.name());
        }
        buf.extend_from_slice(b"]}}}");
    }
}

/// The sequence object of `meta` up to its tags.
fn sequence_head(buf: &mut Vec<u8>, meta: &Meta, process_platform: &[u8]) {
    buf.extend_from_slice(b"\"sequence\":{\"platform\":");
    match meta.platform() {
        Some(p) => text::string(buf, p),
        None => buf.extend_from_slice(process_platform),
    }
    buf.extend_from_slice(b",\"kind\":");
    text::string(buf, meta.kind());
    buf.extend_from_slice(b",\"key\":");
    text::string(buf, meta.key());
    buf.extend_from_slice(b",\"name\":");
    text::string(buf, meta.name());
    buf.extend_from_slice(b",\"payload\":{\"metrics\":[],\"tags\":[");
}

fn comma(buf: &mut Vec<u8>, first: &mut bool) {
    if !std::mem::take(first) {
        buf.push(b',');
    }
}

fn tags<K: AsRef<str>>(buf: &mut Vec<u8>, tags: &[(K, TagValue)], first: &mut bool, event: &str) {
    for (k, v) in tags {
        if finite(k.as_ref(), v, event) {
            comma(buf, first);
            text::tag(buf, k.as_ref(), v);
        }
    }
}

/// Whether a tag can go out; JSON has no NaN or infinity, so such a tag is dropped, said
/// once.
fn finite(k: &str, v: &TagValue, event: &str) -> bool {
    match v {
        TagValue::Float(f) if !f.is_finite() => {
            crate::warn_once!("tag `{k}` of `{event}` is {f}, which JSON cannot carry: dropped");
            false
        }
        _ => true,
    }
}

fn chain(buf: &mut Vec<u8>, c: &Chain) {
    match c {
        Chain::Local(id) => text::hex_id(buf, *id),
        Chain::Remote(s) => text::string(buf, s),
        // The inherited context's own chain is never `Inherited`; if it were, "" rather
        // than a loop.
        Chain::Inherited => match inherited().map(|ctx| &ctx.chain) {
            Some(Chain::Local(id)) => text::hex_id(buf, *id),
            Some(Chain::Remote(s)) => text::string(buf, s),
            Some(Chain::Inherited) | None => text::string(buf, ""),
        },
    }
}

fn parent_id(buf: &mut Vec<u8>, p: &ParentRef) {
    match p {
        ParentRef::Local { id, .. } => text::hex_id(buf, *id),
        ParentRef::Remote(r) => text::string(buf, &r.event_id),
        ParentRef::Inherited => match inherited().map(|ctx| &ctx.parent) {
            Some(ParentRef::Local { id, .. }) => text::hex_id(buf, *id),
            Some(ParentRef::Remote(r)) => text::string(buf, &r.event_id),
            Some(ParentRef::Inherited) | None => text::string(buf, ""),
        },
    }
}

fn parent_key(buf: &mut Vec<u8>, p: &ParentRef) {
    match p {
        ParentRef::Local { meta, .. } => text::string(buf, meta.key()),
        ParentRef::Remote(r) => text::string(buf, &r.sequence_key),
        ParentRef::Inherited => match inherited().map(|ctx| &ctx.parent) {
            Some(ParentRef::Local { meta, .. }) => text::string(buf, meta.key()),
            Some(ParentRef::Remote(r)) => text::string(buf, &r.sequence_key),
            Some(ParentRef::Inherited) | None => text::string(buf, ""),
        },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test
mod tests {
    use std::borrow::Cow;
    use std::sync::Arc;

    use super::*;
    use crate::model::site::DynSite;
    use crate::model::values::Extras;
    use crate::model::wire::Event;
    use crate::pipeline::json::wire_event::wire_event;
    use crate::record::lineage::EventContext;
    use crate::record::tests::record_of;

    static STATIC: Site = Site::new(
        "tricky \"name\"",
        None,
        Some("pkg"),
        "m::f",
        "function",
        None,
        false,
        false,
    );
    static STATIC_PARENT: Site = Site::new(
        "p",
        Some("explicit\tkey"),
        None,
        "m::p",
        "step",
        Some("buildkite"),
        false,
        false,
    );

    const TRICKY: &str = "q\"b\\s/ n\n t\t \u{0} \u{1f} \u{7f} é 日本 🦀 \u{2028}";

    fn site(key: &str) -> Meta {
        Meta::Dynamic(Arc::new(DynSite {
            name: format!("name {TRICKY}"),
            key: key.to_owned(),
            kind: "kind\"".into(),
            platform: None,
            sequence_tags: vec![
                (Cow::Borrowed("s1"), TagValue::Str(TRICKY.into())),
                (Cow::Borrowed("inf"), TagValue::Float(f64::INFINITY)),
            ],
        }))
    }

    fn info() -> ProcessInfo {
        ProcessInfo {
            platform: "github_actions".into(),
            tags: vec![
                ("branch".into(), TagValue::Str(TRICKY.into())),
                ("os".into(), "linux".into()),
                ("shard".into(), TagValue::Int(-3)),
            ],
        }
    }

    fn extras() -> Box<Extras> {
        Box::new(Extras::decoded(
            vec![
                (Cow::Borrowed("os"), TagValue::Str("override".into())),
                (Cow::Owned(format!("k{TRICKY}")), TagValue::UInt(u64::MAX)),
                (Cow::Borrowed("i"), TagValue::Int(i64::MIN)),
                (Cow::Borrowed("f"), TagValue::Float(0.1)),
                (Cow::Borrowed("whole"), TagValue::Float(3.0)),
                (Cow::Borrowed("nan"), TagValue::Float(f64::NAN)),
            ],
            vec![
                (Cow::Borrowed("nan"), f64::NAN),
                (Cow::Borrowed("big"), 1e20),
                (Cow::Borrowed("whole"), 12.0),
                (Cow::Borrowed("neg"), -0.5),
                (Cow::Borrowed("inf"), f64::NEG_INFINITY),
            ],
            vec![(Cow::Borrowed("s2"), TagValue::Int(7))],
        ))
    }

    /// Records covering each parent and chain variant, with and without extras.
    fn records() -> Vec<Record> {
        let remote = EventContext::from_ids(TRICKY, "parent\"id", "parent::key\n");
        let mut out = Vec::new();
        for (i, with_extras) in [(0u64, false), (1, true)] {
            let mut root = record_of(0xfedc_ba98_7654_3210 + i, site("a::b"));
            root.frame.extras = with_extras.then(extras);
            root.end = root.frame.start + 123_456_789;
            let mut local = record_of(7 + i, site(TRICKY));
            local.frame.parent = Some(ParentRef::Local {
                id: u64::MAX,
                meta: site("parent::site"),
            });
            local.frame.chain = Chain::Local(u64::MAX);
            local.frame.extras = with_extras.then(extras);
            local.conclusion = crate::Conclusion::TimedOut;
            let mut remote_child = record_of(9 + i, site("c"));
            remote_child.frame.parent = Some(remote.parent.clone());
            remote_child.frame.chain = remote.chain.clone();
            remote_child.frame.extras = with_extras.then(extras);
            let mut static_child = record_of(13 + i, Meta::Static(&STATIC));
            static_child.frame.parent = Some(ParentRef::Local {
                id: 5,
                meta: Meta::Static(&STATIC_PARENT),
            });
            static_child.frame.extras = with_extras.then(extras);
            out.push(static_child);
            let mut inherited_child = record_of(11 + i, site("d"));
            inherited_child.frame.parent = Some(ParentRef::Inherited);
            inherited_child.frame.chain = Chain::Inherited;
            out.extend([root, local, remote_child, inherited_child]);
        }
        out
    }

    #[test]
    fn writes_the_same_json_as_the_owned_wire_event() {
        for info in [info(), ProcessInfo::default()] {
            let mut encoder = EventEncoder::new(&info);
            for record in records() {
                let mut buf = Vec::new();
                encoder.encode(&record, &mut buf);
                let owned = wire_event(&record, &info);
                let expected = serde_json::to_vec(&owned).unwrap_or_default();
                // Byte for byte but for the duration's spelling (`0.000017`, where serde
                // writes `1.7e-5`); its value is compared below.
                assert_eq!(
                    without_duration(&String::from_utf8_lossy(&buf)),
                    without_duration(&String::from_utf8_lossy(&expected))
                );
                let parsed: Event = serde_json::from_slice(&buf).unwrap();
                assert_eq!(parsed, owned);
            }
        }
    }

    /// `json` with the duration metric's value cut out.
    fn without_duration(json: &str) -> String {
        let key = r#"{"k":"duration_ms","v":"#;
        let start = json.find(key).unwrap() + key.len();
        let end = start + json[start..].find('}').unwrap();
        format!("{}{}", &json[..start], &json[end..])
    }

    #[test]
    fn durations_are_whole_nanoseconds_in_milliseconds() {
        let mut encoder = EventEncoder::new(&ProcessInfo::default());
        let mut record = record_of(1, site("a"));
        for span in [0, 17, 1_500_000, 123_456_789, 10_000_000_000] {
            record.end = record.frame.start + span;
            let ns = EventTimes::of(record.frame.start, record.end).duration_ns;
            let mut buf = Vec::new();
            encoder.encode(&record, &mut buf);
            let text = String::from_utf8(buf).unwrap();
            let exact = match ns % 1_000_000 {
                0 => (ns / 1_000_000).to_string(),
                frac => format!("{}.{frac:06}", ns / 1_000_000)
                    .trim_end_matches('0')
                    .to_owned(),
            };
            assert!(
                text.contains(&format!(r#"{{"k":"duration_ms","v":{exact}}}"#)),
                "{ns} ns: {text}"
            );
            let event: Event = serde_json::from_str(&text).unwrap();
            assert_eq!(event.payload.unwrap().metrics[0].v, ns as f64 / 1e6);
        }
    }

    #[test]
    fn drops_non_finite_values_and_keeps_huge_integers() {
        let mut encoder = EventEncoder::new(&info());
        let mut record = record_of(1, site("a"));
        record.frame.extras = Some(extras());
        let mut buf = Vec::new();
        encoder.encode(&record, &mut buf);
        let event: Event = serde_json::from_slice(&buf).unwrap();
        let payload = event.payload.unwrap();
        let metrics: Vec<&str> = payload.metrics.iter().map(|m| m.k.as_str()).collect();
        assert_eq!(metrics, ["duration_ms", "big", "whole", "neg"]);
        assert!(payload.tags.iter().all(|t| t.k != "nan"));
        assert!(payload.tags.contains(&crate::model::wire::Tag {
            k: format!("k{TRICKY}"),
            v: TagValue::UInt(u64::MAX)
        }));
        let os: Vec<_> = payload.tags.iter().filter(|t| t.k == "os").collect();
        assert_eq!(os.len(), 1, "the event's own tag replaces the process's");
        assert_eq!(os[0].v, TagValue::Str("override".into()));
        let text = String::from_utf8(buf).unwrap();
        assert!(text.contains(r#"{"k":"whole","v":12}"#), "{text}");
        assert!(text.contains(r#"{"k":"whole","v":3.0}"#), "{text}");
    }

    #[test]
    fn passes_the_contract_validator() {
        let mut encoder = EventEncoder::new(&info());
        for record in records() {
            if matches!(record.frame.parent, Some(ParentRef::Inherited)) && inherited().is_none() {
                // Without an inherited context (a unit test process) its ids are empty,
                // which the contract rightly refuses.
                continue;
            }
            let mut buf = Vec::new();
            encoder.encode(&record, &mut buf);
            let value: serde_json::Value = serde_json::from_slice(&buf).unwrap();
            let checked = crate::model::validate::validate_event(&value, "event");
            assert!(checked.is_ok(), "{checked:?}: {value}");
        }
    }

    #[test]
    fn a_started_event_is_the_finished_one_without_its_end() {
        let mut encoder = EventEncoder::new(&info());
        // What another thread sees of a running event has no extras (they stay with it).
        for mut record in records() {
            if matches!(record.frame.parent, Some(ParentRef::Inherited)) && inherited().is_none() {
                continue;
            }
            record.frame.extras = None;
            let (mut started, mut finished) = (Vec::new(), Vec::new());
            let frame = record.frame.running_view();
            encoder.encode_started(&frame, &mut started);
            encoder.encode(&record, &mut finished);
            let started: serde_json::Value = serde_json::from_slice(&started).unwrap();
            let finished: serde_json::Value = serde_json::from_slice(&finished).unwrap();
            let checked = crate::model::validate::validate_event(&started, "event");
            assert!(checked.is_ok(), "{checked:?}: {started}");
            for absent in ["finishedAt", "conclusion"] {
                assert!(started.get(absent).is_none(), "{started}");
            }
            assert_eq!(started["payload"]["metrics"], serde_json::json!([]));
            for same in ["id", "chainId", "parent", "createdAt", "sequence"] {
                assert_eq!(started.get(same), finished.get(same), "{same}");
            }
        }
    }
}
