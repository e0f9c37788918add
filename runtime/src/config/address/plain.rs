//! The plain forms of an http(s) URL, read with std alone, for a build without the `upload`
//! feature (which has no URL parser: `url` brings Unicode tables for IDNA that cost more to
//! compile than the rest of the library).
//!
//! Read: `scheme://host[:port][/path]` after the WHATWG URL standard's preprocessing (leading
//! and trailing C0 controls and spaces removed, tabs and newlines removed anywhere), where
//! host is an ASCII name (letters, digits, `.`, `-`, `_`), a dotted-decimal IPv4 address, or
//! a bracketed IPv6 address, and path holds only characters the standard leaves as they are.
//! The result is, for http and https, the text the standard (and so the `url` crate)
//! serialises for the same input (another scheme is only read to be refused by name): scheme and host in lowercase, the scheme's default port left out, IPv6 compressed,
//! an empty path as `/`. Whatever else the standard would read differently — user info,
//! percent-encoding, `.` segments, backslashes, numeric IPv4 shorthands, Unicode or
//! punycode hosts — is refused here rather than read another way.

use std::net::Ipv6Addr;

use super::Parsed;

/// Reads `text`, or says why it is not one of the plain forms.
pub(crate) fn parse(text: &str) -> Result<Parsed, String> {
    let text: String = text
        .trim_matches(|c: char| c <= ' ')
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect();
    if text.contains('\\') {
        return Err("a backslash is not read without the `upload` feature".into());
    }
    let (scheme, rest) = text.split_once("://").ok_or("expected scheme://host")?;
    if !scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        || !scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    {
        return Err(format!("`{scheme}` is not a scheme"));
    }
    let scheme = scheme.to_ascii_lowercase();
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    if authority.contains('@') {
        return Err("user info is not read without the `upload` feature".into());
    }
    let (host, port) = host_and_port(authority)?;
    let query_or_fragment = tail.contains(['?', '#']);
    let path = if tail.is_empty() { "/" } else { tail };
    if !query_or_fragment {
        check_path(path)?;
    }
    let port = match (port, scheme.as_str()) {
        (Some(80), "http") | (Some(443), "https") | (None, _) => String::new(),
        (Some(port), _) => format!(":{port}"),
    };
    Ok(Parsed {
        text: format!("{scheme}://{host}{port}{path}"),
        scheme,
        host: Some(host),
        user_info: false,
        query_or_fragment,
    })
}

/// The host as the standard serialises it, and the port.
fn host_and_port(authority: &str) -> Result<(String, Option<u16>), String> {
    let (host, port) = match authority.strip_prefix('[') {
        Some(inner) => {
            let (literal, after) = inner.split_once(']').ok_or("an unclosed `[`")?;
            let ip: Ipv6Addr = literal
                .parse()
                .map_err(|_| format!("`{literal}` is not an IPv6 address"))?;
            let port = match after {
                "" => None,
                _ => Some(after.strip_prefix(':').ok_or("text after `]`")?),
            };
            (format!("[{}]", ipv6(&ip)), port)
        }
        None => {
            let (host, port) = match authority.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            };
            (name(host)?, port)
        }
    };
    let port = match port {
        None | Some("") => None,
        Some(digits) if digits.bytes().all(|b| b.is_ascii_digit()) => {
            Some(digits.parse().map_err(|_| format!("port `{digits}`"))?)
        }
        Some(other) => return Err(format!("port `{other}`")),
    };
    Ok((host, port))
}

/// An ASCII host name in lowercase, or a dotted-decimal IPv4 address as it is.
fn name(host: &str) -> Result<String, String> {
    let host = host.to_ascii_lowercase();
    if host.is_empty() {
        return Err("no host".into());
    }
    if !host
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
    {
        return Err(format!("host `{host}` is not a plain ASCII name"));
    }
    let mut labels: Vec<&str> = host.split('.').collect();
    if labels.len() > 1 && labels.last() == Some(&"") {
        labels.pop();
    }
    if labels.iter().any(|l| l.starts_with("xn--")) {
        return Err(format!("punycode host `{host}`"));
    }
    // The standard reads a host whose last label is a number as an IPv4 address.
    let last = labels.last().copied().unwrap_or_default();
    let decimal = !last.is_empty() && last.bytes().all(|b| b.is_ascii_digit());
    let hex = last
        .strip_prefix("0x")
        .is_some_and(|h| h.bytes().all(|b| b.is_ascii_hexdigit()));
    let numeric = decimal || hex;
    if numeric && !is_dotted_quad(&host) {
        return Err(format!(
            "`{host}` is not a dotted-decimal IPv4 address (a.b.c.d)"
        ));
    }
    Ok(host)
}

/// Four decimal numbers 0–255 without leading zeros: the form the standard writes back.
fn is_dotted_quad(host: &str) -> bool {
    let parts: Vec<&str> = host.split('.').collect();
    parts.len() == 4
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.len() <= 3
                && p.bytes().all(|b| b.is_ascii_digit())
                && (p.len() == 1 || !p.starts_with('0'))
                && p.parse::<u8>().is_ok()
        })
}

/// The standard's IPv6 serialisation: eight lowercase hex pieces, the first longest run of
/// two or more zero pieces written `::`.
fn ipv6(ip: &Ipv6Addr) -> String {
    let pieces = ip.segments();
    let (mut best, mut run) = ((0, 0), (0, 0));
    for (i, &p) in pieces.iter().enumerate() {
        if p == 0 {
            run = if run.1 == 0 {
                (i, 1)
            } else {
                (run.0, run.1 + 1)
            };
            if run.1 > best.1 {
                best = run;
            }
        } else {
            run = (0, 0);
        }
    }
    let hex = |range: &[u16]| {
        range
            .iter()
            .map(|p| format!("{p:x}"))
            .collect::<Vec<_>>()
            .join(":")
    };
    if best.1 < 2 {
        return hex(&pieces);
    }
    let (start, end) = (best.0, best.0 + best.1);
    format!("{}::{}", hex(&pieces[..start]), hex(&pieces[end..]))
}

/// A path the standard leaves as it is: no percent-encoding to add or decode, no `.` or
/// `..` segment to resolve.
fn check_path(path: &str) -> Result<(), String> {
    let plain = path.bytes().all(|b| {
        b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'/' | b'-'
                    | b'.'
                    | b'_'
                    | b'~'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
                    | b':'
                    | b'@'
            )
    });
    if !plain || path.split('/').any(|s| s == "." || s == "..") {
        return Err(format!(
            "path `{path}` is not read without the `upload` feature (plain characters only)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(input: &str) -> Result<String, String> {
        parse(input).map(|p| p.text)
    }

    /// Inputs of every kind: plain forms, and forms the standard reads in ways of its own.
    const CORPUS: &[&str] = &[
        "https://api.trunk.io",
        "https://api.trunk.io/",
        " https://api.trunk.io/ \n",
        "HTTPS://API.Trunk.IO:443/",
        "https://API.Trunk.io./x",
        "http://127.0.0.1:8080",
        "http://12\t7.0.0.1:8080",
        "http://127.0.0.1:80/base/",
        "http://127.0.0.1:0080",
        "http://127.0.0.1:/x",
        "http://localhost/base//",
        "HTTP://LOCALHOST:1",
        "http://collector:4318/v1/traces",
        "http://[::1]:8080/",
        "http://[0:0:0:0:0:0:0:1]",
        "http://[2001:DB8:0:0:1:0:0:1]",
        "http://[2001:db8:0:1:1:1:1:1]",
        "http://[::ffff:192.0.2.2]",
        "http://[1:0:0:2:0:0:0:3]",
        "http://[::1",
        "http://[::1]x",
        "http://2130706433/",
        "http://0x7f.1/",
        "http://0177.0.0.1:9",
        "http://127.1",
        "http://127.0.0.1.",
        "http://256.0.0.1",
        "http://foo.123",
        "http://foo.0x1f",
        "http://user@127.0.0.1",
        r"http://192.0.2.2:18787\@127.0.0.1",
        "http://evil.com#@localhost",
        "http://evil.com?@localhost",
        "http://127.0.0.1 .example.com",
        "http://127.0.0.1\u{a0}@192.0.2.2",
        "http://xn--nxasmq6b.example",
        "http://bücher.example",
        "http://host/a/./b",
        "http://host/a/../b",
        "http://host/a%20b",
        "http://host/a b",
        "http://host/{x}",
        "http://host:65536",
        "http://host:8x",
        "http:///collector:4318/",
        "http:host",
        "ftp://x",
        "grpc://collector:4317",
        "api.trunk.io",
        "https://",
        "not a url",
        "http://a_b.example/~x;y=1,z@w:v$(!)*+'&",
    ];

    #[test]
    fn plain_forms_read_as_the_standard_writes_them() {
        for (input, expected) in [
            ("https://api.trunk.io", "https://api.trunk.io/"),
            (" https://api.trunk.io/ \n", "https://api.trunk.io/"),
            ("HTTPS://API.Trunk.IO:443/", "https://api.trunk.io/"),
            ("http://12\t7.0.0.1:8080", "http://127.0.0.1:8080/"),
            ("http://127.0.0.1:0080", "http://127.0.0.1/"),
            ("http://[0:0:0:0:0:0:0:1]", "http://[::1]/"),
            ("http://[1:0:0:2:0:0:0:3]", "http://[1:0:0:2::3]/"),
            (
                "http://[2001:db8:0:1:1:1:1:1]",
                "http://[2001:db8:0:1:1:1:1:1]/",
            ),
            ("http://localhost/base//", "http://localhost/base//"),
        ] {
            assert_eq!(text(input).as_deref(), Ok(expected), "{input:?}");
        }
    }

    #[test]
    fn other_forms_are_refused_not_guessed() {
        for input in [
            "http://127.1",
            "http://0x7f.1/",
            "http://user@127.0.0.1",
            r"http://192.0.2.2:18787\@127.0.0.1",
            "http://bücher.example",
            "http://xn--nxasmq6b.example",
            "http://host/a/../b",
            "http://host/a%20b",
            "http:host",
            "http://[::1",
            "http://host:65536",
        ] {
            assert!(parse(input).is_err(), "{input:?} accepted");
        }
    }

    /// Whatever the plain reader accepts, the sending parser reads the same: the same
    /// normalised text (so both builds name the same spool partitions), scheme and host.
    #[cfg(feature = "upload")]
    #[test]
    fn the_sending_parser_agrees_with_every_plain_form() {
        let mut accepted = 0;
        for input in CORPUS {
            let Ok(plain) = parse(input) else { continue };
            accepted += 1;
            let url = reqwest::Url::parse(input)
                .unwrap_or_else(|e| panic!("{input:?}: plain accepts, url refuses: {e}"));
            // Another scheme is refused by name whatever its text.
            if !plain.query_or_fragment && matches!(url.scheme(), "http" | "https") {
                assert_eq!(plain.text, url.as_str(), "{input:?}");
            }
            assert_eq!(plain.scheme, url.scheme(), "{input:?}");
            assert_eq!(plain.host.as_deref(), url.host_str(), "{input:?}");
            assert!(url.username().is_empty() && url.password().is_none());
        }
        assert!(
            accepted >= 20,
            "the corpus exercises the plain forms: {accepted}"
        );
    }

    /// The corpus is used in both builds (the plain reader must never panic on it).
    #[test]
    fn nothing_in_the_corpus_panics() {
        for input in CORPUS {
            let _ = parse(input);
        }
    }
}
