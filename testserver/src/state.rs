//! State shared between the server thread and the test: what arrived, and what to do next.

use std::collections::{HashMap, VecDeque};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::otlp_config::OtlpConfig;
use crate::scan::RawEvent;
use crate::span::ReceivedSpan;
use crate::{Fault, RequestRecord};

/// Called on the server thread after each answered request, with the events it accepted.
pub(crate) type Observer = Box<dyn Fn(&RequestRecord, &[Value]) + Send + Sync>;

/// Called on the server thread after each answered request, with the spans it accepted.
pub(crate) type SpanObserver = Box<dyn Fn(&RequestRecord, &[ReceivedSpan]) + Send + Sync>;

pub(crate) struct Shared {
    token: String,
    validate: bool,
    state: Mutex<State>,
    /// Signalled on every change a test may wait for (a request read, answered, events accepted).
    changed: Condvar,
    observer: Option<Observer>,
    otlp: OtlpConfig,
    span_observer: Option<SpanObserver>,
}

#[derive(Default)]
pub(crate) struct State {
    pub(crate) events: Vec<RawEvent>,
    /// How often each finished event's id was accepted.
    times_seen: HashMap<String, usize>,
    /// Ids of finished events accepted more than once, in the order they first became
    /// duplicates.
    pub(crate) duplicates: Vec<String>,
    pub(crate) requests: Vec<RequestRecord>,
    /// Spans accepted on `/v1/traces`, in arrival order.
    pub(crate) spans: Vec<ReceivedSpan>,
    next_seq: u64,
    /// Injected faults with how many more requests each applies to, oldest first.
    queued: VecDeque<(Fault, usize)>,
    persistent: Option<Fault>,
}

/// How a request ended, written into its record.
pub(crate) struct Outcome {
    pub(crate) status: u16,
    pub(crate) error: Option<String>,
    pub(crate) violations: Vec<String>,
    /// Events to record as accepted (only for a 200).
    pub(crate) accepted: Vec<RawEvent>,
    /// Spans to record as accepted (only for a 200).
    pub(crate) spans: Vec<ReceivedSpan>,
    /// The answer's body, when it is not the trackEvents JSON of [`Outcome::body`].
    pub(crate) payload: Option<Payload>,
}

/// An answer body in a content type of its own.
pub(crate) struct Payload {
    pub(crate) content_type: &'static str,
    pub(crate) bytes: Vec<u8>,
}

impl Shared {
    pub(crate) fn new(
        token: String,
        validate: bool,
        observer: Option<Observer>,
        otlp: OtlpConfig,
        span_observer: Option<SpanObserver>,
    ) -> Shared {
        Shared {
            token,
            validate,
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
            observer,
            otlp,
            span_observer,
        }
    }

    pub(crate) fn otlp(&self) -> &OtlpConfig {
        &self.otlp
    }

    pub(crate) fn token(&self) -> &str {
        &self.token
    }

    pub(crate) fn validate(&self) -> bool {
        self.validate
    }

    /// The state, even if a panicking test thread poisoned the lock: the data stays usable.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stores a freshly read request, gives it its `seq` and picks the fault it gets.
    pub(crate) fn arrive(&self, mut record: RequestRecord) -> (u64, Option<Fault>) {
        let mut state = self.lock();
        let seq = state.next_seq;
        state.next_seq += 1;
        let fault = match state.queued.front_mut() {
            Some((fault, left)) => {
                let fault = fault.clone();
                *left -= 1;
                if *left == 0 {
                    state.queued.pop_front();
                }
                Some(fault)
            }
            None => state.persistent.clone(),
        };
        record.seq = seq;
        record.fault = fault.clone();
        state.requests.push(record);
        drop(state);
        self.changed.notify_all();
        (seq, fault)
    }

    /// Writes the answer into the request's record and records the accepted events.
    pub(crate) fn answer(&self, seq: u64, outcome: Outcome) {
        let mut state = self.lock();
        // A started event (no `finishedAt`) and then its finished one is an upsert by id, as
        // the API means it, not a duplicate: only finished events are counted.
        for event in outcome.accepted.iter().filter(|e| e.is_finished()) {
            if let Some(id) = &event.id {
                let times = state.times_seen.entry(id.clone()).or_insert(0);
                *times += 1;
                if *times == 2 {
                    state.duplicates.push(id.clone());
                }
            }
        }
        // Search from the end: `clear_requests` may have shifted indices, seqs never change.
        let record = state.requests.iter_mut().rev().find(|r| r.seq == seq);
        let observed_by_any = self.observer.is_some() || self.span_observer.is_some();
        let snapshot = record.and_then(|record| {
            record.status = Some(outcome.status);
            record.error = outcome.error;
            record.violations = outcome.violations;
            observed_by_any.then(|| record.clone())
        });
        let observed_spans = self.span_observer.as_ref().map(|_| outcome.spans.clone());
        state.spans.extend(outcome.spans);
        // Parsed only for an observer, which runs outside the lock: it may be slow (printing).
        let observed = self.observer.as_ref().map(|_| {
            outcome
                .accepted
                .iter()
                .map(RawEvent::parse)
                .collect::<Vec<_>>()
        });
        state.events.extend(outcome.accepted);
        drop(state);
        self.changed.notify_all();
        if let (Some(observer), Some(record), Some(events)) = (&self.observer, &snapshot, observed)
        {
            observer(record, &events);
        }
        if let (Some(observer), Some(record), Some(spans)) =
            (&self.span_observer, &snapshot, observed_spans)
        {
            observer(record, &spans);
        }
    }

    pub(crate) fn inject(&self, fault: Fault, times: usize) {
        // A count, not `times` copies: `usize::MAX` is a valid "until further notice".
        if times > 0 {
            self.lock().queued.push_back((fault, times));
        }
    }

    pub(crate) fn set_persistent(&self, fault: Option<Fault>) {
        self.lock().persistent = fault;
    }

    pub(crate) fn clear_events(&self) {
        let mut state = self.lock();
        state.events.clear();
        state.times_seen.clear();
        state.duplicates.clear();
    }

    pub(crate) fn clear_spans(&self) {
        self.lock().spans.clear();
    }

    pub(crate) fn clear_requests(&self) {
        self.lock().requests.clear();
    }

    /// Waits until `done` holds or `timeout` passes; returns whether it holds.
    pub(crate) fn wait_until(&self, timeout: Duration, done: impl Fn(&State) -> bool) -> bool {
        let start = Instant::now();
        let mut state = self.lock();
        loop {
            if done(&state) {
                return true;
            }
            // Bounded: every pass either returns or sleeps on what is left of `timeout`.
            let Some(left) = timeout.checked_sub(start.elapsed()) else {
                return false;
            };
            if left.is_zero() {
                return false;
            }
            state = self
                .changed
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}
