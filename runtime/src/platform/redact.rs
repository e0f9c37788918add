//! What may be a secret, taken out of everything printed: the one place the runtime's lines
//! (every `log!` goes through [`text`]), its error texts and the command line's output are
//! cleaned of credentials.
//!
//! - In every URL of a text: the user info (`https://…@host`; ssh's `git` stays), the query
//!   (`?…`) and the fragment; also the user of `user@host` where no scheme says it is a URL
//!   (scp's form, or a value that does not even parse, shown in the message refusing it).
//! - Header names that are not names: an `OTEL_EXPORTER_OTLP_HEADERS` entry written as
//!   `Name: value` (or with its value glued on) shows as `Name…`. Header values are never
//!   printed at all.

use std::borrow::Cow;

/// `text` with what may be a secret in each URL (or `user@host` form) it holds replaced by
/// `…`. Text without any comes back as it was.
///
/// ```
/// use trunk_ci_analytics_runtime::redact;
///
/// assert_eq!(
///     redact::text("`https://bot:pw@host/x?api_key=k` refused"),
///     "`https://…@host/x?…` refused"
/// );
/// assert_eq!(redact::text("bot:pw@host.example"), "…@host.example");
/// assert_eq!(redact::text("git@github.com:o/n"), "git@github.com:o/n");
/// ```
pub fn text(text: &str) -> Cow<'_, str> {
    if !text.contains('@') && !text.contains("://") {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(|c: char| !is_boundary(c)) {
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        let end = rest.find(is_boundary).unwrap_or(rest.len());
        token(&rest[..end], &mut out);
        rest = &rest[end..];
    }
    out.push_str(rest);
    if out == text {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(out)
    }
}

/// What ends a URL in a message: characters a URL cannot hold unencoded, and quotes.
fn is_boundary(c: char) -> bool {
    c.is_whitespace() || matches!(c, '`' | '"' | '<' | '>')
}

/// One word of a text, cleaned into `out`.
fn token(word: &str, out: &mut String) {
    let Some(colon) = word.find("://").filter(|&at| is_scheme_end(word, at)) else {
        // No scheme: `user@host` (scp's form, `user:password@host`) still names a user
        // that may be a token; ssh's `git` never is.
        match word.rsplit_once('@') {
            Some((user, host))
                if !user.is_empty()
                    && user != "git"
                    && !user.contains('/')
                    && host.contains(['.', ':']) =>
            {
                out.push_str("…@");
                out.push_str(host);
            }
            _ => out.push_str(word),
        }
        return;
    };
    let after = colon + 3;
    out.push_str(&word[..after]);
    let rest = &word[after..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rsplit_once('@') {
        // ssh's conventional user is never a secret; any other may be a token.
        Some((user, host)) if user != "git" => {
            out.push_str("…@");
            out.push_str(host);
        }
        _ => out.push_str(&rest[..authority_end]),
    }
    let tail = &rest[authority_end..];
    let Some(at) = tail.find(['?', '#']) else {
        out.push_str(tail);
        return;
    };
    out.push_str(&tail[..at]);
    out.push(char::from(tail.as_bytes()[at]));
    out.push('…');
    // A URL quoted in parentheses (as reqwest's errors do): what follows them stays.
    if word[..colon].contains('(') {
        if let Some(close) = tail[at..].rfind(')') {
            out.push_str(&tail[at + close..]);
        }
    }
}

/// Whether the `://` at `at` in `word` follows a scheme (a letter, then letters, digits,
/// `+`, `-` or `.`).
fn is_scheme_end(word: &str, at: usize) -> bool {
    let scheme = word[..at]
        .rsplit(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
        .next()
        .unwrap_or("");
    scheme.starts_with(|c: char| c.is_ascii_alphabetic())
}

/// Whether `name` is an HTTP header name (an RFC 9110 token).
pub fn is_header_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(is_token_byte)
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A header name as it may be shown: itself when it is one, else its leading name part and
/// `…` (a `Name: value` entry shows as `Name…`, never its value).
///
/// ```
/// use trunk_ci_analytics_runtime::redact;
///
/// assert_eq!(redact::header_name("x-api-key"), "x-api-key");
/// assert_eq!(redact::header_name("Authorization: Bearer t0k3n"), "Authorization…");
/// ```
pub fn header_name(name: &str) -> Cow<'_, str> {
    if is_header_name(name) {
        return Cow::Borrowed(name);
    }
    let lead = name.bytes().take_while(|&b| is_token_byte(b)).count();
    Cow::Owned(format!("{}…", &name[..lead]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_info_queries_and_fragments_go_wherever_the_url_is() {
        for (shown, expected) in [
            ("https://ci-bot:PASSWORD@host", "https://…@host"),
            (
                "error sending request for url (http://u:p@127.0.0.1:1/v1/traces): refused",
                "error sending request for url (http://…@127.0.0.1:1/v1/traces): refused",
            ),
            (
                "http://127.0.0.1:1/?api_key=K/v1/traces is unreachable",
                "http://127.0.0.1:1/?… is unreachable",
            ),
            (
                "for url (http://h/v1/traces?api_key=K): refused",
                "for url (http://h/v1/traces?…): refused",
            ),
            ("https://h/x#token=T", "https://h/x#…"),
            ("a `https://u@h:8/p` b", "a `https://…@h:8/p` b"),
            // A password with characters user info allows unencoded.
            ("https://u:p)w@h/x", "https://…@h/x"),
            ("user:pass@host.example", "…@host.example"),
            ("s3cr3t@example.com:o/n.git", "…@example.com:o/n.git"),
        ] {
            assert_eq!(text(shown), expected, "{shown}");
        }
    }

    #[test]
    fn text_without_credentials_is_left_alone() {
        for plain in [
            "http://127.0.0.1:8080/v1/traces is unreachable",
            "git@github.com:acme/app.git",
            "ssh://git@host:22/o/n is fine?",
            "the spool /home/me/.cache/x",
        ] {
            let cleaned = text(plain);
            assert!(matches!(cleaned, Cow::Borrowed(_)), "{plain}: {cleaned}");
        }
        // A token as the user name (`https://ghp_…@github.com/…`) goes.
        assert_eq!(
            text("https://ghp_x@github.com/o/n"),
            "https://…@github.com/o/n"
        );
    }

    #[test]
    fn malformed_header_entries_show_their_name_only() {
        assert_eq!(header_name("Authorization: Bearer x"), "Authorization…");
        assert_eq!(header_name("Bearer abc"), "Bearer…");
        assert_eq!(header_name(" x"), "…");
        assert!(is_header_name("X-Team"));
        assert!(!is_header_name("a b"));
    }
}
