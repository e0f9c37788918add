//! Just enough TOML to read cargo's configuration files: tables, dotted and quoted keys,
//! strings, arrays and inline tables, read into flat `(key path, value)` pairs. Values that
//! are not strings or arrays of strings are kept as [`Value::Other`]; text that is not TOML
//! this reader knows is an error, so the caller can tell "not set" from "could not read".

/// A value, as far as the keys we look for can have them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Value {
    Str(String),
    List(Vec<String>),
    /// Numbers, booleans, dates, arrays of anything else.
    Other,
}

/// Every key of `text` with its value, in order; tables flattened into the key path.
pub(crate) fn parse(text: &str) -> Result<Vec<(Vec<String>, Value)>, String> {
    let mut p = Parser {
        s: text.as_bytes(),
        at: 0,
        out: Vec::new(),
    };
    p.document()?;
    Ok(p.out)
}

struct Parser<'a> {
    s: &'a [u8],
    at: usize,
    out: Vec<(Vec<String>, Value)>,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.at).copied()
    }

    fn starts(&self, what: &str) -> bool {
        self.s[self.at..].starts_with(what.as_bytes())
    }

    fn err<T>(&self, what: &str) -> Result<T, String> {
        let line = self.s[..self.at.min(self.s.len())]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        Err(format!("line {line}: {what}"))
    }

    /// Spaces and tabs.
    fn blank(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.at += 1;
        }
    }

    /// Spaces, newlines and comments.
    fn space(&mut self) {
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\r' | b'\n') => self.at += 1,
                Some(b'#') => self.comment(),
                _ => return,
            }
        }
    }

    fn comment(&mut self) {
        while !matches!(self.peek(), None | Some(b'\n')) {
            self.at += 1;
        }
    }

    /// The rest of a line after a statement: blanks and a comment only.
    fn end_of_line(&mut self) -> Result<(), String> {
        self.blank();
        if self.peek() == Some(b'#') {
            self.comment();
        }
        match self.peek() {
            None | Some(b'\n') => Ok(()),
            Some(b'\r') if self.s.get(self.at + 1) == Some(&b'\n') => Ok(()),
            _ => self.err("unexpected text after a value"),
        }
    }

    fn document(&mut self) -> Result<(), String> {
        let mut table: Vec<String> = Vec::new();
        loop {
            self.space();
            match self.peek() {
                None => return Ok(()),
                Some(b'[') => {
                    let array = self.starts("[[");
                    self.at += if array { 2 } else { 1 };
                    self.blank();
                    table = self.key()?;
                    self.blank();
                    let close = if array { "]]" } else { "]" };
                    if !self.starts(close) {
                        return self.err("unclosed table header");
                    }
                    self.at += close.len();
                    self.end_of_line()?;
                }
                Some(_) => {
                    self.pair(&table)?;
                    self.end_of_line()?;
                }
            }
        }
    }

    /// `key = value` under `prefix`.
    fn pair(&mut self, prefix: &[String]) -> Result<(), String> {
        let mut key = prefix.to_vec();
        key.extend(self.key()?);
        self.blank();
        if self.peek() != Some(b'=') {
            return self.err("expected `=`");
        }
        self.at += 1;
        self.blank();
        self.value(key)
    }

    /// A dotted key: bare and quoted parts.
    fn key(&mut self) -> Result<Vec<String>, String> {
        let mut parts = Vec::new();
        loop {
            self.blank();
            let part = match self.peek() {
                Some(b'"') if !self.starts("\"\"\"") => self.basic_string()?,
                Some(b'\'') if !self.starts("'''") => self.literal_string()?,
                _ => {
                    let start = self.at;
                    while matches!(self.peek(), Some(b) if b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
                    {
                        self.at += 1;
                    }
                    if start == self.at {
                        return self.err("expected a key");
                    }
                    String::from_utf8_lossy(&self.s[start..self.at]).into_owned()
                }
            };
            parts.push(part);
            self.blank();
            if self.peek() == Some(b'.') {
                self.at += 1;
            } else {
                return Ok(parts);
            }
        }
    }

    /// A value for `key`: pushed to the output (an inline table's keys one by one).
    fn value(&mut self, key: Vec<String>) -> Result<(), String> {
        match self.peek() {
            Some(b'"' | b'\'') => {
                let s = self.string()?;
                self.out.push((key, Value::Str(s)));
            }
            Some(b'[') => {
                let v = self.array()?;
                self.out.push((key, v));
            }
            Some(b'{') => {
                self.at += 1;
                loop {
                    self.blank();
                    if self.peek() == Some(b'}') {
                        self.at += 1;
                        return Ok(());
                    }
                    self.pair(&key)?;
                    self.blank();
                    match self.peek() {
                        Some(b',') => self.at += 1,
                        Some(b'}') => {}
                        _ => return self.err("expected `,` or `}` in an inline table"),
                    }
                }
            }
            _ => {
                // A number, boolean or date: up to the end of the value.
                let start = self.at;
                while matches!(self.peek(), Some(b) if !matches!(b, b',' | b']' | b'}' | b'#' | b'\n' | b'\r'))
                {
                    self.at += 1;
                }
                if self.s[start..self.at].iter().all(u8::is_ascii_whitespace) {
                    return self.err("expected a value");
                }
                self.out.push((key, Value::Other));
            }
        }
        Ok(())
    }

    /// An array: of strings, or [`Value::Other`].
    fn array(&mut self) -> Result<Value, String> {
        self.at += 1;
        let mut strings = Vec::new();
        let mut other = false;
        loop {
            self.space();
            match self.peek() {
                Some(b']') => {
                    self.at += 1;
                    return Ok(if other {
                        Value::Other
                    } else {
                        Value::List(strings)
                    });
                }
                Some(b'"' | b'\'') => strings.push(self.string()?),
                Some(b'[') => {
                    self.array()?;
                    other = true;
                }
                Some(b'{') => {
                    // Its keys are not ours: parsed to be skipped.
                    let before = self.out.len();
                    self.value(Vec::new())?;
                    self.out.truncate(before);
                    other = true;
                }
                None => return self.err("unclosed array"),
                _ => {
                    let before = self.out.len();
                    self.value(Vec::new())?;
                    self.out.truncate(before);
                    other = true;
                }
            }
            self.space();
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b']') => {}
                _ => return self.err("expected `,` or `]` in an array"),
            }
        }
    }

    fn string(&mut self) -> Result<String, String> {
        if self.starts("\"\"\"") {
            self.multi_line(b'"')
        } else if self.starts("'''") {
            self.multi_line(b'\'')
        } else if self.peek() == Some(b'"') {
            self.basic_string()
        } else {
            self.literal_string()
        }
    }

    fn literal_string(&mut self) -> Result<String, String> {
        self.at += 1;
        let start = self.at;
        while !matches!(self.peek(), None | Some(b'\'' | b'\n')) {
            self.at += 1;
        }
        if self.peek() != Some(b'\'') {
            return self.err("unclosed string");
        }
        let s = String::from_utf8_lossy(&self.s[start..self.at]).into_owned();
        self.at += 1;
        Ok(s)
    }

    fn basic_string(&mut self) -> Result<String, String> {
        self.at += 1;
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None | Some(b'\n') => return self.err("unclosed string"),
                Some(b'"') => {
                    self.at += 1;
                    return Ok(String::from_utf8_lossy(&out).into_owned());
                }
                Some(b'\\') => self.escape(&mut out)?,
                Some(b) => {
                    out.push(b);
                    self.at += 1;
                }
            }
        }
    }

    fn escape(&mut self, out: &mut Vec<u8>) -> Result<(), String> {
        self.at += 1;
        let c = self.peek();
        self.at += 1;
        let ch = match c {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'n') => '\n',
            Some(b't') => '\t',
            Some(b'r') => '\r',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'e') => '\u{1b}',
            Some(u @ (b'u' | b'U')) => {
                let len = if u == b'u' { 4 } else { 8 };
                let hex = self.s.get(self.at..self.at + len).unwrap_or_default();
                self.at += len;
                let code = std::str::from_utf8(hex)
                    .ok()
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .and_then(char::from_u32);
                match code {
                    Some(ch) => ch,
                    None => return self.err("bad unicode escape"),
                }
            }
            _ => return self.err("bad escape"),
        };
        let mut buf = [0; 4];
        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
        Ok(())
    }

    /// `"""…"""` or `'''…'''`; a newline right after the opening is dropped.
    fn multi_line(&mut self, quote: u8) -> Result<String, String> {
        self.at += 3;
        if self.starts("\r\n") {
            self.at += 2;
        } else if self.peek() == Some(b'\n') {
            self.at += 1;
        }
        let close = [quote; 3];
        let mut out = Vec::new();
        loop {
            if self.s[self.at..].starts_with(&close) {
                self.at += 3;
                // Up to two more quotes belong to the string.
                for _ in 0..2 {
                    if self.peek() == Some(quote) {
                        out.push(quote);
                        self.at += 1;
                    }
                }
                return Ok(String::from_utf8_lossy(&out).into_owned());
            }
            match self.peek() {
                None => return self.err("unclosed string"),
                Some(b'\\') if quote == b'"' => {
                    // A backslash at a line's end joins it with the next.
                    let rest = &self.s[self.at + 1..];
                    let blank = rest
                        .iter()
                        .take_while(|b| matches!(b, b' ' | b'\t'))
                        .count();
                    if matches!(rest.get(blank), Some(b'\n' | b'\r')) {
                        self.at += 1;
                        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r' | b'\n')) {
                            self.at += 1;
                        }
                    } else {
                        self.escape(&mut out)?;
                    }
                }
                Some(b) => {
                    out.push(b);
                    self.at += 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn key(path: &str) -> Vec<String> {
        path.split('/').map(str::to_owned).collect()
    }

    #[test]
    fn cargo_configs_as_people_write_them() {
        let text = r#"
# the cache
[build]
rustc-wrapper = "sccache"   # comment
target = ["x86_64-unknown-linux-gnu", 'wasm32-unknown-unknown']
jobs = 4

[target.aarch64-unknown-linux-gnu]
runner = "qemu-aarch64 -L /usr/aarch64-linux-gnu"
linker = 'aarch64-linux-gnu-gcc'

[target.'cfg(all(target_arch = "arm", target_os = "none"))']
runner = [
    "probe-rs", # a tool
    "run",
    "--chip", "STM32F411CEUx",
]

[alias]
xtask = "run --package xtask --"
b = ["build", "--release"]

[env]
LONG = """
[target.not-a-table]
runner = "no"
"""
NESTED = { value = "x", relative = true }

[[profile.dev.package]]
opt-level = 3

target.x86_64-unknown-linux-musl.runner = "musl-runner"
build.rustdoc = "C:\\tools\\rustdoc.exe"
"#;
        let got = parse(text).unwrap();
        let find = |path: &str| {
            got.iter()
                .find(|(k, _)| *k == key(path))
                .map(|(_, v)| v.clone())
        };
        assert_eq!(
            find("build/rustc-wrapper"),
            Some(Value::Str("sccache".into()))
        );
        assert_eq!(
            find("build/target"),
            Some(Value::List(vec![
                "x86_64-unknown-linux-gnu".into(),
                "wasm32-unknown-unknown".into()
            ]))
        );
        assert_eq!(find("build/jobs"), Some(Value::Other));
        assert_eq!(
            find("target/aarch64-unknown-linux-gnu/runner"),
            Some(Value::Str("qemu-aarch64 -L /usr/aarch64-linux-gnu".into()))
        );
        assert_eq!(
            find("target/cfg(all(target_arch = \"arm\", target_os = \"none\"))/runner"),
            Some(Value::List(vec![
                "probe-rs".into(),
                "run".into(),
                "--chip".into(),
                "STM32F411CEUx".into()
            ]))
        );
        assert_eq!(find("target/not-a-table/runner"), None, "inside a string");
        assert_eq!(find("env/NESTED/value"), Some(Value::Str("x".into())));
        // Keys after an array-of-tables header belong to it.
        assert_eq!(
            find("profile/dev/package/target/x86_64-unknown-linux-musl/runner"),
            Some(Value::Str("musl-runner".into()))
        );
        assert_eq!(
            find("profile/dev/package/build/rustdoc"),
            Some(Value::Str("C:\\tools\\rustdoc.exe".into()))
        );
    }

    #[test]
    fn what_it_cannot_read_is_an_error_not_a_guess() {
        for bad in [
            "[build\nrustc-wrapper = \"x\"",
            "build.rustc-wrapper = \"unclosed",
            "build.rustc-wrapper",
            "build.rustc-wrapper = \"x\" trailing",
            "runner = [\"a\" \"b\"]",
            "x = \"\\q\"",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse("").unwrap(), vec![]);
    }
}
