//! Parsing of the pinned environment variables into a [`Config`].

use std::path::PathBuf;
use std::time::Duration;

use crate::config::Config;
use crate::context::EventContext;

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
        match crate::detect::parse_repo(&v) {
            Ok(repo) => c.repo = Some(repo),
            Err(e) => warnings.push(format!("TRUNK_REPO: {e}; detecting the repository instead")),
        }
    }
    c.events_file = var("TRUNK_EVENTS_FILE").map(PathBuf::from);
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
    let handed = [
        "TRUNK_CHAIN_ID",
        "TRUNK_PARENT_EVENT_ID",
        "TRUNK_PARENT_SEQUENCE_KEY",
    ];
    c.parent = EventContext::from_vars(|n| var(n));
    if c.parent.is_none() && handed.iter().any(|n| var(n).is_some()) {
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

/// Accepts https URLs, and plain http only to a loopback host (for tests). Returns the URL
/// without a trailing slash.
pub(crate) fn check_api_address(url: &str) -> Result<String, String> {
    let url = url.trim().trim_end_matches('/');
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| format!("`{url}` is not a URL (expected https://host)"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = host_of(authority);
    if host.is_empty() {
        return Err(format!("`{url}` has no host"));
    }
    match scheme.to_ascii_lowercase().as_str() {
        "https" => Ok(url.to_owned()),
        "http" if is_loopback(host) => Ok(url.to_owned()),
        "http" => Err(format!(
            "`{url}` is plain http to a non-loopback host; the token is only sent over https"
        )),
        other => Err(format!(
            "`{url}` has unsupported scheme `{other}` (expected https)"
        )),
    }
}

fn host_of(authority: &str) -> &str {
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if let Some(rest) = authority.strip_prefix('[') {
        // An IPv6 literal; without its closing bracket there is no host.
        return rest.split_once(']').map_or("", |(host, _)| host);
    }
    authority.split(':').next().unwrap_or_default()
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests;
