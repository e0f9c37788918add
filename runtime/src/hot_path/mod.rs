//! The hot path, what a tracked call runs on the caller's thread: the on/off flag
//! ([`gate`]), this thread's context stack ([`stack`]), starting and finishing an event and
//! `tag`/`metric`/`set_conclusion` ([`event`]), and the futures that enter an event or a
//! context on every poll ([`future`]). Nothing here formats, locks or touches the disk or
//! the network; a finished record leaves through the hand-off.

pub(crate) mod event;
pub(crate) mod future;
pub(crate) mod gate;
pub(crate) mod stack;
