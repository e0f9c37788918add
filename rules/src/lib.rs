//! Rules of the Trunk CI Analytics wire contract that are checked in two places: by the
//! `#[track_event]` macro at compile time, on the literals a user writes, and by the runtime
//! on the values it sends (and the loopback test server on the values it receives). One
//! definition, so the two can never disagree. No dependencies: the macro crate compiles it
//! for the host of every build script that uses the library.

#![deny(missing_docs)]

/// Most characters a `sequence.key` may have: the API takes keys shorter than 128.
///
/// ```
/// assert!("ci::build".chars().count() <= trunk_ci_analytics_rules::MAX_KEY_CHARS);
/// ```
pub const MAX_KEY_CHARS: usize = 127;

/// Whether `s` is snake_case as `sequence.platform` must be: lowercase ASCII words of
/// letters and digits, joined by single underscores, starting with a letter.
///
/// ```
/// use trunk_ci_analytics_rules::is_snake_case;
/// assert!(is_snake_case("github_actions"));
/// assert!(!is_snake_case("Jenkins") && !is_snake_case("a__b") && !is_snake_case("1ci"));
/// ```
pub fn is_snake_case(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.split('_').all(|word| {
            !word.is_empty()
                && word
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// FNV-1a, 64 bits: a hash that is the same on every platform and Rust release, for names
/// that outlive a process (spool partitions, breaker markers, shortened keys).
///
/// ```
/// use trunk_ci_analytics_rules::fnv1a64;
/// assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
/// assert_ne!(fnv1a64(b"a"), fnv1a64(b"b"));
/// ```
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_is_lowercase_words_joined_by_single_underscores() {
        for ok in ["local", "github_actions", "trunk_merge", "ci2", "a_1_b"] {
            assert!(is_snake_case(ok), "{ok}");
        }
        for bad in [
            "",
            "Jenkins",
            "gitHub",
            "_x",
            "x_",
            "a__b",
            "1ci",
            "with-dash",
            "with space",
            "é",
        ] {
            assert!(!is_snake_case(bad), "{bad}");
        }
    }

    #[test]
    fn fnv_matches_the_reference_vectors() {
        // From the FNV reference test suite.
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }
}
