//! Where an event belongs: its chain (the run) and its parent, and [`EventContext`], the
//! handle that carries a parent to other threads, tasks and processes.
//!
//! The context this process inherited from its parent process lives here too, in a slot
//! that only `global` writes, once, when the runtime is set up.

use std::sync::{Arc, OnceLock};

use crate::model::id::otel;
use crate::model::id::trace_context::{self, ENV_TRACEPARENT};
use crate::model::site::Meta;
use crate::record::run_uploader::{self, ENV_UPLOADER};

/// Environment variables that hand the current event to a child process (pinned names).
pub(crate) const ENV_CHAIN_ID: &str = "TRUNK_CHAIN_ID";
pub(crate) const ENV_PARENT_EVENT_ID: &str = "TRUNK_PARENT_EVENT_ID";
pub(crate) const ENV_PARENT_SEQUENCE_KEY: &str = "TRUNK_PARENT_SEQUENCE_KEY";
/// All three, in the order `env_vars` returns them (before `TRACEPARENT`).
pub(crate) const ENV_CONTEXT: [&str; 3] =
    [ENV_CHAIN_ID, ENV_PARENT_EVENT_ID, ENV_PARENT_SEQUENCE_KEY];
/// The parent sequence key of root events in a process that joined a `TRACEPARENT`: the
/// span there has no Trunk sequence, and the wire needs a non-empty key.
pub(crate) const TRACEPARENT_SEQUENCE_KEY: &str = "traceparent";

/// The context handed over by the parent process, if any.
static INHERITED: OnceLock<Option<EventContext>> = OnceLock::new();

/// Sets the inherited context; the first call wins. Only `global` calls it.
pub(crate) fn set_inherited(ctx: Option<EventContext>) {
    let _ = INHERITED.set(ctx);
}

/// The context this process inherited, which [`Chain::Inherited`] and
/// [`ParentRef::Inherited`] stand for.
pub(crate) fn inherited() -> Option<&'static EventContext> {
    INHERITED.get().and_then(Option::as_ref)
}

/// The run an event belongs to: the root's id, ours or one inherited from a parent process.
#[derive(Clone, Debug)]
pub(crate) enum Chain {
    Local(u64),
    // A thin pointer (`Arc<String>`, not `Arc<str>`) keeps `Chain` 16 bytes beside the
    // other variants, and so every frame on the hot path small.
    Remote(Arc<String>),
    /// The chain of the inherited context, which every event of a build script under a
    /// tracked step is in. Not a clone of its `Arc`: the count would be incremented on the
    /// recording thread and decremented on the background thread for every event, a cache
    /// line bouncing between the two.
    Inherited,
}

impl Chain {
    pub(crate) fn to_wire(&self) -> String {
        match self {
            Chain::Local(id) => crate::model::id::format(*id),
            Chain::Remote(s) => String::clone(s),
            Chain::Inherited => inherited().map(|c| c.chain.to_wire()).unwrap_or_default(),
        }
    }
}

/// An event that can be a parent.
#[derive(Clone, Debug)]
pub(crate) enum ParentRef {
    Local {
        id: u64,
        meta: Meta,
    },
    Remote(Arc<RemoteParent>),
    /// The inherited parent; see [`Chain::Inherited`].
    Inherited,
}

#[derive(Debug)]
pub(crate) struct RemoteParent {
    pub(crate) event_id: String,
    pub(crate) sequence_key: String,
}

impl ParentRef {
    pub(crate) fn event_id(&self) -> String {
        match self {
            ParentRef::Local { id, .. } => crate::model::id::format(*id),
            ParentRef::Remote(r) => r.event_id.clone(),
            ParentRef::Inherited => inherited().map(|c| c.event_id()).unwrap_or_default(),
        }
    }

    pub(crate) fn sequence_key(&self) -> String {
        match self {
            ParentRef::Local { meta, .. } => meta.key().to_owned(),
            ParentRef::Remote(r) => r.sequence_key.clone(),
            ParentRef::Inherited => inherited().map(|c| c.sequence_key()).unwrap_or_default(),
        }
    }
}

/// A handle on a running (or finished) event, to make it the parent of work elsewhere:
/// another thread ([`attach`](Self::attach)), an async task ([`instrument`](Self::instrument))
/// or a child process ([`env_vars`](Self::env_vars), [`CommandExt`](crate::CommandExt)).
/// Get one from [`current_context`](crate::current_context) or
/// [`ManualEvent::context`](crate::ManualEvent::context); it is cheap to clone and
/// `Send + Sync`.
///
/// ```
/// use trunk_ci_analytics::{current_context, track_event};
/// # let _guard = trunk_ci_analytics::init(Default::default());
///
/// #[track_event]
/// fn compile(unit: u32) -> u32 { unit }
///
/// #[track_event]
/// fn build() {
///     // Outside any event, or with analytics off, there is no context.
///     let ctx = current_context();
///     let workers: Vec<_> = (0..2)
///         .map(|unit| {
///             let ctx = ctx.clone();
///             std::thread::spawn(move || match ctx {
///                 Some(ctx) => ctx.attach(|| compile(unit)), // a child of `build`
///                 None => compile(unit),
///             })
///         })
///         .collect();
///     for w in workers {
///         let _ = w.join();
///     }
/// }
/// build();
/// ```
#[derive(Clone, Debug)]
pub struct EventContext {
    pub(crate) parent: ParentRef,
    pub(crate) chain: Chain,
}

impl EventContext {
    /// Builds a context from the values a parent passed on some other way than the
    /// environment (e.g. in a job description). `chain_id` is the root event's id.
    ///
    /// ```
    /// use trunk_ci_analytics::EventContext;
    /// let ctx = EventContext::from_ids("root-1", "step-2", "ci::build");
    /// assert_eq!(ctx.event_id(), "step-2");
    /// assert_eq!(ctx.chain_id(), "root-1");
    /// ```
    pub fn from_ids(
        chain_id: impl Into<String>,
        event_id: impl Into<String>,
        sequence_key: impl Into<String>,
    ) -> Self {
        EventContext {
            parent: ParentRef::Remote(Arc::new(RemoteParent {
                event_id: event_id.into(),
                sequence_key: sequence_key.into(),
            })),
            chain: Chain::Remote(Arc::new(chain_id.into())),
        }
    }

    /// Reads the context a parent process handed over, from any variable source: the
    /// `TRUNK_CHAIN_ID`, `TRUNK_PARENT_EVENT_ID` and `TRUNK_PARENT_SEQUENCE_KEY` that
    /// [`env_vars`](Self::env_vars) sets (all three present and non-empty), else, when none
    /// of them is set, a W3C `TRACEPARENT` (an OpenTelemetry-instrumented parent's span: the
    /// chain id is its 32-hex trace id, the event id its 16-hex span id and the sequence key
    /// `traceparent`). A malformed `TRACEPARENT` counts as absent. (The runtime reads the
    /// process environment by itself; this is for variables that reach you some other way.)
    ///
    /// ```
    /// use trunk_ci_analytics::EventContext;
    /// let vars = [("TRUNK_CHAIN_ID", "c"), ("TRUNK_PARENT_EVENT_ID", "p"), ("TRUNK_PARENT_SEQUENCE_KEY", "k")];
    /// let ctx = EventContext::from_vars(|name| {
    ///     vars.iter().find(|(n, _)| *n == name).map(|(_, v)| v.to_string())
    /// });
    /// assert_eq!(ctx.map(|c| c.event_id()), Some("p".to_string()));
    ///
    /// let otel = EventContext::from_vars(|name| {
    ///     (name == "TRACEPARENT")
    ///         .then(|| "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_string())
    /// })
    /// .unwrap();
    /// assert_eq!(otel.chain_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
    /// assert_eq!(otel.event_id(), "00f067aa0ba902b7");
    /// assert_eq!(otel.sequence_key(), "traceparent");
    /// ```
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Option<Self> {
        let non_empty = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        if ENV_CONTEXT.iter().any(|n| non_empty(n).is_some()) {
            let chain = non_empty(ENV_CHAIN_ID)?;
            let id = non_empty(ENV_PARENT_EVENT_ID)?;
            let key = non_empty(ENV_PARENT_SEQUENCE_KEY)?;
            return Some(EventContext::from_ids(chain, id, key));
        }
        Self::from_traceparent(&get(ENV_TRACEPARENT)?).ok()
    }

    /// The span named by a W3C `traceparent` value as a parent, or why the value is not one.
    pub(crate) fn from_traceparent(value: &str) -> Result<Self, &'static str> {
        let (trace, span) = trace_context::parse(value.trim())?;
        Ok(EventContext::from_ids(
            otel::to_hex(&trace),
            otel::to_hex(&span),
            TRACEPARENT_SEQUENCE_KEY,
        ))
    }

    /// The event's id, as sent on the wire.
    ///
    /// ```
    /// # use trunk_ci_analytics::EventContext;
    /// assert_eq!(EventContext::from_ids("c", "e", "k").event_id(), "e");
    /// ```
    pub fn event_id(&self) -> String {
        self.parent.event_id()
    }

    /// The id of the run's root event (the wire `chainId`).
    ///
    /// ```
    /// # use trunk_ci_analytics::EventContext;
    /// assert_eq!(EventContext::from_ids("c", "e", "k").chain_id(), "c");
    /// ```
    pub fn chain_id(&self) -> String {
        self.chain.to_wire()
    }

    /// The event's sequence key.
    ///
    /// ```
    /// # use trunk_ci_analytics::EventContext;
    /// assert_eq!(EventContext::from_ids("c", "e", "k").sequence_key(), "k");
    /// ```
    pub fn sequence_key(&self) -> String {
        self.parent.sequence_key()
    }

    /// The W3C `traceparent` of this event, `00-{trace id}-{span id}-01`: the trace id
    /// derived from the chain id, the span id from the event id, as the OpenTelemetry
    /// export derives them. A chain that joined a `TRACEPARENT` keeps that trace id.
    ///
    /// ```
    /// use trunk_ci_analytics::EventContext;
    /// let ctx = EventContext::from_ids("0123456789abcdef", "00f067aa0ba902b7", "k");
    /// assert_eq!(ctx.traceparent(), "00-00000000000000000123456789abcdef-00f067aa0ba902b7-01");
    /// ```
    pub fn traceparent(&self) -> String {
        let span = match &self.parent {
            ParentRef::Local { id, .. } => otel::span_id(*id),
            _ => otel::span_id_of(&self.event_id()),
        };
        trace_context::format(&otel::trace_id(&self.chain_id()), &span)
    }

    /// The variables that make a root event in a child process a child of this event:
    /// `TRUNK_CHAIN_ID`, `TRUNK_PARENT_EVENT_ID`, `TRUNK_PARENT_SEQUENCE_KEY` and, for
    /// OpenTelemetry-instrumented children, `TRACEPARENT` (see
    /// [`traceparent`](Self::traceparent)), in that order; then, when this process is the
    /// run's uploader or hands its events to one, `TRUNK_UPLOADER`, so that the child hands
    /// its events to that uploader instead of sending them itself (one uploader per run).
    /// Pass them to any process launcher; for `std::process::Command` use
    /// [`CommandExt::with_event_context`](crate::CommandExt::with_event_context).
    ///
    /// ```
    /// use trunk_ci_analytics::EventContext;
    /// let ctx = EventContext::from_ids("c", "e", "k");
    /// let vars = ctx.env_vars();
    /// assert!(vars.contains(&("TRUNK_PARENT_EVENT_ID", "e".to_string())));
    /// assert!(vars.contains(&("TRACEPARENT", ctx.traceparent())));
    /// ```
    pub fn env_vars(&self) -> Vec<(&'static str, String)> {
        let mut vars = vec![
            (ENV_CHAIN_ID, self.chain_id()),
            (ENV_PARENT_EVENT_ID, self.event_id()),
            (ENV_PARENT_SEQUENCE_KEY, self.sequence_key()),
            (ENV_TRACEPARENT, self.traceparent()),
        ];
        if let Some(uploader) = run_uploader::announced() {
            vars.push((ENV_UPLOADER, uploader.to_owned()));
        }
        vars
    }
}
