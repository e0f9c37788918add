//! libtest's summary line, `test result: ok. 5 passed; 0 failed; 1 ignored; 0 measured; 0
//! filtered out; finished in 0.02s`, read from a test binary's stdout as it passes through.

use crate::api::cargo::message::TestCounts;

/// Longest line kept while looking for a summary; a summary line is far shorter.
const MAX_LINE: usize = 1024;

/// Finds summary lines in a byte stream cut anywhere, adding up their counts.
#[derive(Debug, Default)]
pub(crate) struct Scanner {
    line: Vec<u8>,
    /// The current line outgrew [`MAX_LINE`]: not a summary, skipped to its end.
    skipping: bool,
    counts: Option<TestCounts>,
}

impl Scanner {
    pub(crate) fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if b == b'\n' {
                if !self.skipping {
                    if let Some(c) = summary(&String::from_utf8_lossy(&self.line)) {
                        self.counts.get_or_insert_with(TestCounts::default).add(c);
                    }
                }
                self.line.clear();
                self.skipping = false;
            } else if !self.skipping {
                if self.line.len() < MAX_LINE {
                    self.line.push(b);
                } else {
                    self.skipping = true;
                    self.line.clear();
                }
            }
        }
    }

    /// The counts of every summary line seen (a binary and rustdoc may print several).
    pub(crate) fn counts(&self) -> Option<TestCounts> {
        self.counts
    }
}

/// The counts of one summary line, colours (`--color always`) and all.
pub(crate) fn summary(line: &str) -> Option<TestCounts> {
    let plain = strip_ansi(line);
    let rest = plain.trim().strip_prefix("test result: ")?;
    let (_, counts) = rest.split_once(". ")?;
    let mut found = TestCounts::default();
    let mut any = false;
    for part in counts.split(';') {
        let mut words = part.split_whitespace();
        let (Some(n), Some(what)) = (words.next(), words.next()) else {
            continue;
        };
        let Ok(n) = n.parse::<u64>() else { continue };
        let slot = match what {
            "passed" => &mut found.passed,
            "failed" => &mut found.failed,
            "ignored" => &mut found.ignored,
            _ => continue,
        };
        *slot = n;
        any = true;
    }
    any.then_some(found)
}

/// `s` without ANSI escape sequences (`ESC [ … letter`).
fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.next() == Some('[') {
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(passed: u64, failed: u64, ignored: u64) -> TestCounts {
        TestCounts {
            passed,
            failed,
            ignored,
        }
    }

    #[test]
    fn summaries_as_libtest_prints_them() {
        assert_eq!(
            summary(
                "test result: ok. 5 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.02s"
            ),
            Some(counts(5, 0, 1))
        );
        assert_eq!(
            summary(
                "test result: FAILED. 3 passed; 2 failed; 0 ignored; 0 measured; 4 filtered out; finished in 1.10s"
            ),
            Some(counts(3, 2, 0))
        );
        assert_eq!(
            summary(
                "test result: \u{1b}[32mok\u{1b}[0m. 1 passed; 0 failed; 7 ignored; 0 measured; 0 filtered out"
            ),
            Some(counts(1, 0, 7))
        );
        assert_eq!(summary("test result of my own making"), None);
        assert_eq!(summary("running 3 tests"), None);
        assert_eq!(summary("test result: ok. lots passed"), None);
    }

    #[test]
    fn the_scanner_adds_summaries_up_across_any_cut() {
        let text = "running 2 tests\ntest a ... ok\n\ntest result: ok. 2 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s\n\nrunning 1 test\ntest result: FAILED. 0 passed; 1 failed; 3 ignored; 0 measured; 0 filtered out; finished in 0.00s\n";
        for cut in [1, 3, 7, 64, text.len()] {
            let mut s = Scanner::default();
            for chunk in text.as_bytes().chunks(cut) {
                s.feed(chunk);
            }
            assert_eq!(s.counts(), Some(counts(2, 1, 3)), "chunks of {cut}");
        }
        let mut s = Scanner::default();
        s.feed(&vec![b'x'; 10 * MAX_LINE]);
        s.feed(b"test result: ok. 9 passed; 0 failed; 0 ignored\n");
        assert_eq!(s.counts(), None, "the end of a long line is no summary");
        s.feed(b"test result: ok. 9 passed; 0 failed; 0 ignored\n");
        assert_eq!(s.counts(), Some(counts(9, 0, 0)));
    }
}
