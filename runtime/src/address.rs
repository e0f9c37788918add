//! Which API addresses the token may be sent to.

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
