//! An event started in one process and finished in another — a CI job opened by its first
//! step and closed by its last (`trunk-ci-analytics job start` / `job finish`), each step a
//! process of its own. What the finishing process needs travels as one line of text (an
//! environment variable, a file): the event's id, chain, parent, sequence, start time and
//! tags. Finished there, it is the same event: same id, same `createdAt`.

mod json;

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::Conclusion;
use crate::api::global;
use crate::hot_path::event::finish;
use crate::model::id;
use crate::model::site::{DynSite, Meta, shorten_key};
use crate::model::values::Extras;
use crate::model::wire::TagValue;
use crate::pipeline::peek_chain;
use crate::platform::clock;
use crate::record::Frame;
use crate::record::lineage::{Chain, EventContext, ParentRef, RemoteParent};

/// A running event handed over to another process to finish, made by
/// [`ManualEvent::hand_over`](crate::ManualEvent::hand_over). Its text form
/// ([`Display`](fmt::Display), [`FromStr`]) is one line of JSON, for an environment
/// variable or a file; it holds no secret (names, ids, times and the tags you gave).
///
/// ```
/// use trunk_ci_analytics::{Conclusion, EventBuilder, HandOver};
/// # let _guard = trunk_ci_analytics::init(Default::default());
///
/// // In the process that starts the job:
/// let job = EventBuilder::new("test [linux]").kind("job").start();
/// let text = job.hand_over().map(|h| h.to_string()).unwrap_or_default();
/// // ... `text` reaches the last step's process, which finishes it:
/// if let Ok(job) = text.parse::<HandOver>() {
///     job.finish(Conclusion::Success);
/// }
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct HandOver {
    id: String,
    chain: String,
    parent: Option<Parent>,
    name: String,
    key: String,
    kind: String,
    platform: Option<String>,
    /// Nanoseconds since the Unix epoch.
    start_ns: u64,
    tags: Vec<(String, TagValue)>,
    sequence_tags: Vec<(String, TagValue)>,
}

#[derive(Clone, Debug, PartialEq)]
struct Parent {
    event_id: String,
    sequence_key: String,
}

/// Why a text is not a [`HandOver`].
#[derive(Debug)]
pub struct HandOverError(String);

impl fmt::Display for HandOverError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not a handed-over event: {}", self.0)
    }
}

impl std::error::Error for HandOverError {}

impl HandOver {
    /// What a finishing process needs of `frame`.
    pub(crate) fn of(frame: &Frame) -> HandOver {
        let text = |tags: &[(Cow<'static, str>, TagValue)]| {
            tags.iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect::<Vec<_>>()
        };
        HandOver {
            id: id::format(frame.id),
            chain: frame.chain.to_wire(),
            parent: frame.parent.as_ref().map(|p| Parent {
                event_id: p.event_id(),
                sequence_key: p.sequence_key(),
            }),
            name: frame.meta.name().to_owned(),
            key: frame.meta.key().to_owned(),
            kind: frame.meta.kind().to_owned(),
            platform: frame.meta.platform().map(str::to_owned),
            start_ns: clock::epoch_ns(frame.start),
            tags: frame
                .extras
                .as_deref()
                .map(|e| text(&e.tags))
                .unwrap_or_default(),
            sequence_tags: text(frame.meta.static_sequence_tags()),
        }
    }

    /// The event's id.
    ///
    /// ```
    /// # use trunk_ci_analytics::{EventBuilder, HandOver};
    /// # let _guard = trunk_ci_analytics::init(Default::default());
    /// let job = EventBuilder::new("job").start().hand_over();
    /// # if let Some(job) = job {
    /// assert_eq!(job.event_id().len(), 16);
    /// # }
    /// ```
    pub fn event_id(&self) -> &str {
        &self.id
    }

    /// When the event started.
    ///
    /// ```
    /// # use trunk_ci_analytics::EventBuilder;
    /// # let _guard = trunk_ci_analytics::init(Default::default());
    /// if let Some(job) = EventBuilder::new("job").start().hand_over() {
    ///     assert!(job.started() <= std::time::SystemTime::now());
    /// }
    /// ```
    pub fn started(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_nanos(self.start_ns)
    }

    /// The context the event itself had as its parent, if any: what the finishing process
    /// should run under (`Config::parent`), so it is the root of the event's tree again —
    /// the process that draws the run's summary — rather than a child of the event.
    ///
    /// ```
    /// # use trunk_ci_analytics::EventBuilder;
    /// # let _guard = trunk_ci_analytics::init(Default::default());
    /// if let Some(job) = EventBuilder::new("job").root().start().hand_over() {
    ///     assert!(job.parent_context().is_none());
    /// }
    /// ```
    pub fn parent_context(&self) -> Option<EventContext> {
        self.parent.as_ref().map(|p| {
            EventContext::from_ids(
                self.chain.clone(),
                p.event_id.clone(),
                p.sequence_key.clone(),
            )
        })
    }

    /// The context that makes work in other processes children of this event.
    ///
    /// ```
    /// # use trunk_ci_analytics::EventBuilder;
    /// # let _guard = trunk_ci_analytics::init(Default::default());
    /// if let Some(job) = EventBuilder::new("job").start().hand_over() {
    ///     assert_eq!(job.context().event_id(), job.event_id());
    /// }
    /// ```
    pub fn context(&self) -> EventContext {
        EventContext::from_ids(self.chain.clone(), self.id.clone(), self.key.clone())
    }

    /// The worst conclusion among the events other processes of this run recorded directly
    /// under this one so far (the steps of a job: `FAILURE` or `TIMED_OUT` first, then
    /// `CANCELLED`), from the run's chain file; `None` when none was seen. Events of
    /// processes that print no summary (`TRUNK_CI_ANALYTICS_LOG=off`) are not in the file.
    ///
    /// ```
    /// # use trunk_ci_analytics::EventBuilder;
    /// # let _guard = trunk_ci_analytics::init(Default::default());
    /// if let Some(job) = EventBuilder::new("job").start().hand_over() {
    ///     assert_eq!(job.conclusion_of_children(), None); // no step ran yet
    /// }
    /// ```
    pub fn conclusion_of_children(&self) -> Option<Conclusion> {
        let id = id::parse(&self.id)?;
        let chain = id::parse(&self.chain)?;
        peek_chain(chain)
            .into_iter()
            .filter(|(parent, _)| *parent == Some(id))
            .map(|(_, conclusion)| conclusion)
            .max_by_key(|c| match c {
                Conclusion::Failure | Conclusion::TimedOut => 3,
                Conclusion::Cancelled => 2,
                Conclusion::Success => 1,
                Conclusion::Skipped => 0,
            })
    }

    /// Finishes the event now, in this process, with `conclusion`: the same id and start as
    /// when it was handed over. Nothing happens with analytics off.
    ///
    /// ```
    /// use trunk_ci_analytics::{Conclusion, EventBuilder};
    /// # let _guard = trunk_ci_analytics::init(Default::default());
    /// if let Some(job) = EventBuilder::new("deploy").start().hand_over() {
    ///     job.finish(Conclusion::Skipped);
    /// }
    /// ```
    pub fn finish(self, conclusion: Conclusion) {
        if !global::enabled() {
            return;
        }
        let Some(id) = id::parse(&self.id) else {
            crate::log!(
                Warn,
                "a handed-over event has no id of ours ({}): not recorded",
                self.id
            );
            return;
        };
        let start = clock::reading_at(self.started());
        let frame = Frame {
            id,
            meta: self.meta(),
            chain: if id::parse(&self.chain) == Some(id) {
                Chain::Local(id)
            } else {
                Chain::Remote(Arc::new(self.chain.clone()))
            },
            parent: self.parent.as_ref().map(|p| {
                ParentRef::Remote(Arc::new(RemoteParent {
                    event_id: p.event_id.clone(),
                    sequence_key: p.sequence_key.clone(),
                }))
            }),
            start,
            conclusion: None,
            extras: self.extras(),
        };
        finish(frame, clock::now(), conclusion);
    }

    fn meta(&self) -> Meta {
        Meta::Dynamic(Arc::new(DynSite {
            name: self.name.clone(),
            key: shorten_key(self.key.clone()),
            kind: self.kind.clone(),
            platform: self.platform.clone(),
            sequence_tags: self
                .sequence_tags
                .iter()
                .map(|(k, v)| (Cow::Owned(k.clone()), v.clone()))
                .collect(),
        }))
    }

    fn extras(&self) -> Option<Box<Extras>> {
        if self.tags.is_empty() {
            return None;
        }
        let mut extras = Extras::default();
        for (k, v) in &self.tags {
            extras.push_tag(Cow::Owned(k.clone()), v.clone());
        }
        Some(Box::new(extras))
    }
}

impl fmt::Display for HandOver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = serde_json::to_string(self).map_err(|_| fmt::Error)?;
        f.write_str(&text)
    }
}

impl FromStr for HandOver {
    type Err = HandOverError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let handed: HandOver =
            serde_json::from_str(text.trim()).map_err(|e| HandOverError(e.to_string()))?;
        if id::parse(&handed.id).is_none() {
            return Err(HandOverError(format!("`{}` is not an event id", handed.id)));
        }
        Ok(handed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handed() -> HandOver {
        HandOver {
            id: "00000000000000ab".into(),
            chain: "00000000000000ab".into(),
            parent: None,
            name: "CI / test".into(),
            key: "CI / test".into(),
            kind: "job".into(),
            platform: None,
            start_ns: 1_700_000_000_123_456_789,
            tags: vec![
                ("os".into(), TagValue::from("Linux")),
                ("shard".into(), TagValue::from(2)),
            ],
            sequence_tags: Vec::new(),
        }
    }

    #[test]
    fn its_text_is_one_line_that_reads_back_the_same() {
        let text = handed().to_string();
        assert!(!text.contains('\n'), "{text}");
        assert_eq!(text.parse::<HandOver>().ok(), Some(handed()));
        assert_eq!(
            handed().started(),
            UNIX_EPOCH + Duration::from_nanos(1_700_000_000_123_456_789)
        );
    }

    #[test]
    fn a_text_without_an_id_of_ours_is_refused_with_the_reason() {
        let mut other = handed();
        other.id = "../../etc".into();
        let error = other
            .to_string()
            .parse::<HandOver>()
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            error.as_deref(),
            Some("not a handed-over event: `../../etc` is not an event id")
        );
        assert!("{".parse::<HandOver>().is_err());
    }
}
