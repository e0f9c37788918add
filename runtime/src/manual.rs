//! Events that are not one function call: a CI runner tracking jobs, a step that starts in
//! one place and ends in another.

use std::borrow::Cow;
use std::sync::Arc;

use crate::context::{self, Entry, EventContext, FrameScope, ParentRef};
use crate::event::{Frame, abandoned};
use crate::site::{DynSite, Meta, shorten_key};
use crate::values::{Extras, MetricValue};
use crate::wire::TagValue;
use crate::{Conclusion, global};

enum ParentChoice {
    Current,
    Root,
    Given(EventContext),
}

/// Builds an event by hand; [`start`](Self::start) begins it.
///
/// ```
/// use trunk_ci_analytics_runtime::{Conclusion, EventBuilder};
///
/// let job = EventBuilder::new("integration tests [linux]")
///     .kind("job")
///     .tag("shard", 2)
///     .start();
/// // ... run the job ...
/// job.finish(Conclusion::TimedOut);
/// ```
#[must_use = "an event builder does nothing until `start`"]
pub struct EventBuilder {
    name: String,
    key: Option<String>,
    kind: String,
    platform: Option<String>,
    parent: ParentChoice,
    extras: Extras,
    sequence_tags: Vec<(Cow<'static, str>, TagValue)>,
}

impl std::fmt::Debug for EventBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventBuilder")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl EventBuilder {
    /// An event named `name` (the sequence name); its key defaults to the name.
    pub fn new(name: impl Into<String>) -> Self {
        EventBuilder {
            name: name.into(),
            key: None,
            kind: "job".into(),
            platform: None,
            parent: ParentChoice::Current,
            extras: Extras::default(),
            sequence_tags: Vec::new(),
        }
    }

    /// The sequence key, unique within the repo (longer than 127 characters is shortened).
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// The sequence kind (default `job`).
    pub fn kind(mut self, kind: impl Into<String>) -> Self {
        self.kind = kind.into();
        self
    }

    /// The platform (default: the detected CI platform).
    pub fn platform(mut self, platform: impl Into<String>) -> Self {
        self.platform = Some(platform.into());
        self
    }

    /// Makes the event a child of `parent` instead of the current context.
    pub fn parent(mut self, parent: &EventContext) -> Self {
        self.parent = ParentChoice::Given(parent.clone());
        self
    }

    /// Starts a new chain even if a parent exists.
    pub fn root(mut self) -> Self {
        self.parent = ParentChoice::Root;
        self
    }

    /// Adds an event tag.
    pub fn tag(mut self, key: impl Into<Cow<'static, str>>, value: impl Into<TagValue>) -> Self {
        self.extras.tags.push((key.into(), value.into()));
        self
    }

    /// Adds an event metric.
    pub fn metric(mut self, key: impl Into<Cow<'static, str>>, value: impl MetricValue) -> Self {
        self.extras.metrics.push((key.into(), value.to_metric()));
        self
    }

    /// Adds a sequence tag.
    pub fn sequence_tag(
        mut self,
        key: impl Into<Cow<'static, str>>,
        value: impl Into<TagValue>,
    ) -> Self {
        self.sequence_tags.push((key.into(), value.into()));
        self
    }

    /// Starts the event now. With analytics off the handle does nothing.
    pub fn start(self) -> ManualEvent {
        if !global::enabled() {
            return ManualEvent { frame: None };
        }
        let key = shorten_key(self.key.unwrap_or_else(|| self.name.clone()));
        let meta = Meta::Dynamic(Arc::new(DynSite {
            name: self.name,
            key,
            kind: self.kind,
            platform: self.platform,
            sequence_tags: self.sequence_tags,
        }));
        let extras = Some(Box::new(self.extras));
        let frame = match self.parent {
            ParentChoice::Current => {
                context::with_stack(|s| Frame::new(s, meta.clone(), false, None))
            }
            ParentChoice::Root => Some(Frame::new(&[], meta.clone(), true, None)),
            ParentChoice::Given(ctx) => Some(Frame::new(
                &[Entry::Attached(ctx)],
                meta.clone(),
                false,
                None,
            )),
        };
        ManualEvent {
            frame: frame.map(|mut f| {
                f.extras = extras;
                f
            }),
        }
    }
}

/// A running event made by [`EventBuilder`]. Finish it with [`finish`](Self::finish);
/// dropped unfinished it is recorded as `CANCELLED` (`FAILURE` during a panic).
#[derive(Debug)]
#[must_use = "a dropped event is recorded as CANCELLED; call `finish`"]
pub struct ManualEvent {
    frame: Option<Frame>,
}

impl ManualEvent {
    /// The handle to make this event the parent of other work (threads, tasks, processes).
    ///
    /// ```
    /// use trunk_ci_analytics_runtime::EventBuilder;
    /// let job = EventBuilder::new("job").start();
    /// if let Some(ctx) = job.context() {
    ///     ctx.attach(|| { /* children of `job` */ });
    /// }
    /// # job.finish(trunk_ci_analytics_runtime::Conclusion::Success);
    /// ```
    pub fn context(&self) -> Option<EventContext> {
        self.frame.as_ref().map(|f| EventContext {
            parent: ParentRef::Local {
                id: f.id,
                meta: f.meta.clone(),
            },
            chain: f.chain.clone(),
        })
    }

    /// Adds a tag.
    pub fn tag(&mut self, key: impl Into<Cow<'static, str>>, value: impl Into<TagValue>) {
        if let Some(f) = self.frame.as_mut() {
            f.extras_mut().tags.push((key.into(), value.into()));
        }
    }

    /// Adds a metric.
    pub fn metric(&mut self, key: impl Into<Cow<'static, str>>, value: impl MetricValue) {
        if let Some(f) = self.frame.as_mut() {
            f.extras_mut().metrics.push((key.into(), value.to_metric()));
        }
    }

    /// Runs `f` with this event current on this thread: tracked calls inside become its
    /// children and [`tag`](crate::tag)/[`metric`](crate::metric)/[`set_conclusion`](crate::set_conclusion) act on it.
    pub fn in_scope<R>(&mut self, f: impl FnOnce() -> R) -> R {
        let _scope = FrameScope::enter(&mut self.frame);
        f()
    }

    /// Ends the event with `conclusion` (a conclusion set inside [`in_scope`](Self::in_scope) wins).
    pub fn finish(mut self, conclusion: Conclusion) {
        if let Some(frame) = self.frame.take() {
            frame.finish(conclusion);
        }
    }
}

impl Drop for ManualEvent {
    fn drop(&mut self) {
        if let Some(frame) = self.frame.take() {
            frame.finish(abandoned());
        }
    }
}
