//! Conversions of user values into tag and metric values.

use std::borrow::Cow;

use crate::model::tag_bytes;
use crate::model::wire::TagValue;

/// A number usable as a metric value ([`metric`](crate::metric), `metrics(k = expr)`,
/// [`EventBuilder::metric`](crate::EventBuilder::metric)): every integer and float type, and
/// [`Duration`](std::time::Duration) in milliseconds.
///
/// ```
/// use std::time::Duration;
/// use trunk_ci_analytics::MetricValue;
///
/// assert_eq!(3u32.to_metric(), 3.0);
/// assert_eq!(Duration::from_micros(1500).to_metric(), 1.5);
/// ```
pub trait MetricValue {
    /// The value as `f64` (the wire's number).
    ///
    /// ```
    /// use trunk_ci_analytics::MetricValue;
    /// assert_eq!((-2i64).to_metric(), -2.0);
    /// ```
    fn to_metric(&self) -> f64;
}

macro_rules! metric_value {
    ($($t:ty),*) => {$(
        impl MetricValue for $t {
            #[allow(clippy::cast_precision_loss, clippy::cast_lossless)]
            #[inline]
            fn to_metric(&self) -> f64 { *self as f64 }
        }
    )*};
}
metric_value!(
    i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize, f32, f64
);

impl<T: MetricValue + ?Sized> MetricValue for &T {
    fn to_metric(&self) -> f64 {
        (**self).to_metric()
    }
}

impl MetricValue for std::time::Duration {
    /// A duration is measured in milliseconds, like `duration_ms`.
    fn to_metric(&self) -> f64 {
        self.as_secs_f64() * 1000.0
    }
}

/// Extra data declared on one event: owned only when the user declared it.
#[doc(hidden)]
#[derive(Debug, Default)]
pub struct Extras {
    pub(crate) tags: Vec<(Cow<'static, str>, TagValue)>,
    pub(crate) metrics: Vec<(Cow<'static, str>, f64)>,
    pub(crate) sequence_tags: Vec<(Cow<'static, str>, TagValue)>,
    /// The bounded `Display` of the `Err` a `#[track_event(err)]` function returned (also
    /// in `tags` as `error.message`): the OpenTelemetry span's status message.
    pub(crate) error: Option<Box<str>>,
    /// String bytes of the tag values, within [`tag_bytes::MAX_EVENT_TAG_BYTES`] and counted
    /// in the process's live tag bytes until this set is dropped.
    bytes: usize,
}

impl Drop for Extras {
    fn drop(&mut self) {
        tag_bytes::live_sub(self.bytes);
    }
}

impl Extras {
    /// A set read back from the overflow's compact bytes. Its tag bytes are not counted as
    /// live again: they were counted (and released) when the event was recorded, and the
    /// overflow is bounded on its own.
    pub(crate) fn decoded(
        tags: Vec<(Cow<'static, str>, TagValue)>,
        metrics: Vec<(Cow<'static, str>, f64)>,
        sequence_tags: Vec<(Cow<'static, str>, TagValue)>,
    ) -> Extras {
        let mut extras = Extras::default();
        extras.tags = tags;
        extras.metrics = metrics;
        extras.sequence_tags = sequence_tags;
        extras
    }

    /// An empty set; the macro chains the builders below.
    pub fn new() -> Self {
        Extras::default()
    }

    /// Adds an event tag; `None` (a value that could not be formatted) adds nothing.
    pub fn tag(mut self, key: &'static str, value: impl Into<Option<TagValue>>) -> Self {
        if let Some(value) = value.into() {
            self.push_tag(Cow::Borrowed(key), value);
        }
        self
    }

    /// Adds an event metric.
    pub fn metric(mut self, key: &'static str, value: f64) -> Self {
        self.metrics.push((Cow::Borrowed(key), value));
        self
    }

    /// Adds a sequence tag; `None` adds nothing.
    pub fn sequence_tag(mut self, key: &'static str, value: impl Into<Option<TagValue>>) -> Self {
        if let Some(value) = value.into() {
            if let Some(value) = self.bounded(value) {
                self.sequence_tags.push((Cow::Borrowed(key), value));
            }
        }
        self
    }

    /// Adds an event tag within the byte bounds.
    pub(crate) fn push_tag(&mut self, key: Cow<'static, str>, value: TagValue) {
        if let Some(value) = self.bounded(value) {
            self.tags.push((key, value));
        }
    }

    /// Sets an event tag within the byte bounds: a tag of the same key is replaced (its bytes
    /// given back first), as a `tracing` span's field recorded again.
    #[cfg(feature = "tracing")]
    pub(crate) fn set_tag(&mut self, key: Cow<'static, str>, value: TagValue) {
        if let Some(pos) = self.tags.iter().position(|(k, _)| *k == key) {
            let (_, old) = self.tags.remove(pos);
            let n = tag_bytes::bytes_of(&old);
            self.bytes = self.bytes.saturating_sub(n);
            tag_bytes::live_sub(n);
        }
        self.push_tag(key, value);
    }

    /// `value` cut to the room left in this event, its bytes counted; `None` (counted) when
    /// no room is left.
    fn bounded(&mut self, value: TagValue) -> Option<TagValue> {
        let room = tag_bytes::MAX_EVENT_TAG_BYTES.saturating_sub(self.bytes);
        let Some(value) = tag_bytes::bounded(value, room) else {
            tag_bytes::count_left_out();
            return None;
        };
        let n = tag_bytes::bytes_of(&value);
        self.bytes += n;
        tag_bytes::live_add(n);
        Some(value)
    }

    /// Boxes the set, as the guard takes it.
    pub fn boxed(self) -> Option<Box<Extras>> {
        Some(Box::new(self))
    }
}

/// Autoref specialization for `tags(k = expr)`: numbers stay numbers, anything else goes
/// through `Display`. The macro calls `(&TagProbe(&expr)).__trunk_tag_value()`.
#[doc(hidden)]
#[derive(Debug)]
pub struct TagProbe<'a, T: ?Sized>(pub &'a T);

#[doc(hidden)]
pub trait TagNumber {
    fn to_tag_value(&self) -> TagValue;
}

macro_rules! tag_number {
    ($($t:ty),*) => {$(
        impl TagNumber for $t {
            fn to_tag_value(&self) -> TagValue { TagValue::from(*self) }
        }
    )*};
}
tag_number!(
    i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize, f32, f64
);

impl<T: TagNumber + ?Sized> TagNumber for &T {
    fn to_tag_value(&self) -> TagValue {
        (**self).to_tag_value()
    }
}

#[doc(hidden)]
pub trait ViaNumber {
    fn __trunk_tag_value(&self) -> TagValue;
}

impl<T: TagNumber + ?Sized> ViaNumber for TagProbe<'_, T> {
    fn __trunk_tag_value(&self) -> TagValue {
        self.0.to_tag_value()
    }
}

/// `None` when the value's `Display` returns an error (which `to_string` would turn into a
/// panic at the tracked function's entry): the tag is dropped, with one warning.
#[doc(hidden)]
pub trait ViaDisplay {
    fn __trunk_tag_value(&self) -> Option<TagValue>;
}

impl<T: std::fmt::Display + ?Sized> ViaDisplay for &TagProbe<'_, T> {
    fn __trunk_tag_value(&self) -> Option<TagValue> {
        formatted_tag(format_args!("{}", self.0))
    }
}

/// A tag value from formatted text, built no longer than a tag value may be; `None` (with
/// one warning) when the formatting itself failed.
pub(crate) fn formatted_tag(args: std::fmt::Arguments<'_>) -> Option<TagValue> {
    let mut text = Capped(String::new());
    let result = std::fmt::Write::write_fmt(&mut text, args);
    // Past the cap our writer stops the formatting: that error is ours, not a failure.
    if result.is_err() && !text.is_full() {
        crate::warn_once!(
            "a tag value's `Display` or `Debug` implementation returned an error; that tag is \
             left out"
        );
        return None;
    }
    Some(TagValue::Str(text.0))
}

/// A string that takes one byte more than a tag value may hold, then refuses: a huge
/// `Display` output is never built in full, and the extra byte tells the bound to cut it.
struct Capped(String);

impl Capped {
    fn is_full(&self) -> bool {
        self.0.len() > tag_bytes::MAX_TAG_VALUE_BYTES
    }
}

impl std::fmt::Write for Capped {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let room = (tag_bytes::MAX_TAG_VALUE_BYTES + 1).saturating_sub(self.0.len());
        if s.len() <= room {
            self.0.push_str(s);
            return Ok(());
        }
        // Whole characters only, then at least one byte past the bound.
        let mut end = room;
        while !s.is_char_boundary(end) {
            end += 1;
        }
        self.0.push_str(&s[..end]);
        Err(std::fmt::Error)
    }
}

#[cfg(test)]
// The explicit `&` is the autoref specialization under test, not a needless borrow.
#[allow(clippy::needless_borrow)]
mod tests {
    use super::*;
    #[allow(unused_imports)]
    use super::{ViaDisplay as _, ViaNumber as _};

    #[test]
    fn numbers_stay_numbers_and_the_rest_is_displayed() {
        assert_eq!((&TagProbe(&7u16)).__trunk_tag_value(), TagValue::Int(7));
        assert_eq!(
            (&TagProbe(&1.5f64)).__trunk_tag_value(),
            TagValue::Float(1.5)
        );
        assert_eq!(
            (&TagProbe(&u64::MAX)).__trunk_tag_value(),
            TagValue::UInt(u64::MAX)
        );
        assert_eq!(
            (&TagProbe(&"main")).__trunk_tag_value(),
            Some(TagValue::Str("main".into()))
        );
        let path = std::path::Path::new("/x");
        assert_eq!(
            (&TagProbe(&path.display())).__trunk_tag_value(),
            Some(TagValue::Str("/x".into()))
        );
    }

    struct Failing;

    impl std::fmt::Display for Failing {
        fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            Err(std::fmt::Error)
        }
    }

    #[test]
    fn a_failing_display_gives_no_value() {
        assert_eq!((&TagProbe(&Failing)).__trunk_tag_value(), None);
        let extras = Extras::new().tag("bad", None).tag("good", TagValue::Int(1));
        assert_eq!(extras.tags.len(), 1);
    }

    #[test]
    fn metrics_convert_to_f64() {
        assert_eq!(std::time::Duration::from_micros(1500).to_metric(), 1.5);
        assert_eq!((-2i64).to_metric(), -2.0);
    }
}
