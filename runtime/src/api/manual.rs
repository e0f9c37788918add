//! Events that are not one function call: a CI runner tracking jobs, a step that starts in
//! one place and ends in another.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::SystemTime;

use crate::Conclusion;
use crate::api::global;
use crate::api::handover::HandOver;
use crate::handoff;
use crate::hot_path::event::{finish, finish_now};
use crate::hot_path::stack::{self, FrameScope};
use crate::model::site::{DynSite, Meta, shorten_key};
use crate::model::values::{Extras, MetricValue};
use crate::model::wire::TagValue;
use crate::platform::clock;
use crate::record::lineage::EventContext;
use crate::record::running::registry;
use crate::record::{Entry, Frame, abandoned};

enum ParentChoice {
    Current,
    Root,
    Given(EventContext),
}

/// Builds an event by hand, for work that is not one function call: a CI runner's jobs, a
/// step that starts in one place and ends in another. [`start`](Self::start) begins it and
/// returns the [`ManualEvent`] that ends it with any [`Conclusion`].
///
/// Unless told otherwise ([`parent`](Self::parent), [`root`](Self::root)) the event is a
/// child of the current context on the thread that calls `start`.
///
/// ```
/// use std::time::Duration;
/// use trunk_ci_analytics::{Conclusion, EventBuilder};
/// # let _guard = trunk_ci_analytics::init(Default::default());
///
/// let job = EventBuilder::new("integration tests [linux]")
///     .kind("job")
///     .tag("shard", 2)
///     .start();
/// let started = std::time::Instant::now();
/// // ... run the job ...
/// let over_deadline = started.elapsed() > Duration::from_secs(600);
/// job.finish(if over_deadline { Conclusion::TimedOut } else { Conclusion::Success });
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
    started_at: Option<SystemTime>,
}

impl std::fmt::Debug for EventBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventBuilder")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl EventBuilder {
    /// An event named `name` (the sequence name). Its key defaults to the name, its kind to
    /// `job`, its platform to the detected CI platform.
    ///
    /// ```
    /// let builder = trunk_ci_analytics::EventBuilder::new("deploy [staging]");
    /// # let _ = builder;
    /// ```
    pub fn new(name: impl Into<String>) -> Self {
        EventBuilder {
            name: name.into(),
            key: None,
            kind: "job".into(),
            platform: None,
            parent: ParentChoice::Current,
            extras: Extras::default(),
            sequence_tags: Vec::new(),
            started_at: None,
        }
    }

    /// The sequence key, unique within the repo: events with the same key are runs of the
    /// same sequence. A key longer than 127 characters is shortened (its head and a hash).
    ///
    /// ```
    /// use trunk_ci_analytics::EventBuilder;
    /// let builder = EventBuilder::new("deploy [staging]").key("ci::deploy::staging");
    /// # let _ = builder;
    /// ```
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// The sequence kind (default `job`), e.g. `workflow`, `step`.
    ///
    /// ```
    /// let builder = trunk_ci_analytics::EventBuilder::new("nightly").kind("workflow");
    /// # let _ = builder;
    /// ```
    pub fn kind(mut self, kind: impl Into<String>) -> Self {
        self.kind = kind.into();
        self
    }

    /// The platform, snake_case (default: the detected CI platform, else `local`).
    ///
    /// ```
    /// let builder = trunk_ci_analytics::EventBuilder::new("import").platform("buildkite");
    /// # let _ = builder;
    /// ```
    pub fn platform(mut self, platform: impl Into<String>) -> Self {
        self.platform = Some(platform.into());
        self
    }

    /// Makes the event a child of `parent` instead of the current context: what a runner
    /// does when it starts jobs from a task that is not polled under the pipeline's event.
    ///
    /// ```
    /// use trunk_ci_analytics::{Conclusion, EventBuilder};
    /// # let _guard = trunk_ci_analytics::init(Default::default());
    ///
    /// let pipeline = EventBuilder::new("pipeline").kind("workflow").start();
    /// if let Some(ctx) = pipeline.context() {
    ///     let job = EventBuilder::new("lint").parent(&ctx).start();
    ///     job.finish(Conclusion::Success);
    /// }
    /// pipeline.finish(Conclusion::Success);
    /// ```
    pub fn parent(mut self, parent: &EventContext) -> Self {
        self.parent = ParentChoice::Given(parent.clone());
        self
    }

    /// Starts a new chain even if a parent exists (e.g. each pipeline a long-running
    /// runner picks up).
    ///
    /// ```
    /// let builder = trunk_ci_analytics::EventBuilder::new("pipeline #42").root();
    /// # let _ = builder;
    /// ```
    pub fn root(mut self) -> Self {
        self.parent = ParentChoice::Root;
        self
    }

    /// Adds an event tag (a string or a number).
    ///
    /// ```
    /// use trunk_ci_analytics::EventBuilder;
    /// let builder = EventBuilder::new("test").tag("os", "linux").tag("shard", 2);
    /// # let _ = builder;
    /// ```
    pub fn tag(mut self, key: impl Into<Cow<'static, str>>, value: impl Into<TagValue>) -> Self {
        self.extras.push_tag(key.into(), value.into());
        self
    }

    /// Adds an event metric (any number, or a `Duration` in milliseconds); `duration_ms` is
    /// always sent as well.
    ///
    /// ```
    /// use trunk_ci_analytics::EventBuilder;
    /// let builder = EventBuilder::new("test").metric("tests", 1200).metric("retries", 3);
    /// # let _ = builder;
    /// ```
    pub fn metric(mut self, key: impl Into<Cow<'static, str>>, value: impl MetricValue) -> Self {
        self.extras.metrics.push((key.into(), value.to_metric()));
        self
    }

    /// Adds a tag of the sequence (`sequence.payload.tags`) rather than of this run.
    ///
    /// ```
    /// use trunk_ci_analytics::EventBuilder;
    /// let builder = EventBuilder::new("test").sequence_tag("team", "platform");
    /// # let _ = builder;
    /// ```
    pub fn sequence_tag(
        mut self,
        key: impl Into<Cow<'static, str>>,
        value: impl Into<TagValue>,
    ) -> Self {
        if let Some(value) = crate::model::tag_bytes::bounded(value.into(), usize::MAX) {
            self.sequence_tags.push((key.into(), value));
        }
        self
    }

    /// Makes the event start at `time` rather than when [`start`](Self::start) is called:
    /// for work measured elsewhere (by another process, a log, a tool's report) and recorded
    /// afterwards, with [`ManualEvent::finish_at`] for its end. The time is the wall clock's,
    /// kept as given (to the nanosecond); it may be before this process started.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use trunk_ci_analytics::{Conclusion, EventBuilder};
    /// # let _guard = trunk_ci_analytics::init(Default::default());
    ///
    /// // A unit of work another process reported: it ran for 1.5 s, ending 2 s ago.
    /// let ended = SystemTime::now() - Duration::from_secs(2);
    /// let started = ended - Duration::from_millis(1500);
    /// EventBuilder::new("compile serde")
    ///     .kind("compile")
    ///     .started_at(started)
    ///     .start()
    ///     .finish_at(ended, Conclusion::Success);
    /// ```
    pub fn started_at(mut self, time: SystemTime) -> Self {
        self.started_at = Some(time);
        self
    }

    /// Starts the event now (or at the time given to [`started_at`](Self::started_at)).
    /// With analytics off the handle does nothing.
    ///
    /// ```
    /// use trunk_ci_analytics::{Conclusion, EventBuilder};
    /// # let _guard = trunk_ci_analytics::init(Default::default());
    ///
    /// let job = EventBuilder::new("docs").start();
    /// job.finish(Conclusion::Skipped);
    /// ```
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
        let start = self.started_at.map_or_else(clock::now, clock::reading_at);
        let frame = match self.parent {
            ParentChoice::Current => {
                stack::with_stack(|s| Frame::new_at(s, meta.clone(), false, None, start))
            }
            ParentChoice::Root => Some(Frame::new_at(&[], meta.clone(), true, None, start)),
            ParentChoice::Given(ctx) => Some(Frame::new_at(
                &[Entry::Attached(ctx)],
                meta.clone(),
                false,
                None,
                start,
            )),
        };
        ManualEvent {
            frame: frame.map(|mut f| {
                f.extras = extras;
                // Off every stack but for its scopes: the registry shows it as running.
                registry::hold(&f);
                f
            }),
        }
    }
}

/// A running event made by [`EventBuilder`]. Finish it with [`finish`](Self::finish);
/// dropped unfinished it is recorded as `CANCELLED` (`FAILURE` during a panic), so a job
/// whose task is aborted is reported as cancelled. It is `Send`: it may end on another
/// thread or task than the one that started it.
///
/// ```
/// use trunk_ci_analytics::{Conclusion, EventBuilder};
/// # let _guard = trunk_ci_analytics::init(Default::default());
///
/// let job = EventBuilder::new("package").start();
/// std::thread::spawn(move || {
///     // ... the job runs here ...
///     job.finish(Conclusion::Success);
/// })
/// .join()
/// .unwrap();
///
/// let aborted = EventBuilder::new("publish").start();
/// drop(aborted); // recorded as CANCELLED
/// ```
#[derive(Debug)]
#[must_use = "a dropped event is recorded as CANCELLED; call `finish`"]
pub struct ManualEvent {
    frame: Option<Frame>,
}

impl ManualEvent {
    /// The handle to make this event the parent of other work (threads, tasks, processes);
    /// `None` with analytics off.
    ///
    /// ```
    /// use trunk_ci_analytics::EventBuilder;
    /// # let _guard = trunk_ci_analytics::init(Default::default());
    /// let job = EventBuilder::new("job").start();
    /// if let Some(ctx) = job.context() {
    ///     ctx.attach(|| { /* children of `job` */ });
    /// }
    /// # job.finish(trunk_ci_analytics::Conclusion::Success);
    /// ```
    pub fn context(&self) -> Option<EventContext> {
        self.frame.as_ref().map(Frame::context)
    }

    /// Adds a tag, e.g. one known only once the work ran.
    ///
    /// ```
    /// use trunk_ci_analytics::{Conclusion, EventBuilder};
    /// # let _guard = trunk_ci_analytics::init(Default::default());
    /// let mut job = EventBuilder::new("test").start();
    /// job.tag("runner", "linux-large");
    /// job.finish(Conclusion::Success);
    /// ```
    pub fn tag(&mut self, key: impl Into<Cow<'static, str>>, value: impl Into<TagValue>) {
        if let Some(f) = self.frame.as_mut() {
            f.extras_mut().push_tag(key.into(), value.into());
        }
    }

    /// Adds a metric, e.g. one known only once the work ran.
    ///
    /// ```
    /// use trunk_ci_analytics::{Conclusion, EventBuilder};
    /// # let _guard = trunk_ci_analytics::init(Default::default());
    /// let mut job = EventBuilder::new("test").start();
    /// job.metric("tests_failed", 0);
    /// job.finish(Conclusion::Success);
    /// ```
    pub fn metric(&mut self, key: impl Into<Cow<'static, str>>, value: impl MetricValue) {
        if let Some(f) = self.frame.as_mut() {
            f.extras_mut().metrics.push((key.into(), value.to_metric()));
        }
    }

    /// Runs `f` with this event current on this thread: tracked calls inside become its
    /// children and [`tag`](crate::tag)/[`metric`](crate::metric)/[`set_conclusion`](crate::set_conclusion) act on it.
    ///
    /// ```
    /// use trunk_ci_analytics::{Conclusion, EventBuilder, track_event};
    /// # let _guard = trunk_ci_analytics::init(Default::default());
    ///
    /// #[track_event]
    /// fn checkout() -> bool { true }
    ///
    /// let mut job = EventBuilder::new("build").start();
    /// let ok = job.in_scope(checkout); // `checkout` is a child of `build`
    /// job.finish(Conclusion::from_success(ok));
    /// ```
    pub fn in_scope<R>(&mut self, f: impl FnOnce() -> R) -> R {
        let _scope = FrameScope::enter(&mut self.frame);
        f()
    }

    /// Sends the event now as a *started* event (its id, chain, parent, start and sequence;
    /// no end, no conclusion), behind everything recorded before, to the sinks that send
    /// started events (`trackEvents`): it shows while it runs even if this process ends
    /// before it does. (Any event running for a second is sent so anyway.)
    ///
    /// ```
    /// use trunk_ci_analytics::{Conclusion, EventBuilder};
    /// # let _guard = trunk_ci_analytics::init(Default::default());
    /// let deploy = EventBuilder::new("deploy").start();
    /// deploy.announce();
    /// deploy.finish(Conclusion::Success);
    /// ```
    pub fn announce(&self) {
        if let Some(frame) = &self.frame {
            handoff::announce(frame.running_view());
        }
    }

    /// Hands the event over to another process to finish ([`HandOver::finish`]): it is
    /// [announced](Self::announce) as started, stops being tracked here (no end is recorded
    /// and nothing is cancelled when this process ends), and comes back as the text of a
    /// [`HandOver`]. `None` with analytics off.
    ///
    /// ```
    /// use trunk_ci_analytics::EventBuilder;
    /// # let _guard = trunk_ci_analytics::init(Default::default());
    /// let job = EventBuilder::new("integration [linux]").kind("job").start();
    /// if let Some(handed) = job.hand_over() {
    ///     // e.g. into $GITHUB_ENV, for the job's last step
    ///     println!("TRUNK_JOB={handed}");
    /// }
    /// ```
    pub fn hand_over(mut self) -> Option<HandOver> {
        let frame = self.frame.take()?;
        registry::release(frame.id);
        handoff::announce(frame.running_view());
        Some(HandOver::of(&frame))
    }

    /// Ends the event with `conclusion` (a conclusion set inside [`in_scope`](Self::in_scope) wins).
    ///
    /// ```
    /// use trunk_ci_analytics::{Conclusion, EventBuilder};
    /// # let _guard = trunk_ci_analytics::init(Default::default());
    /// EventBuilder::new("flaky test").start().finish(Conclusion::Failure);
    /// ```
    pub fn finish(mut self, conclusion: Conclusion) {
        if let Some(frame) = self.frame.take() {
            registry::release(frame.id);
            finish_now(frame, conclusion);
        }
    }

    /// Ends the event with `conclusion` at `time` (the wall clock's) rather than now: the
    /// end of work measured elsewhere, as [`EventBuilder::started_at`] is its start. An end
    /// before the start counts as the start (the event lasted no time).
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use trunk_ci_analytics::{Conclusion, EventBuilder};
    /// # let _guard = trunk_ci_analytics::init(Default::default());
    ///
    /// let run = EventBuilder::new("integration tests").kind("test_binary").start();
    /// // ... learn later that the tests ended 300 ms ago ...
    /// run.finish_at(SystemTime::now() - Duration::from_millis(300), Conclusion::Failure);
    /// ```
    pub fn finish_at(mut self, time: SystemTime, conclusion: Conclusion) {
        if let Some(frame) = self.frame.take() {
            registry::release(frame.id);
            finish(frame, clock::reading_at(time), conclusion);
        }
    }
}

impl Drop for ManualEvent {
    fn drop(&mut self) {
        if let Some(frame) = self.frame.take() {
            registry::release(frame.id);
            finish_now(frame, abandoned());
        }
    }
}
