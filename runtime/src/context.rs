//! The context stack: which event is "current" on this thread, and the handle
//! ([`EventContext`]) that carries it to other threads, tasks and processes.

use std::cell::RefCell;
use std::sync::Arc;

use crate::event::Frame;
use crate::pipeline::Outbox;
use crate::site::Meta;

/// Environment variables that hand the current event to a child process.
pub(crate) const ENV_CHAIN_ID: &str = "TRUNK_CHAIN_ID";
pub(crate) const ENV_PARENT_EVENT_ID: &str = "TRUNK_PARENT_EVENT_ID";
pub(crate) const ENV_PARENT_SEQUENCE_KEY: &str = "TRUNK_PARENT_SEQUENCE_KEY";

/// The run an event belongs to: the root's id, ours or one inherited from a parent process.
#[derive(Clone, Debug)]
pub(crate) enum Chain {
    Local(u64),
    // A thin pointer (`Arc<String>`, not `Arc<str>`): beside a third variant a fat one made
    // `Chain` 24 bytes and every frame 96 instead of 88.
    Remote(Arc<String>),
    /// The chain of the context this process inherited (`TRUNK_CHAIN_ID`…), which every
    /// event of a build script under a tracked step is in. Not a clone of its `Arc`: each
    /// event would increment its count on the recording thread and decrement it on the
    /// background thread, a cache line bouncing between the two (min_ratio under an
    /// inherited context: 1.55× a fastrace span with the clones, 0.94–0.98× without).
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
    /// The parent this process inherited; see [`Chain::Inherited`].
    Inherited,
}

/// The context this process inherited from its parent, which `Chain::Inherited` and
/// `ParentRef::Inherited` stand for. It is itself `Remote`.
fn inherited() -> Option<&'static EventContext> {
    crate::global::process_parent()
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
/// Get one from [`current_context`] or [`ManualEvent::context`](crate::ManualEvent::context);
/// it is cheap to clone and `Send + Sync`.
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

    /// Runs `f` with this context as the current parent: events `f` starts become children
    /// of this event. Use it in spawned threads. With analytics off it just runs `f`.
    ///
    /// ```
    /// use trunk_ci_analytics::{current_context, EventContext};
    /// # let _guard = trunk_ci_analytics::init(Default::default());
    ///
    /// let ctx = EventContext::from_ids("c", "e", "k");
    /// let seen = std::thread::spawn(move || {
    ///     ctx.attach(|| current_context().map(|c| c.event_id()))
    /// })
    /// .join()
    /// .unwrap();
    /// assert_eq!(seen.as_deref(), Some("e"));
    /// ```
    pub fn attach<R>(&self, f: impl FnOnce() -> R) -> R {
        if !crate::global::enabled() {
            return f();
        }
        let _entered = Entered::push(Entry::Attached(self.clone()));
        f()
    }

    /// Wraps a future so that it runs under this context on every poll, wherever it is
    /// polled; for spawned tasks (`tokio::spawn(ctx.instrument(fut))`). To capture the
    /// current context, [`FutureExt::with_current_context`](crate::FutureExt::with_current_context)
    /// is shorter.
    ///
    /// ```
    /// use trunk_ci_analytics::{Conclusion, EventBuilder, track_event};
    /// # let _guard = trunk_ci_analytics::init(Default::default());
    ///
    /// #[track_event]
    /// async fn download(url: &'static str) -> Result<usize, String> {
    ///     Ok(url.len())
    /// }
    ///
    /// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// let job = EventBuilder::new("fetch sources").start();
    /// let ctx = job.context();
    /// let size = rt.block_on(async move {
    ///     let task = download("https://example.com/src.tar.gz");
    ///     // `download` becomes a child of the job, wherever the runtime polls it.
    ///     match ctx {
    ///         Some(ctx) => tokio::spawn(ctx.instrument(task)).await,
    ///         None => tokio::spawn(task).await,
    ///     }
    /// });
    /// job.finish(Conclusion::from_success(matches!(size, Ok(Ok(_)))));
    /// ```
    pub fn instrument<F: std::future::Future>(&self, fut: F) -> crate::future::WithContext<F> {
        crate::future::WithContext::new(self.clone(), fut)
    }
}

/// One level of the stack: an event running on this thread, or a context attached to it.
pub(crate) enum Entry {
    Event(Frame),
    Attached(EventContext),
}

/// This thread's share of the hot path: its context stack and its end of the hand-off, in
/// one thread-local so that finishing an event looks one up, not two.
struct Local {
    stack: Vec<Entry>,
    outbox: Outbox,
}

thread_local! {
    static LOCAL: RefCell<Local> = const {
        RefCell::new(Local {
            stack: Vec::new(),
            outbox: Outbox::new(),
        })
    };
}

/// Runs `f` on this thread's state. Not reentrant: `f` must not call back into it.
#[inline]
fn with_local<R>(f: impl FnOnce(&mut Local) -> R) -> Option<R> {
    // `try_with` fails only during thread teardown, `try_borrow_mut` only if an event
    // starts from inside a Drop the stack itself runs; both are skipped, never a panic.
    LOCAL
        .try_with(|l| l.try_borrow_mut().ok().map(|mut l| f(&mut l)))
        .ok()
        .flatten()
}

/// Runs `f` on this thread's stack. Not reentrant: `f` must not call back into the stack.
#[inline]
pub(crate) fn with_stack<R>(f: impl FnOnce(&mut Vec<Entry>) -> R) -> Option<R> {
    with_local(|l| f(&mut l.stack))
}

/// Runs `f` on this thread's end of the hand-off, or on `None` when it cannot be had (the
/// thread is exiting, or its state is in use further up the call stack).
#[inline]
pub(crate) fn with_outbox(f: impl FnOnce(Option<&mut Outbox>)) {
    let mut f = Some(f);
    let _ = with_local(|l| {
        if let Some(f) = f.take() {
            f(Some(&mut l.outbox));
        }
    });
    if let Some(f) = f {
        f(None);
    }
}

/// The parent and chain an event starting now on this thread gets.
#[inline]
pub(crate) fn parent_of(stack: &[Entry]) -> Option<(ParentRef, Chain)> {
    match stack.last() {
        Some(Entry::Event(f)) => Some((
            ParentRef::Local {
                id: f.id,
                meta: f.meta.clone(),
            },
            f.chain.clone(),
        )),
        Some(Entry::Attached(c)) => Some((c.parent.clone(), c.chain.clone())),
        None => inherited().map(|_| (ParentRef::Inherited, Chain::Inherited)),
    }
}

/// Pops its entry when dropped, also on unwinding.
pub(crate) struct Entered;

impl Entered {
    pub(crate) fn push(entry: Entry) -> Entered {
        with_stack(|s| s.push(entry));
        Entered
    }
}

impl Drop for Entered {
    fn drop(&mut self) {
        let _ = with_stack(|s| s.pop());
    }
}

/// The innermost current event or attached context on this thread, if any; else the
/// context a parent process handed over (`TRUNK_CHAIN_ID`…). `None` with analytics off.
///
/// ```
/// use trunk_ci_analytics::{current_context, track_event};
/// # let _guard = trunk_ci_analytics::init(Default::default());
///
/// #[track_event]
/// fn build() -> Option<String> {
///     current_context().map(|ctx| ctx.sequence_key())
/// }
///
/// assert!(current_context().is_none()); // no event runs here
/// // Inside, the context is `build`'s own: its default sequence key is
/// // `{CARGO_PKG_NAME}::{module_path}::{fn}`.
/// let key = concat!(env!("CARGO_PKG_NAME"), "::", module_path!(), "::build");
/// assert_eq!(build().as_deref(), Some(key));
/// ```
pub fn current_context() -> Option<EventContext> {
    if !crate::global::enabled() {
        return None;
    }
    with_stack(|s| parent_of(s))
        .flatten()
        .map(|(parent, chain)| EventContext { parent, chain })
}

/// Hands the current event to child processes started with [`std::process::Command`]:
/// root events in the child (a build script's tracked `main`, another tracked tool) become
/// its children, in the same chain.
///
/// ```no_run
/// use std::process::Command;
/// use trunk_ci_analytics::{CommandExt, track_event};
///
/// #[track_event(kind = "step")]
/// fn build() -> std::io::Result<std::process::ExitStatus> {
///     // Each build script cargo runs becomes a child of this event.
///     Command::new("cargo").arg("build").with_event_context().status()
/// }
/// ```
///
/// The variables make cargo rebuild or rerun nothing: cargo reruns a build script for an
/// environment variable only when the script declares `cargo::rerun-if-env-changed`, and
/// nothing here declares one or reads them at compile time.
pub trait CommandExt {
    /// Sets `TRUNK_CHAIN_ID`, `TRUNK_PARENT_EVENT_ID` and `TRUNK_PARENT_SEQUENCE_KEY` for
    /// the child from [`current_context`]; without a current event it leaves the command as
    /// it is.
    ///
    /// ```
    /// use std::process::Command;
    /// use trunk_ci_analytics::{CommandExt, EventBuilder};
    /// # let _guard = trunk_ci_analytics::init(Default::default());
    ///
    /// let mut step = EventBuilder::new("version").start();
    /// let mut cmd = Command::new("rustc");
    /// step.in_scope(|| cmd.arg("--version").with_event_context());
    /// assert!(cmd.get_envs().any(|(k, _)| k == "TRUNK_PARENT_EVENT_ID"));
    /// # step.finish(trunk_ci_analytics::Conclusion::Success);
    /// ```
    fn with_event_context(&mut self) -> &mut Self;
}

impl CommandExt for std::process::Command {
    fn with_event_context(&mut self) -> &mut Self {
        if let Some(ctx) = current_context() {
            for (k, v) in ctx.env_vars() {
                self.env(k, v);
            }
        }
        self
    }
}

/// Pushes the frame `make` builds (from the stack as it is) and returns its id. The frame
/// is built where it is pushed: built first and pushed after, it took a stack copy.
#[inline]
pub(crate) fn push_frame(make: impl FnOnce(&[Entry]) -> Frame) -> Option<u64> {
    with_stack(|s| {
        s.reserve(1);
        let len = s.len();
        let frame = make(s);
        let id = frame.id;
        // SAFETY: `reserve` made room for one more entry at `len`, and `make` could not
        // change the stack (it only saw it shared).
        unsafe {
            s.as_mut_ptr().add(len).write(Entry::Event(frame));
            s.set_len(len + 1);
        }
        id
    })
}

/// Pops the event frame `id` if it is on top of this thread's stack (as it is but when an
/// event started inside was leaked) and lends it to `f`, with this thread's end of the
/// hand-off. `f` must move the frame out (through the pointer) before it returns: the frame
/// goes from the stack straight to where `f` puts it, never through a local.
#[inline]
pub(crate) fn pop_top<R>(id: u64, f: impl FnOnce(*const Frame, &mut Outbox) -> R) -> Option<R> {
    with_local(|l| {
        let len = l.stack.len();
        let Some(Entry::Event(top)) = l.stack.last() else {
            return None;
        };
        if top.id != id {
            return None;
        }
        let top: *const Frame = top;
        // SAFETY: the entry is forgotten before `f` runs, so nothing else drops or reads the
        // frame; `f` moves it out, and the memory stays put since nothing else touches the
        // vector meanwhile (our borrow of this thread's state is exclusive).
        unsafe { l.stack.set_len(len - 1) };
        Some(f(top, &mut l.outbox))
    })
    .flatten()
}

/// Removes the event frame `id` from this thread's stack (normally the top).
#[inline]
pub(crate) fn remove_frame(id: u64) -> Option<Frame> {
    with_stack(|s| {
        // Almost always the top: a guard finishes before its parent.
        if matches!(s.last(), Some(Entry::Event(f)) if f.id == id) {
            return match s.pop() {
                Some(Entry::Event(f)) => Some(f),
                _ => None,
            };
        }
        let pos = s
            .iter()
            .rposition(|e| matches!(e, Entry::Event(f) if f.id == id))?;
        match s.remove(pos) {
            Entry::Event(f) => Some(f),
            Entry::Attached(_) => None,
        }
    })
    .flatten()
}

/// Lends a frame to this thread's stack for a scope and takes it back when dropped, also
/// during unwinding (so a panicking body still finds its frame to record FAILURE).
pub(crate) struct FrameScope<'a> {
    slot: &'a mut Option<Frame>,
    id: u64,
}

impl<'a> FrameScope<'a> {
    pub(crate) fn enter(slot: &'a mut Option<Frame>) -> Option<FrameScope<'a>> {
        let frame = slot.take()?;
        let id = frame.id;
        with_stack(|s| s.push(Entry::Event(frame)));
        Some(FrameScope { slot, id })
    }
}

impl Drop for FrameScope<'_> {
    fn drop(&mut self) {
        *self.slot = remove_frame(self.id);
    }
}
