//! `tracing` spans as events of the same tree: a [`tracing_subscriber::Layer`] that starts an
//! event when a span is created, makes it current on a thread while the span is entered
//! there, and finishes it when the span closes — one event per span, its whole life, however
//! often it is entered and on however many threads.
//!
//! The event's frame lives in the span's extensions (the registry's per-span storage), held
//! in the running-events registry like a manual event's, so started events and cancellation
//! see it. Entering pushes the event's context on this thread's stack: tracked calls, spans
//! created there and child processes started with `with_event_context()` become its
//! children.

mod fields;
mod sites;

use tracing_core::span::{Attributes, Id, Record};
use tracing_core::{Event, Level, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use crate::Conclusion;
use crate::api::global;
use crate::hot_path::event::finish_now;
use crate::hot_path::stack;
use crate::model::error_text;
use crate::model::site::Meta;
use crate::model::values::Extras;
use crate::platform::clock;
use crate::record::running::registry;
use crate::record::{Entry, Frame};
use fields::{ErrorText, Tags};
use sites::Sites;

/// The layer [`layer`] returns. Add it to a `tracing_subscriber::registry()` like any layer;
/// its filters (`with_filter`, `EnvFilter`, …) decide which spans become events.
#[derive(Debug, Default)]
pub struct Layer {
    sites: Sites,
}

/// A layer that records every span it sees as an event in the same tree as
/// `#[track_event]` calls: span name → sequence name, kind `span`, key `{target}::{name}`,
/// fields → tags (numbers stay numbers), `FAILURE` when an `ERROR` event was emitted in the
/// span (its message becomes the error text), else `SUCCESS`.
///
/// ```
/// use tracing_subscriber::layer::SubscriberExt;
///
/// let subscriber = tracing_subscriber::registry().with(trunk_ci_analytics::tracing::layer());
/// tracing::subscriber::with_default(subscriber, || {
///     let span = tracing::info_span!("compile", krate = "serde", units = 3);
///     let _entered = span.enter();
///     // `#[track_event]` calls here are children of `compile`.
/// });
/// ```
pub fn layer() -> Layer {
    Layer::default()
}

/// What a span carries while it is open.
struct SpanEvent {
    frame: Frame,
    /// The text of the first `ERROR` event emitted in the span.
    failure: Option<String>,
}

impl<S> tracing_subscriber::Layer<S> for Layer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if !global::enabled() {
            return;
        }
        let Some(span) = ctx.span(id) else {
            return;
        };
        let meta = Meta::Static(self.sites.of(attrs.metadata()));
        let start = clock::now();
        let mut frame = if attrs.is_contextual() {
            // The span current on this thread is on our stack (entering pushed it), above or
            // below the tracked calls running here: the innermost of all is the parent.
            let made = stack::with_stack(|s| Frame::new_at(s, meta.clone(), false, None, start));
            match made {
                Some(frame) => frame,
                None => return,
            }
        } else {
            // An explicit parent (or none): the nearest enclosing span that has an event.
            let parent = span
                .scope()
                .skip(1)
                .find_map(|p| p.extensions().get::<SpanEvent>().map(|e| e.frame.context()));
            let stack: Vec<Entry> = parent.into_iter().map(Entry::Attached).collect();
            Frame::new_at(&stack, meta, false, None, start)
        };
        let mut extras = Extras::default();
        attrs.record(&mut Tags(&mut extras));
        if !extras.tags.is_empty() {
            frame.extras = Some(Box::new(extras));
        }
        registry::hold(&frame);
        span.extensions_mut().insert(SpanEvent {
            frame,
            failure: None,
        });
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            if let Some(event) = span.extensions_mut().get_mut::<SpanEvent>() {
                values.record(&mut Tags(event.frame.extras_mut()));
            }
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        if *event.metadata().level() != Level::ERROR {
            return;
        }
        let Some(span) = ctx.event_span(event) else {
            return;
        };
        let mut extensions = span.extensions_mut();
        if let Some(open) = extensions.get_mut::<SpanEvent>() {
            if open.failure.is_none() {
                let mut text = ErrorText::default();
                event.record(&mut text);
                open.failure = Some(text.text());
            }
        }
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            if let Some(event) = span.extensions().get::<SpanEvent>() {
                stack::attach(event.frame.context());
            }
        }
    }

    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            if let Some(event) = span.extensions().get::<SpanEvent>() {
                stack::detach(event.frame.id);
            }
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else {
            return;
        };
        let Some(SpanEvent { mut frame, failure }) = span.extensions_mut().remove::<SpanEvent>()
        else {
            return;
        };
        registry::release(frame.id);
        let conclusion = match failure {
            Some(text) => {
                frame.set_error(error_text::bounded(&text));
                Conclusion::Failure
            }
            None => Conclusion::Success,
        };
        finish_now(frame, conclusion);
    }
}
