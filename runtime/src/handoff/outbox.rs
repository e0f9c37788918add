//! A recording thread's end of the hand-off ([`Outbox`]): the chunk it fills, registered
//! with the channel at the thread's first event, and the way a finished record goes into it
//! (from the top of the context stack, or alone when the thread has no outbox left).

use std::sync::{Arc, PoisonError};

use super::chunk::{Mailbox, Writer};
use super::{INSTALLED, Producer, disowned};
use crate::Conclusion;
use crate::record::running::mirror::Mirror;
use crate::record::{Entry, Record};

/// A recording thread's end of the hand-off: the chunk it writes and where the background
/// thread finds it. It lives beside the thread's context stack (`stack`), so that finishing
/// an event looks up one thread-local, not two.
#[derive(Debug)]
pub(crate) struct Outbox(Option<Registered>);

#[derive(Debug)]
struct Registered {
    /// The address of the channel's shared state it is registered with.
    owner: usize,
    writer: Writer,
    mailbox: Arc<Mailbox>,
}

impl Producer {
    #[cold]
    fn register(&self, owner: usize) -> Registered {
        let mailbox = Arc::new(Mailbox::default());
        self.shared
            .locals
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Arc::clone(&mailbox));
        let thread = crate::platform::sys::thread_id();
        self.shared.names.note(thread);
        Registered {
            owner,
            writer: Writer::new(&mailbox, &self.shared.pool, thread),
            mailbox,
        }
    }
}

impl Outbox {
    /// Not registered yet: the first event this thread finishes registers it.
    pub(crate) const fn new() -> Outbox {
        Outbox(None)
    }

    /// Hands over the event `id` on top of `stack`, finished at `end`, retiring it from
    /// `mirror` first; a conclusion set in its body wins over `returned`. Returns whether
    /// its site asks for a flush, or `None` (nothing done) when the top of `stack` is not
    /// that event. Without a pipeline (the runtime is off) the event is dropped.
    #[inline]
    pub(crate) fn submit_top(
        &mut self,
        stack: &mut Vec<Entry>,
        mirror: &Mirror,
        id: u64,
        end: u64,
        returned: Conclusion,
    ) -> Option<bool> {
        match INSTALLED.get() {
            Some(i) => self.submit_top_to(&i.producer, stack, mirror, id, end, returned),
            None => match stack.last() {
                Some(Entry::Event(top)) if top.id == id => {
                    mirror.retire(stack.len() - 1, top);
                    let flush = top.meta.flush();
                    drop(stack.pop());
                    Some(flush)
                }
                _ => None,
            },
        }
    }

    #[inline]
    fn submit_top_to(
        &mut self,
        producer: &Producer,
        stack: &mut Vec<Entry>,
        mirror: &Mirror,
        id: u64,
        end: u64,
        returned: Conclusion,
    ) -> Option<bool> {
        let registered = self.registered(producer)?;
        let pushed = registered
            .writer
            .push_top(stack, mirror, id, end, returned)?;
        // Disowned (a forked child): the full chunk stays, and later pushes drop.
        if pushed.full && !disowned() {
            let full = registered
                .writer
                .replace(&registered.mailbox, &producer.shared.pool);
            producer.hand_over(full);
        }
        Some(pushed.flush)
    }

    /// Hands over a finished record (an event that was not on top of a stack).
    pub(crate) fn submit(&mut self, record: Record) {
        if let Some(i) = INSTALLED.get() {
            self.submit_to(&i.producer, record);
        }
    }

    fn submit_to(&mut self, producer: &Producer, record: Record) {
        let Some(registered) = self.registered(producer) else {
            return;
        };
        if registered.writer.push(record) && !disowned() {
            let full = registered
                .writer
                .replace(&registered.mailbox, &producer.shared.pool);
            producer.hand_over(full);
        }
    }

    /// This thread's registration, made now if needed; `None` in a forked child that has
    /// none (registering takes a lock another thread may have held at the fork).
    #[inline]
    fn registered(&mut self, producer: &Producer) -> Option<&mut Registered> {
        let id = Arc::as_ptr(&producer.shared) as usize;
        if self.0.as_ref().is_some_and(|r| r.owner != id) {
            self.0 = None;
        }
        if self.0.is_none() {
            if disowned() {
                return None;
            }
            self.0 = Some(producer.register(id));
        }
        self.0.as_mut()
    }
}

/// Hands over a record from a thread whose outbox cannot be had (it is exiting, or its
/// state is in use further up the call stack): it travels alone.
pub(crate) fn submit_alone(record: Record) {
    if let Some(installed) = INSTALLED.get() {
        installed.producer.hand_over(Writer::single(record));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handoff::{ChannelState, Consumer, LOCAL_BATCH, Msg, channel};
    use crate::record::overflow::Bounds;
    use crate::record::tests::record;

    /// Submits event `id` the way a finishing event does: from the top of a context stack,
    /// or (without an outbox: a thread being torn down) alone.
    fn submit(producer: &Producer, outbox: Option<&mut Outbox>, id: u64) {
        let r = record(id);
        match outbox {
            Some(outbox) => {
                let mut stack = vec![Entry::Event(r.frame)];
                let mirror = crate::record::running::mirror::acquire();
                let done =
                    outbox.submit_top_to(producer, &mut stack, mirror, id, r.end, r.conclusion);
                mirror.release();
                assert_eq!(done, Some(false));
                assert!(stack.is_empty());
            }
            None => producer.hand_over(Writer::single(r)),
        }
    }

    fn no_overflow() -> Bounds {
        Bounds {
            memory_bytes: 0,
            file_bytes: 0,
            dir: None,
        }
    }

    fn take_ids(consumer: &Consumer) -> (Vec<u64>, ChannelState) {
        let mut ids = Vec::new();
        let taken = consumer.take(usize::MAX, |msg| {
            if let Msg::Record(r, _) = msg {
                ids.push(r.frame.id);
            }
        });
        ids.sort_unstable();
        (ids, taken)
    }

    #[test]
    fn full_chunks_and_the_partial_one_all_arrive_once() {
        let (producer, consumer) = channel(1_000, 1_000, no_overflow());
        let mut outbox = Outbox::new();
        let total = 2 * LOCAL_BATCH as u64 + 3;
        for id in 1..=total {
            submit(&producer, Some(&mut outbox), id);
        }
        // Without an outbox (a thread being torn down) a record goes alone.
        submit(&producer, None, total + 1);
        assert!(producer.pending());
        let (ids, taken) = take_ids(&consumer);
        assert_eq!(ids, (1..=total + 1).collect::<Vec<_>>());
        assert_eq!(taken, ChannelState::Empty);
        assert!(producer.pending(), "taken, not yet settled: still pending");
        consumer.settled();
        assert!(!producer.pending());

        // Chunks come back through the pool: the next ones fill and arrive the same way.
        for id in 1..=total {
            submit(&producer, Some(&mut outbox), id);
        }
        assert_eq!(take_ids(&consumer).0, (1..=total).collect::<Vec<_>>());
    }

    #[test]
    fn past_the_bound_whole_chunks_are_dropped_and_counted() {
        let (producer, consumer) = channel(1_000, LOCAL_BATCH, no_overflow());
        let mut outbox = Outbox::new();
        for id in 1..=3 * LOCAL_BATCH as u64 {
            submit(&producer, Some(&mut outbox), id);
        }
        // The first full chunk fits the bound; the next two are refused.
        assert_eq!(consumer.take_refused(), 2 * LOCAL_BATCH as u64);
        let (ids, _) = take_ids(&consumer);
        assert_eq!(ids, (1..=LOCAL_BATCH as u64).collect::<Vec<_>>());
    }

    #[test]
    fn past_the_bound_chunks_go_to_the_overflow_while_it_has_room() {
        let bounds = Bounds {
            memory_bytes: 10 * LOCAL_BATCH * 64,
            file_bytes: 0,
            dir: None,
        };
        let (producer, consumer) = channel(1_000, LOCAL_BATCH, bounds);
        let mut outbox = Outbox::new();
        let total = 40 * LOCAL_BATCH as u64;
        for id in 1..=total {
            submit(&producer, Some(&mut outbox), id);
        }
        let overflowed = consumer.overflowed() as u64;
        let refused = consumer.take_refused();
        assert!(
            overflowed > 0 && refused > 0,
            "{overflowed} overflowed, {refused} refused"
        );
        assert!(producer.pending());
        let (mut ids, _) = take_ids(&consumer);
        let mut overflowed_ids = Vec::new();
        while consumer.take_overflowed(100, |r, _| overflowed_ids.push(r.frame.id)) > 0 {}
        assert_eq!(consumer.overflowed(), 0);
        assert_eq!(overflowed_ids.len() as u64, overflowed);
        assert!(
            overflowed_ids.windows(2).all(|w| w[0] < w[1]),
            "overflowed records come back in order"
        );
        ids.extend(overflowed_ids);
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len() as u64 + refused, total);
    }
}
