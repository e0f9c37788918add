//! Where an event belongs: its chain (the run) and its parent, and [`EventContext`], the
//! handle that carries a parent to other threads, tasks and processes.
//!
//! The context this process inherited from its parent process lives here too, in a slot
//! that only `global` writes, once, when the runtime is set up.

use std::sync::{Arc, OnceLock};

use crate::site::Meta;

/// Environment variables that hand the current event to a child process (pinned names).
pub(crate) const ENV_CHAIN_ID: &str = "TRUNK_CHAIN_ID";
pub(crate) const ENV_PARENT_EVENT_ID: &str = "TRUNK_PARENT_EVENT_ID";
pub(crate) const ENV_PARENT_SEQUENCE_KEY: &str = "TRUNK_PARENT_SEQUENCE_KEY";
/// All three, in the order `env_vars` returns them.
pub(crate) const ENV_CONTEXT: [&str; 3] =
    [ENV_CHAIN_ID, ENV_PARENT_EVENT_ID, ENV_PARENT_SEQUENCE_KEY];

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
            Chain::Local(id) => crate::id::format(*id),
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
            ParentRef::Local { id, .. } => crate::id::format(*id),
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

    /// Reads the context a parent process handed over through `TRUNK_CHAIN_ID`,
    /// `TRUNK_PARENT_EVENT_ID` and `TRUNK_PARENT_SEQUENCE_KEY`, from any variable source.
    /// All three must be present and non-empty. (The runtime reads them from the process
    /// environment by itself; this is for variables that reach you some other way.)
    ///
    /// ```
    /// use trunk_ci_analytics::EventContext;
    /// let vars = [("TRUNK_CHAIN_ID", "c"), ("TRUNK_PARENT_EVENT_ID", "p"), ("TRUNK_PARENT_SEQUENCE_KEY", "k")];
    /// let ctx = EventContext::from_vars(|name| {
    ///     vars.iter().find(|(n, _)| *n == name).map(|(_, v)| v.to_string())
    /// });
    /// assert_eq!(ctx.map(|c| c.event_id()), Some("p".to_string()));
    /// ```
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Option<Self> {
        let non_empty = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        let chain = non_empty(ENV_CHAIN_ID)?;
        let id = non_empty(ENV_PARENT_EVENT_ID)?;
        let key = non_empty(ENV_PARENT_SEQUENCE_KEY)?;
        Some(EventContext::from_ids(chain, id, key))
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

    /// The variables that make a root event in a child process a child of this event.
    /// Pass them to any process launcher; for `std::process::Command` use
    /// [`CommandExt::with_event_context`](crate::CommandExt::with_event_context).
    ///
    /// ```
    /// use trunk_ci_analytics::EventContext;
    /// let ctx = EventContext::from_ids("c", "e", "k");
    /// let vars = ctx.env_vars();
    /// assert!(vars.contains(&("TRUNK_PARENT_EVENT_ID", "e".to_string())));
    /// ```
    pub fn env_vars(&self) -> [(&'static str, String); 3] {
        [
            (ENV_CHAIN_ID, self.chain_id()),
            (ENV_PARENT_EVENT_ID, self.event_id()),
            (ENV_PARENT_SEQUENCE_KEY, self.sequence_key()),
        ]
    }
}
