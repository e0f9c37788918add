//! A span's fields as event tags (numbers stay numbers, the rest through `Display` or
//! `Debug`, bounded like every tag), and an `ERROR` event's text.

use std::borrow::Cow;
use std::fmt::Debug;

use tracing_core::field::{Field, Visit};

use crate::model::values::{Extras, formatted_tag};
use crate::model::wire::TagValue;

/// Writes the fields it visits into `extras`, replacing a tag of the same name (a field
/// recorded again through `Span::record`).
pub(crate) struct Tags<'a>(pub(crate) &'a mut Extras);

impl Tags<'_> {
    fn set(&mut self, field: &Field, value: TagValue) {
        self.0.set_tag(Cow::Borrowed(field.name()), value);
    }
}

impl Visit for Tags<'_> {
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.set(field, TagValue::from(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.set(field, TagValue::from(value));
    }

    fn record_i128(&mut self, field: &Field, value: i128) {
        self.set(field, TagValue::from(value));
    }

    fn record_u128(&mut self, field: &Field, value: u128) {
        self.set(field, TagValue::from(value));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.set(field, TagValue::from(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.set(field, TagValue::from(value));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if let Some(v) = formatted_tag(format_args!("{value}")) {
            self.set(field, v);
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        if let Some(v) = formatted_tag(format_args!("{value}")) {
            self.set(field, v);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        if let Some(v) = formatted_tag(format_args!("{value:?}")) {
            self.set(field, v);
        }
    }
}

/// The text of an `ERROR` event: its message, else its `error` field (what
/// `#[instrument(err)]` emits), else every field as `name=value`.
#[derive(Default)]
pub(crate) struct ErrorText {
    message: Option<String>,
    error: Option<String>,
    rest: Vec<String>,
}

impl ErrorText {
    pub(crate) fn text(self) -> String {
        self.message
            .or(self.error)
            .unwrap_or_else(|| self.rest.join(" "))
    }
}

impl Visit for ErrorText {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.record_debug(field, &format_args!("{value}"));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.record_debug(field, &format_args!("{value}"));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        let text = format!("{value:?}");
        match field.name() {
            "message" => self.message = Some(text),
            "error" => self.error = Some(text),
            name => self.rest.push(format!("{name}={text}")),
        }
    }
}
