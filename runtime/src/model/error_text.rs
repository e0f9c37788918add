//! The error text of `#[track_event(err)]`: the `Display` of a returned `Err`, bounded.
//!
//! Bounded while it is written, not after: an error that displays megabytes (a whole
//! command output) costs no more than the kept prefix.

use std::fmt::{self, Display, Write};

/// The event tag that carries the text (on the Trunk wire; the OTLP span's attribute of the
/// same name and its status message come from it too).
pub(crate) const ERROR_TAG: &str = "error.message";
/// Most characters kept, the marker included.
pub(crate) const MAX_ERROR_CHARS: usize = 1024;
/// Ends a text that was cut.
pub(crate) const TRUNCATED: &str = "… [truncated]";

/// A function's return value whose error `#[track_event(err)]` can record.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`#[track_event(err)]` needs a function returning `Result<_, E>` with `E: Display`, not `{Self}`",
    label = "`err` records the `Display` of a returned `Err`",
    note = "remove `err`, or return a `Result` whose error type implements `std::fmt::Display`"
)]
pub trait ErrorText {
    /// The bounded `Display` of the error, if this is one.
    fn error_text(&self) -> Option<Box<str>>;
}

impl<T, E: Display> ErrorText for Result<T, E> {
    fn error_text(&self) -> Option<Box<str>> {
        self.as_ref().err().map(|e| bounded(e))
    }
}

/// `value`'s `Display`, at most [`MAX_ERROR_CHARS`] characters, ending in [`TRUNCATED`] if
/// it was longer.
pub(crate) fn bounded(value: &dyn Display) -> Box<str> {
    let mut w = Bounded {
        text: String::new(),
        chars: 0,
    };
    // An error from `write!` is either ours (the text is long enough) or the value's own
    // `Display` failing; both leave what was written so far.
    let _ = write!(w, "{value}");
    let mut text = w.text;
    if w.chars > MAX_ERROR_CHARS {
        let keep = MAX_ERROR_CHARS - TRUNCATED.chars().count();
        let end = text.char_indices().nth(keep).map_or(text.len(), |(i, _)| i);
        text.truncate(end);
        text.push_str(TRUNCATED);
    }
    text.into_boxed_str()
}

/// Collects whole characters, one more than [`MAX_ERROR_CHARS`] at most (which tells that
/// the text was longer), then stops the formatting.
struct Bounded {
    text: String,
    chars: usize,
}

impl Write for Bounded {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = MAX_ERROR_CHARS + 1 - self.chars;
        let end = s.char_indices().nth(room).map_or(s.len(), |(i, _)| i);
        self.text.push_str(&s[..end]);
        self.chars += s[..end].chars().count();
        if self.chars > MAX_ERROR_CHARS {
            return Err(fmt::Error);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_texts_are_kept_whole() {
        assert_eq!(&*bounded(&"file not found: /x"), "file not found: /x");
        let exact = "é".repeat(MAX_ERROR_CHARS);
        assert_eq!(&*bounded(&exact), exact);
        assert_eq!(&*bounded(&""), "");
    }

    #[test]
    fn long_texts_are_cut_on_a_character_boundary_with_a_marker() {
        let long = "é".repeat(MAX_ERROR_CHARS + 1);
        let cut = bounded(&long);
        assert_eq!(cut.chars().count(), MAX_ERROR_CHARS);
        assert!(cut.ends_with(TRUNCATED));
        assert!(long.starts_with(cut.trim_end_matches(TRUNCATED)));

        // Written in many pieces, the way `Display` impls with `write!` produce it.
        struct Pieces;
        impl Display for Pieces {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                for i in 0..100_000 {
                    write!(f, "{i}ü")?;
                }
                Ok(())
            }
        }
        let cut = bounded(&Pieces);
        assert_eq!(cut.chars().count(), MAX_ERROR_CHARS);
        assert!(cut.starts_with("0ü1ü2ü"));
        assert!(cut.ends_with(TRUNCATED));
    }

    #[test]
    fn only_errors_have_text() {
        let ok: Result<u8, String> = Ok(1);
        assert_eq!(ok.error_text(), None);
        let err: Result<u8, std::io::Error> = Err(std::io::Error::other("disk full"));
        assert_eq!(err.error_text().as_deref(), Some("disk full"));
    }
}
