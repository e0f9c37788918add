//! Which API addresses the token may be sent to.
//!
//! Judged with the parser that sends (`reqwest::Url`, with the `upload` feature), on the URL
//! as it normalised it (tabs and newlines dropped, `\` read as `/`, numeric IPv4 forms made
//! dotted), and the normalised text is what the client is later given: no second parser can
//! disagree with the first about the host.
//!
//! Without `upload` nothing is sent, but the normalised addresses still name the spool
//! partitions, which an uploading process must find under the same names: [`plain`] reads
//! the plain forms (`https://host[:port][/path]`, ASCII, dotted IPv4, bracketed IPv6) with
//! std alone, and gives for each exactly the text the sending parser gives (checked against
//! it in the tests of the `upload` build). Another form is refused there with a warning,
//! where the sending parser might have read it: the `url` crate and its Unicode tables
//! (IDNA) are what a build-dependency without `upload` must not compile.

#[cfg(any(test, not(feature = "upload")))]
mod plain;

use std::net::IpAddr;

use crate::platform::redact;

/// A URL as the parser read it: what the checks below judge.
pub(crate) struct Parsed {
    scheme: String,
    host: Option<String>,
    user_info: bool,
    query_or_fragment: bool,
    /// The whole URL, normalised.
    text: String,
}

/// Reads `text` with the parser that sends.
#[cfg(feature = "upload")]
fn parse(text: &str) -> Result<Parsed, String> {
    let url = reqwest::Url::parse(text).map_err(|e| e.to_string())?;
    Ok(Parsed {
        scheme: url.scheme().to_owned(),
        host: url.host_str().map(str::to_owned),
        user_info: !url.username().is_empty() || url.password().is_some(),
        query_or_fragment: url.query().is_some() || url.fragment().is_some(),
        text: url.as_str().to_owned(),
    })
}

/// Reads `text` in its plain forms (see [`plain`]).
#[cfg(not(feature = "upload"))]
fn parse(text: &str) -> Result<Parsed, String> {
    plain::parse(text)
}

/// Accepts https URLs, and plain http only to a loopback host (for tests). Refuses user
/// info, queries and fragments, which have no place in a base address and only serve to
/// disguise the host. Returns the normalised URL without a trailing slash.
pub(crate) fn check_api_address(url: &str) -> Result<String, String> {
    let url = url.trim();
    let shown = redact::text(url);
    let parsed =
        parse(url).map_err(|e| format!("`{shown}` is not a URL ({e}; expected https://host)"))?;
    let host = parsed
        .host
        .as_deref()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| format!("`{shown}` has no host"))?;
    if parsed.user_info {
        return Err(format!(
            "`{shown}` holds user info before the host; give the address alone"
        ));
    }
    if parsed.query_or_fragment {
        return Err(format!(
            "`{shown}` has a query or fragment; give the base address alone"
        ));
    }
    match parsed.scheme.as_str() {
        "https" => {}
        "http" if is_loopback(host) => {}
        "http" => {
            return Err(format!(
                "`{shown}` is plain http to a non-loopback host (`{host}`); the token is only \
                 sent over https"
            ));
        }
        other => {
            return Err(format!(
                "`{shown}` has unsupported scheme `{other}` (expected https)"
            ));
        }
    }
    Ok(parsed.text.trim_end_matches('/').to_owned())
}

/// Whether `host` (as the parser gives it) is a loopback address, or the exact name
/// `localhost`, which the client pins to 127.0.0.1 rather than asking a resolver.
pub(crate) fn is_loopback(host: &str) -> bool {
    let literal = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    host == "localhost" || literal.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Accepts an OTLP endpoint: http or https with a host (plain http is common for a collector
/// on the same machine or in the same cluster). Judged by the parser that sends, like the
/// API address. Returns the normalised URL without a trailing slash.
pub(crate) fn check_otlp_endpoint(url: &str) -> Result<String, String> {
    let url = url.trim();
    let shown = redact::text(url);
    let parsed = parse(url)
        .map_err(|e| format!("`{shown}` is not a URL ({e}; expected http://host:4318)"))?;
    if !matches!(parsed.scheme.as_str(), "http" | "https") {
        return Err(format!(
            "`{shown}` has unsupported scheme `{}` (expected http or https)",
            parsed.scheme
        ));
    }
    if parsed.host.as_deref().is_none_or(str::is_empty) {
        return Err(format!("`{shown}` has no host"));
    }
    Ok(parsed.text.trim_end_matches('/').to_owned())
}

/// `path` appended to the path of `base` (a checked URL): a query or fragment of `base`
/// stays after it, instead of the path landing inside the query. Read as text, the same with
/// or without `upload`: in a checked URL's normalised text the first `?` or `#` after the
/// scheme ends the path (the parser percent-encodes them anywhere before).
pub(crate) fn append_path(base: &str, path: &str) -> String {
    let start = base.find("://").map_or(0, |at| at + 3);
    let end = base[start..]
        .find(['?', '#'])
        .map_or(base.len(), |at| start + at);
    let (head, tail) = base.split_at(end);
    format!("{}{path}{tail}", head.trim_end_matches('/'))
}

/// Whether `url` is plain http to a host other than loopback: what is sent there can be read
/// on the way.
#[cfg(feature = "upload")]
pub(crate) fn is_cleartext_remote(url: &str) -> bool {
    parse(url).is_ok_and(|u| u.scheme == "http" && !u.host.as_deref().is_some_and(is_loopback))
}

// What the sending parser makes of addresses: with `upload` only (the plain forms' own tests
// are in `plain`).
#[cfg(all(test, feature = "upload"))]
mod tests {
    use super::{check_api_address, check_otlp_endpoint, is_cleartext_remote};

    /// What the sending client would connect to for `url`, by the same parser.
    fn host_sent_to(url: &str) -> Option<String> {
        reqwest::Url::parse(url).ok()?.host_str().map(str::to_owned)
    }

    #[test]
    fn backslashes_and_user_info_cannot_hide_the_real_host() {
        for bad in [
            r"http://192.0.2.2:18787\@127.0.0.1",
            r"http://192.0.2.2:18787\\@127.0.0.1",
            r"http://192.0.2.2\@localhost/",
            "http://user@127.0.0.1",
            "http://127.0.0.1@192.0.2.2",
            "http://127.0.0.1:80@192.0.2.2",
            "https://user:secret@api.trunk.io",
        ] {
            assert!(check_api_address(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn whitespace_is_judged_as_the_client_sees_it() {
        // The URL parser drops tabs and newlines anywhere: judged after that.
        assert_eq!(
            check_api_address("http://12\t7.0.0.1:8080").as_deref(),
            Ok("http://127.0.0.1:8080")
        );
        assert_eq!(
            check_api_address(" https://api.trunk.io/ \n").as_deref(),
            Ok("https://api.trunk.io")
        );
        for bad in [
            "http://192.0.2.2\t@127.0.0.1",
            "http://192.0.2.2\n@localhost",
            "http://127.0.0.1 .example.com",
            "http://127.0.0.1\u{a0}@192.0.2.2",
        ] {
            assert!(check_api_address(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn ipv6_literals() {
        assert_eq!(
            check_api_address("http://[::1]:8080/").as_deref(),
            Ok("http://[::1]:8080")
        );
        assert_eq!(
            check_api_address("http://[0:0:0:0:0:0:0:1]").as_deref(),
            Ok("http://[::1]")
        );
        for bad in [
            "http://[::1",
            "http://[2001:db8::1]",
            "http://[::ffff:192.0.2.2]",
            "http://[::1]@192.0.2.2",
        ] {
            assert!(check_api_address(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn numeric_ipv4_forms_are_normalised_then_judged() {
        for (form, normal) in [
            ("http://2130706433/", "http://127.0.0.1"),
            ("http://0x7f.1/", "http://127.0.0.1"),
            ("http://0177.0.0.1:9", "http://127.0.0.1:9"),
            ("http://127.1", "http://127.0.0.1"),
        ] {
            assert_eq!(check_api_address(form).as_deref(), Ok(normal), "{form}");
        }
        // 192.0.2.2 in decimal and hex.
        for bad in ["http://3221225986/", "http://0xc0.0.2.2"] {
            assert!(check_api_address(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn only_the_exact_name_localhost_counts() {
        assert_eq!(
            check_api_address("HTTP://LOCALHOST:1").as_deref(),
            Ok("http://localhost:1")
        );
        for bad in [
            "http://localhost.",
            "http://localhost.evil.com",
            "http://evil.com#@localhost",
            "http://evil.com?@localhost",
        ] {
            assert!(check_api_address(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn what_is_accepted_is_what_the_client_sends_to() {
        for ok in [
            "http://127.0.0.1:8080",
            "http://[::1]:8080",
            "http://localhost/base/",
            "https://api.trunk.io",
            "https://API.Trunk.io./x",
        ] {
            let checked = check_api_address(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
            // Parsing the accepted string again gives the same string: nothing left for a
            // second parse to reinterpret.
            let again = check_api_address(&checked).unwrap_or_else(|e| panic!("{checked}: {e}"));
            assert_eq!(again, checked);
            assert_eq!(host_sent_to(&checked), host_sent_to(ok), "{ok}");
        }
    }

    #[test]
    fn otlp_endpoints_may_be_plain_http_anywhere() {
        assert_eq!(
            check_otlp_endpoint("http://collector:4318/").as_deref(),
            Ok("http://collector:4318")
        );
        assert!(check_otlp_endpoint("grpc://collector:4317").is_err());
        assert!(check_otlp_endpoint("http://").is_err());
        assert!(check_otlp_endpoint("not a url").is_err());
        // What the sending parser makes of it is what is sent to, and so what is judged.
        assert_eq!(
            check_otlp_endpoint("http:///collector:4318/").as_deref(),
            Ok("http://collector:4318")
        );
        assert!(is_cleartext_remote("http://collector:4318/v1/traces"));
        assert!(!is_cleartext_remote("http://127.0.0.1:4318/v1/traces"));
        assert!(!is_cleartext_remote("http://[::1]:4318"));
        assert!(!is_cleartext_remote("https://collector/v1/traces"));
    }

    /// The text reading gives what the sending parser's `set_path` gives, for every shape of
    /// base a checked endpoint has.
    #[test]
    fn a_path_appended_as_text_is_what_the_parser_makes_of_it() {
        for base in [
            "http://collector:4318",
            "http://collector:4318/",
            "http://collector:4318/base",
            "http://collector:4318/base//",
            "https://collector/base?tenant=a",
            "https://collector/?tenant=a#part",
            "https://collector#part",
            "http://[::1]:4318/x",
        ] {
            let checked = check_otlp_endpoint(base).unwrap_or_else(|e| panic!("{base}: {e}"));
            let mut url = reqwest::Url::parse(&checked).unwrap_or_else(|e| panic!("{e}"));
            url.set_path(&format!("{}/v1/traces", url.path().trim_end_matches('/')));
            assert_eq!(
                super::append_path(&checked, "/v1/traces"),
                url.as_str(),
                "{base}"
            );
        }
    }
}
