//! How `job start` reaches the later steps of a job: each step is a new process, so the job's
//! context goes into the environment the CI gives every later step — `$GITHUB_ENV` on GitHub
//! Actions — or, elsewhere, out as `export` lines for the shell to `eval`.

use std::fmt::Write as _;
use std::io::Write as _;

/// The handed-over job event (`HandOver`'s text), for `job finish`.
pub(crate) const HANDED_OVER: &str = "TRUNK_JOB";

/// The variables that make a process's events children of the job (pinned names).
pub(crate) const CONTEXT: [&str; 4] = [
    "TRUNK_CHAIN_ID",
    "TRUNK_PARENT_EVENT_ID",
    "TRUNK_PARENT_SEQUENCE_KEY",
    "TRACEPARENT",
];

/// Whether later steps read `$GITHUB_ENV` (GitHub Actions).
pub(crate) fn on_github() -> bool {
    std::env::var_os("GITHUB_ENV").is_some_and(|p| !p.is_empty())
}

/// Variables for the later steps of the job.
#[derive(Debug, Default)]
pub(crate) struct Exports {
    vars: Vec<(&'static str, String)>,
}

impl Exports {
    pub(crate) fn new() -> Exports {
        Exports::default()
    }

    pub(crate) fn set(&mut self, name: &'static str, value: String) {
        self.vars.push((name, value));
    }

    /// Appends the variables to `$GITHUB_ENV`, or prints them as `export` lines on stdout.
    pub(crate) fn publish(&self) -> Result<(), String> {
        match std::env::var_os("GITHUB_ENV").filter(|p| !p.is_empty()) {
            Some(path) => {
                let mut file = std::fs::OpenOptions::new()
                    .append(true)
                    .open(&path)
                    .map_err(|e| format!("cannot append to $GITHUB_ENV: {e}"))?;
                // One write: steps never see half of it.
                file.write_all(self.github_env().as_bytes())
                    .map_err(|e| format!("cannot append to $GITHUB_ENV: {e}"))
            }
            None => {
                print!("{}", self.shell());
                Ok(())
            }
        }
    }

    /// `NAME=value` lines; a value with a line break in GitHub's delimited form.
    pub(crate) fn github_env(&self) -> String {
        let mut out = String::new();
        for (name, value) in &self.vars {
            if value.contains(['\n', '\r']) {
                let delimiter = format!("TRUNK_EOF_{:016x}", rand_word());
                let _ = write!(out, "{name}<<{delimiter}\n{value}\n{delimiter}\n");
            } else {
                let _ = writeln!(out, "{name}={value}");
            }
        }
        out
    }

    /// `export NAME='value'` lines, quoted for any POSIX shell.
    pub(crate) fn shell(&self) -> String {
        let mut out = String::new();
        for (name, value) in &self.vars {
            let _ = writeln!(out, "export {name}='{}'", value.replace('\'', r"'\''"));
        }
        out
    }
}

/// A delimiter no value can contain by chance (GitHub's advice for multiline values).
fn rand_word() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exports(vars: &[(&'static str, &str)]) -> Exports {
        let mut e = Exports::new();
        for (k, v) in vars {
            e.set(k, (*v).to_owned());
        }
        e
    }

    #[test]
    fn shell_lines_survive_quotes_and_spaces() {
        let e = exports(&[("A", "it's a job"), ("B", "")]);
        assert_eq!(e.shell(), "export A='it'\\''s a job'\nexport B=''\n");
    }

    #[test]
    fn github_env_lines_are_name_value_and_multiline_values_are_delimited() {
        let e = exports(&[("A", "{\"k\":1}"), ("B", "two\nlines")]);
        let text = e.github_env();
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("A={\"k\":1}"));
        let opening = lines.next().unwrap_or_default();
        let delimiter = opening.strip_prefix("B<<").unwrap_or_default();
        assert!(delimiter.starts_with("TRUNK_EOF_"), "{opening}");
        assert_eq!(lines.next(), Some("two"));
        assert_eq!(lines.next(), Some("lines"));
        assert_eq!(lines.next(), Some(delimiter));
        assert_eq!(lines.next(), None);
    }
}
