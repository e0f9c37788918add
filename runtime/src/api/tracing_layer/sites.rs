//! One `Site` per `tracing` callsite, made when the callsite registers and kept for the life
//! of the process (as the callsite's own `&'static Metadata` is): a span's event then takes
//! the same static path through the encoders as a `#[track_event]` call's.

use std::collections::HashMap;
use std::sync::{PoisonError, RwLock};

use tracing_core::Metadata;
use tracing_core::callsite::Identifier;

use crate::model::site::{Site, shorten_key};

/// The kind of every span's event.
pub(crate) const KIND: &str = "span";

#[derive(Debug, Default)]
pub(crate) struct Sites {
    by_callsite: RwLock<HashMap<Identifier, &'static Site>>,
}

impl Sites {
    /// The site of `meta`'s callsite, made on first sight.
    pub(crate) fn of(&self, meta: &'static Metadata<'static>) -> &'static Site {
        let id = meta.callsite();
        if let Some(site) = self
            .by_callsite
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&id)
        {
            return site;
        }
        let mut map = self
            .by_callsite
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        map.entry(id).or_insert_with(|| new_site(meta))
    }
}

/// Leaked on purpose: callsites are static and finite, and a site must outlive every
/// record that points at it (the background thread reads them until the process ends).
fn new_site(meta: &'static Metadata<'static>) -> &'static Site {
    let key: &'static str =
        Box::leak(shorten_key(format!("{}::{}", meta.target(), meta.name())).into_boxed_str());
    Box::leak(Box::new(Site::new(
        meta.name(),
        Some(key),
        None,
        meta.target(),
        KIND,
        None,
        false,
        false,
    )))
}
