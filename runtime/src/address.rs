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

/// Accepts an OTLP endpoint: http or https with a host (plain http is common for a collector
/// on the same machine or in the same cluster). Returns the URL without a trailing slash.
pub(crate) fn check_otlp_endpoint(url: &str) -> Result<String, String> {
    let url = url.trim().trim_end_matches('/');
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| format!("`{url}` is not a URL (expected http://host:4318)"))?;
    if !matches!(scheme.to_ascii_lowercase().as_str(), "http" | "https") {
        return Err(format!(
            "`{url}` has unsupported scheme `{scheme}` (expected http or https)"
        ));
    }
    if host_of(rest.split(['/', '?', '#']).next().unwrap_or_default()).is_empty() {
        return Err(format!("`{url}` has no host"));
    }
    Ok(url.to_owned())
}

/// Whether `url` is plain http to a host other than loopback: what is sent there can be read
/// on the way.
pub(crate) fn is_cleartext_remote(url: &str) -> bool {
    let Some((scheme, rest)) = url.split_once("://") else {
        return false;
    };
    let host = host_of(rest.split(['/', '?', '#']).next().unwrap_or_default());
    scheme.eq_ignore_ascii_case("http") && !is_loopback(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn otlp_endpoints_may_be_plain_http_anywhere() {
        assert_eq!(
            check_otlp_endpoint("http://collector:4318/").as_deref(),
            Ok("http://collector:4318")
        );
        assert!(check_otlp_endpoint("grpc://collector:4317").is_err());
        assert!(check_otlp_endpoint("http:///v1/traces").is_err());
        assert!(is_cleartext_remote("http://collector:4318/v1/traces"));
        assert!(!is_cleartext_remote("http://127.0.0.1:4318/v1/traces"));
        assert!(!is_cleartext_remote("http://[::1]:4318"));
        assert!(!is_cleartext_remote("https://collector/v1/traces"));
    }
}
