//! What an event is *of*: the per-function constants the macro emits as a `static`, or the
//! owned equivalent for events built by hand.

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

use trunk_ci_analytics_rules::{MAX_KEY_CHARS, fnv1a64};

use crate::model::wire::TagValue;

/// Constants of one `#[track_event]` function, emitted by the macro as a `static`.
#[doc(hidden)]
#[derive(Debug)]
pub struct Site {
    name: &'static str,
    key: Option<&'static str>,
    package: Option<&'static str>,
    /// `module_path!()::fn`.
    path: &'static str,
    kind: &'static str,
    platform: Option<&'static str>,
    root: bool,
    flush: bool,
    resolved_key: OnceLock<Box<str>>,
}

impl Site {
    /// Called by the macro only; arguments mirror `#[track_event(..)]`.
    #[allow(clippy::too_many_arguments)]
    pub const fn new(
        name: &'static str,
        key: Option<&'static str>,
        package: Option<&'static str>,
        path: &'static str,
        kind: &'static str,
        platform: Option<&'static str>,
        root: bool,
        flush: bool,
    ) -> Self {
        Site {
            name,
            key,
            package,
            path,
            kind,
            platform,
            root,
            flush,
            resolved_key: OnceLock::new(),
        }
    }

    pub(crate) fn root(&self) -> bool {
        self.root
    }

    pub(crate) fn flush(&self) -> bool {
        self.flush
    }

    /// `{package}::{module_path}::{fn}` (the function's own name, whatever its `name`), or
    /// the explicit key; computed once, off the hot path.
    pub(crate) fn key(&self) -> &str {
        self.resolved_key.get_or_init(|| match self.key {
            Some(k) => k.into(),
            None => {
                let full = match self.package {
                    Some(p) => format!("{p}::{}", self.path),
                    None => self.path.to_owned(),
                };
                shorten_key(full).into_boxed_str()
            }
        })
    }
}

/// Owned site of an event built with [`EventBuilder`](crate::EventBuilder).
#[derive(Debug, Default)]
pub(crate) struct DynSite {
    pub(crate) name: String,
    pub(crate) key: String,
    pub(crate) kind: String,
    pub(crate) platform: Option<String>,
    pub(crate) sequence_tags: Vec<(Cow<'static, str>, TagValue)>,
}

/// The site of a running event.
#[derive(Clone, Debug)]
pub(crate) enum Meta {
    Static(&'static Site),
    Dynamic(Arc<DynSite>),
}

impl Meta {
    pub(crate) fn name(&self) -> &str {
        match self {
            Meta::Static(s) => s.name,
            Meta::Dynamic(d) => &d.name,
        }
    }

    pub(crate) fn key(&self) -> &str {
        match self {
            Meta::Static(s) => s.key(),
            Meta::Dynamic(d) => &d.key,
        }
    }

    pub(crate) fn kind(&self) -> &str {
        match self {
            Meta::Static(s) => s.kind,
            Meta::Dynamic(d) => &d.kind,
        }
    }

    pub(crate) fn platform(&self) -> Option<&str> {
        match self {
            Meta::Static(s) => s.platform,
            Meta::Dynamic(d) => d.platform.as_deref(),
        }
    }

    pub(crate) fn static_sequence_tags(&self) -> &[(Cow<'static, str>, TagValue)] {
        match self {
            Meta::Static(_) => &[],
            Meta::Dynamic(d) => &d.sequence_tags,
        }
    }

    pub(crate) fn flush(&self) -> bool {
        match self {
            Meta::Static(s) => s.flush(),
            Meta::Dynamic(_) => false,
        }
    }
}

/// Keeps a key under the API's limit: long keys keep their head and get a hash of the whole
/// key as suffix, so two long keys that share a head stay distinct.
pub(crate) fn shorten_key(key: String) -> String {
    if key.chars().count() <= MAX_KEY_CHARS {
        return key;
    }
    // Stable across Rust versions and processes, unlike `DefaultHasher`.
    let suffix = format!("~{:016x}", fnv1a64(key.as_bytes()));
    let head: String = key.chars().take(MAX_KEY_CHARS - suffix.len()).collect();
    head + &suffix
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_key_joins_package_module_and_function() {
        // `name = "Build it"` changes the display name, not the key.
        let s = Site::new(
            "Build it",
            None,
            Some("pkg"),
            "pkg::ci::build",
            "function",
            None,
            false,
            false,
        );
        assert_eq!(s.key(), "pkg::pkg::ci::build");
        let s = Site::new(
            "b",
            Some("explicit"),
            Some("pkg"),
            "m",
            "function",
            None,
            false,
            false,
        );
        assert_eq!(s.key(), "explicit");
    }

    #[test]
    fn long_keys_are_shortened_with_a_distinguishing_hash() {
        let a = shorten_key(format!("{}a", "x".repeat(200)));
        let b = shorten_key(format!("{}b", "x".repeat(200)));
        assert_eq!(a.chars().count(), MAX_KEY_CHARS);
        assert_ne!(a, b);
        assert_eq!(shorten_key("short".into()), "short");
        let exact = "y".repeat(MAX_KEY_CHARS);
        assert_eq!(shorten_key(exact.clone()), exact);
    }
}
