//! The environment read into a [`Config`]: the pinned `TRUNK_*` variables here, the
//! OpenTelemetry SDK's `OTEL_*` in [`otel`]. The one place the configuration reads the
//! process environment.

pub(crate) mod otel;

use std::path::PathBuf;
use std::time::Duration;

use crate::config::Config;
use crate::config::address::check_api_address;
use crate::model::id::trace_context::ENV_TRACEPARENT;
use crate::record::lineage::{ENV_CONTEXT, EventContext};
use crate::record::run_uploader::{ENV_UPLOADER, RunUploader};

impl Config {
    /// Reads every `TRUNK_*` variable, `TRACEPARENT`, and the OpenTelemetry SDK's `OTEL_*`
    /// variables for trace export, from the process environment. A bad value is reported
    /// once on stderr, naming the variable, and replaced by its default.
    ///
    /// ```
    /// let config = trunk_ci_analytics::Config::from_env();
    /// println!("uploading: {}", config.has_token());
    /// ```
    pub fn from_env() -> Self {
        let (mut config, warnings) = Config::from_vars(|name| std::env::var(name).ok());
        // Paths may hold bytes that are not UTF-8, which `var` refuses: taken as they are.
        for (name, slot) in [
            ("TRUNK_EVENTS_FILE", &mut config.events_file),
            ("TRUNK_SPOOL_DIR", &mut config.spool_dir),
        ] {
            if let Err(std::env::VarError::NotUnicode(path)) = std::env::var(name) {
                *slot = Some(PathBuf::from(path));
            }
        }
        crate::platform::log::set_level(config.log_level);
        for w in warnings {
            crate::log!(Warn, "{w}");
        }
        config
    }

    /// Reads the pinned variables through `get`; returns the config and one message per bad
    /// value (each names the variable and the default used instead).
    ///
    /// ```
    /// use trunk_ci_analytics::Config;
    /// let (config, warnings) = Config::from_vars(|name| match name {
    ///     "TRUNK_FLUSH_TIMEOUT_MS" => Some("soon".into()),
    ///     _ => None,
    /// });
    /// assert_eq!(config.flush_timeout_value().as_millis(), 2000);
    /// assert!(warnings[0].contains("TRUNK_FLUSH_TIMEOUT_MS"));
    /// ```
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> (Self, Vec<String>) {
        parse(&get)
    }
}

/// Longest accepted `TRUNK_FLUSH_TIMEOUT_MS`. Beyond it a typo, not a wish, is likelier, and
/// deadlines computed as `now + timeout` must not overflow.
const MAX_FLUSH_TIMEOUT_MS: u64 = 60 * 60 * 1000;

/// Reads every pinned variable through `get`. Bad values become messages, never panics.
pub(crate) fn parse(get: &dyn Fn(&str) -> Option<String>) -> (Config, Vec<String>) {
    let mut warnings = Vec::new();
    let mut c = Config::default();
    let var = |name: &str| {
        get(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };

    if let Some(v) = var("TRUNK_CI_ANALYTICS") {
        match v.to_ascii_lowercase().as_str() {
            "off" | "0" | "false" | "no" | "disabled" => c.enabled = false,
            "on" | "1" | "true" | "yes" | "enabled" => {}
            _ => warnings.push(format!(
                "TRUNK_CI_ANALYTICS=`{v}` is not understood (use `off` to disable); analytics stays on"
            )),
        }
    }
    if let Some(v) = var("TRUNK_CI_ANALYTICS_LOG") {
        match v.parse() {
            Ok(level) => c.log_level = level,
            Err(e) => warnings.push(format!("TRUNK_CI_ANALYTICS_LOG: {e}; using `warn`")),
        }
    }
    c.token = var("TRUNK_API_TOKEN").map(crate::config::Token::new);
    if let Some(v) = var("TRUNK_PUBLIC_API_ADDRESS") {
        match check_api_address(&v) {
            Ok(url) => c.api_address = url,
            Err(e) => warnings.push(format!(
                "TRUNK_PUBLIC_API_ADDRESS: {e}; using {}",
                crate::config::DEFAULT_API_ADDRESS
            )),
        }
    }
    if let Some(v) = var("TRUNK_REPO") {
        match crate::config::detect::parse_repo(&v) {
            Ok(repo) => c.repo = Some(repo),
            Err(e) => warnings.push(format!("TRUNK_REPO: {e}; detecting the repository instead")),
        }
    }
    c.events_file = var("TRUNK_EVENTS_FILE").map(PathBuf::from);
    c.trace_file = var("TRUNK_TRACE_FILE").map(PathBuf::from);
    c.job_summary = var("GITHUB_STEP_SUMMARY").map(PathBuf::from);
    c.spool_dir = var("TRUNK_SPOOL_DIR").map(PathBuf::from);
    if let Some(v) = var("TRUNK_FLUSH_TIMEOUT_MS") {
        match v.parse::<u64>() {
            Ok(ms) if ms > MAX_FLUSH_TIMEOUT_MS => {
                c.flush_timeout = Duration::from_millis(MAX_FLUSH_TIMEOUT_MS);
                warnings.push(format!(
                    "TRUNK_FLUSH_TIMEOUT_MS=`{v}` is more than an hour; using {MAX_FLUSH_TIMEOUT_MS}"
                ));
            }
            Ok(ms) => c.flush_timeout = Duration::from_millis(ms),
            Err(_) => warnings.push(format!(
                "TRUNK_FLUSH_TIMEOUT_MS=`{v}` is not a whole number of milliseconds; using {}",
                crate::config::DEFAULT_FLUSH_TIMEOUT.as_millis()
            )),
        }
    }
    if let Some(v) = var(ENV_UPLOADER) {
        match RunUploader::parse(&v) {
            Ok(uploader) => c.run_uploader = Some(uploader),
            Err(why) => warnings.push(format!(
                "{ENV_UPLOADER}=`{v}` is not an uploader's announcement ({why}); this process \
                 delivers its events itself"
            )),
        }
    }
    c.otlp = crate::config::env::otel::parse(&var, &mut warnings);
    let handed = ENV_CONTEXT;
    // TRUNK_* first, else TRACEPARENT: a parent that sets both (ours) sets them consistently.
    c.parent = EventContext::from_vars(|n| var(n));
    let trunk_context = handed.iter().any(|n| var(n).is_some());
    if let Some(v) = var(ENV_TRACEPARENT) {
        if let Err(why) = EventContext::from_traceparent(&v) {
            let effect = if trunk_context {
                "ignored"
            } else {
                "root events start a new chain"
            };
            warnings.push(format!(
                "TRACEPARENT is not a W3C traceparent: {why}; {effect}"
            ));
        }
    }
    if c.parent.is_none() && trunk_context {
        let missing: Vec<_> = handed
            .iter()
            .filter(|n| var(n).is_none())
            .copied()
            .collect();
        let verb = if missing.len() == 1 { "is" } else { "are" };
        warnings.push(format!(
            "{} {verb} not set while the other context variables are; root events start a new chain",
            missing.join(" and ")
        ));
    }
    (c, warnings)
}

#[cfg(test)]
mod tests;
