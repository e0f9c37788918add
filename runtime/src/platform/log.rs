//! One-line diagnostics on stderr, filtered by `TRUNK_CI_ANALYTICS_LOG`.
//!
//! Analytics must never drown a build log: problems that repeat per event are reported with
//! [`warn_once!`](crate::warn_once), which prints the first occurrence only.

use std::sync::atomic::{AtomicU8, Ordering};

/// How much the runtime prints on stderr (`TRUNK_CI_ANALYTICS_LOG`, or
/// [`Config::log_level`](crate::Config::log_level)). Every line starts with
/// `trunk-ci-analytics:`; a problem that repeats is printed once per process.
///
/// ```
/// use trunk_ci_analytics::{Config, LogLevel};
///
/// assert_eq!("debug".parse::<LogLevel>(), Ok(LogLevel::Debug));
/// assert!(LogLevel::Warn < LogLevel::Info);
/// let quiet = Config::from_env().log_level(LogLevel::Error);
/// # let _ = quiet;
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    /// Nothing at all, not even the tree summary.
    Off = 0,
    /// Errors only (events that cannot be uploaded, spooled or written), and the tree
    /// summary.
    Error = 1,
    /// Errors and warnings: bad configuration values, an unreachable endpoint, events sent
    /// to the spool (the default).
    #[default]
    Warn = 2,
    /// Also each batch delivered and each batch written to the spool.
    Info = 3,
    /// Also each retry with its reason and wait, and notes on ignored calls, such as
    /// [`tag`](crate::tag) outside any event.
    Debug = 4,
}

impl std::str::FromStr for LogLevel {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "off" | "none" | "0" => Ok(LogLevel::Off),
            "error" => Ok(LogLevel::Error),
            "warn" | "warning" => Ok(LogLevel::Warn),
            "info" => Ok(LogLevel::Info),
            "debug" | "trace" => Ok(LogLevel::Debug),
            other => Err(format!(
                "unknown log level `{other}` (expected off, error, warn, info or debug)"
            )),
        }
    }
}

static LEVEL: AtomicU8 = AtomicU8::new(LogLevel::Warn as u8);

pub(crate) fn set_level(level: LogLevel) {
    LEVEL.store(level as u8, Ordering::Relaxed);
}

pub(crate) fn enabled(level: LogLevel) -> bool {
    level != LogLevel::Off && level as u8 <= LEVEL.load(Ordering::Relaxed)
}

#[doc(hidden)]
pub fn emit(level: LogLevel, args: std::fmt::Arguments<'_>) {
    if !enabled(level) {
        return;
    }
    let label = match level {
        LogLevel::Off => return,
        LogLevel::Error => "error",
        LogLevel::Warn => "warning",
        LogLevel::Info => "info",
        LogLevel::Debug => "debug",
    };
    // One write per line so concurrent processes sharing a terminal do not interleave; never
    // through std's stderr lock, never waiting long (`sys::stderr`).
    let line = format!("trunk-ci-analytics: {label}: {args}");
    let mut line = printable(crate::platform::redact::text(&line).into_owned());
    line.push('\n');
    crate::platform::sys::stderr::write(line.as_bytes());
}

/// `line` with every control character replaced. Messages quote what servers answer and
/// what the environment holds: no terminal escape, carriage return or newline that forges a
/// line gets through to the terminal or the CI log.
fn printable(line: String) -> String {
    if !line.chars().any(char::is_control) {
        return line;
    }
    line.chars()
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect()
}

/// Logs at a level: `log!(Warn, "...", args)`.
#[macro_export]
#[doc(hidden)]
macro_rules! log {
    ($level:ident, $($arg:tt)+) => {
        $crate::log::emit($crate::LogLevel::$level, format_args!($($arg)+))
    };
}

/// Logs at a level, only the first time this call site is reached in the process.
#[macro_export]
#[doc(hidden)]
macro_rules! log_once {
    ($level:ident, $($arg:tt)+) => {{
        static ONCE: ::std::sync::atomic::AtomicBool = ::std::sync::atomic::AtomicBool::new(false);
        if !ONCE.swap(true, ::std::sync::atomic::Ordering::Relaxed) {
            $crate::log!($level, $($arg)+);
        }
    }};
}

/// Warns once per call site and process.
#[macro_export]
#[doc(hidden)]
macro_rules! warn_once {
    ($($arg:tt)+) => { $crate::log_once!(Warn, $($arg)+) };
}

#[cfg(test)]
mod tests {
    #[test]
    fn control_characters_are_replaced() {
        let forged = "bad\x1b[31m red\r\ntrunk-ci-analytics: info: forged\x07\u{9b}".to_owned();
        let clean = super::printable(forged);
        assert!(!clean.chars().any(char::is_control), "{clean:?}");
        assert_eq!(clean.lines().count(), 1);
        assert_eq!(super::printable("plain é".into()), "plain é");
    }
}
