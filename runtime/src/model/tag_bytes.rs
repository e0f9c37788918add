//! Byte bounds on what user code hands the library: one tag value, the tags of one event,
//! and the tag bytes alive in the process (in running events and on their way to the
//! background thread). Counts alone do not bound memory when values are large.
//!
//! A value over its bound is cut at a character boundary and ends with [`MARKER`]; a tag
//! with no room left in its event is left out. Either is reported once per process, and
//! counted ([`take_truncated`], added to the next flush report).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};

use crate::model::wire::TagValue;

/// Most bytes of one string tag value, marker included.
pub(crate) const MAX_TAG_VALUE_BYTES: usize = 4 * 1024;
/// Most bytes of the string tag values of one event (tags and sequence tags).
pub(crate) const MAX_EVENT_TAG_BYTES: usize = 32 * 1024;
/// Most tag bytes alive in the process before finished events are dropped (counted) at the
/// hand-off to the background thread rather than queued.
pub(crate) const MAX_LIVE_TAG_BYTES: usize = 64 * 1024 * 1024;
/// Ends a value that was cut.
pub(crate) const MARKER: &str = "…[truncated]";

static TRUNCATED: AtomicU64 = AtomicU64::new(0);
static LIVE: AtomicUsize = AtomicUsize::new(0);

/// `value` within `room` bytes (at most [`MAX_TAG_VALUE_BYTES`]): cut with [`MARKER`] when
/// longer, `None` when even the marker does not fit.
pub(crate) fn bounded(value: TagValue, room: usize) -> Option<TagValue> {
    let TagValue::Str(text) = value else {
        return Some(value);
    };
    let room = room.min(MAX_TAG_VALUE_BYTES);
    if text.len() <= room {
        return Some(TagValue::Str(text));
    }
    TRUNCATED.fetch_add(1, Relaxed);
    crate::warn_once!(
        "a tag value is longer than {MAX_TAG_VALUE_BYTES} bytes, or an event's tags longer \
         than {MAX_EVENT_TAG_BYTES} bytes: cut, ending with `{MARKER}` (counted in the flush \
         report)"
    );
    let keep = room.checked_sub(MARKER.len())?;
    Some(TagValue::Str(cut(text, keep)))
}

/// `text` cut to at most `keep` bytes, plus the marker.
fn cut(mut text: String, keep: usize) -> String {
    let mut end = keep.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text.push_str(MARKER);
    text
}

/// String bytes a tag value holds.
pub(crate) fn bytes_of(value: &TagValue) -> usize {
    match value {
        TagValue::Str(s) => s.len(),
        _ => 0,
    }
}

/// Values cut or left out since the last call.
pub(crate) fn take_truncated() -> u64 {
    TRUNCATED.swap(0, Relaxed)
}

/// Counts a value left out for want of room.
pub(crate) fn count_left_out() {
    TRUNCATED.fetch_add(1, Relaxed);
}

/// Tag bytes alive went up by `n`.
pub(crate) fn live_add(n: usize) {
    if n > 0 {
        LIVE.fetch_add(n, Relaxed);
    }
}

/// Tag bytes alive went down by `n`.
pub(crate) fn live_sub(n: usize) {
    if n > 0 {
        LIVE.fetch_sub(n, Relaxed);
    }
}

/// Whether the tag bytes alive exceed [`MAX_LIVE_TAG_BYTES`].
pub(crate) fn live_over() -> bool {
    LIVE.load(Relaxed) > MAX_LIVE_TAG_BYTES
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_are_cut_at_a_char_boundary_with_the_marker() {
        let long = "é".repeat(MAX_TAG_VALUE_BYTES);
        let Some(TagValue::Str(cut)) = bounded(TagValue::Str(long), usize::MAX) else {
            panic!("a string stays a string");
        };
        assert!(cut.len() <= MAX_TAG_VALUE_BYTES, "{}", cut.len());
        assert!(cut.ends_with(MARKER));
        assert!(cut.len() > MAX_TAG_VALUE_BYTES - MARKER.len() - 2);
        let short = TagValue::Str("main".into());
        assert_eq!(bounded(short.clone(), usize::MAX), Some(short));
        assert_eq!(bounded(TagValue::Int(1), 0), Some(TagValue::Int(1)));
        assert_eq!(bounded(TagValue::Str("x".repeat(10)), 3), None);
        assert!(take_truncated() >= 2);
    }
}
