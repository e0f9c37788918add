//! The settings recording takes the place of, found as cargo finds them, so the helpers can
//! run what the user had there: the rustc wrapper, rustdoc, the target triples and their
//! runners. Cargo's order: the command's `--config` values, then the environment, then the
//! configuration files from the working directory up, then `$CARGO_HOME/config.toml`.
//!
//! What cannot be read for sure (a file this reader does not understand that mentions the
//! key, a runner chosen by a `cfg(…)` expression) is [`Setting::Unknown`]: the recording then
//! leaves that place to cargo and records nothing through it, rather than guess and run the
//! wrong program.

mod toml;

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use toml::Value;

/// A program (and its arguments) the user has in one of the places we take.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Setting {
    /// Nothing set: cargo's default.
    Unset,
    /// Program and arguments.
    Set(Vec<String>),
    /// Set somewhere we cannot read for sure; why.
    Unknown(String),
}

/// One source of configuration: a file, or a `--config` value.
#[derive(Debug)]
struct Layer {
    origin: String,
    /// What relative program paths are relative to.
    base: PathBuf,
    text: String,
    entries: Result<Vec<(Vec<String>, Value)>, String>,
}

impl Layer {
    fn new(origin: String, base: PathBuf, text: String) -> Layer {
        let entries = toml::parse(&text);
        Layer {
            origin,
            base,
            text,
            entries,
        }
    }

    /// The value of `key` here: `None` if not set; an error if the layer could not be read
    /// and mentions the key's name.
    fn get(&self, key: &[&str]) -> Option<Result<&Value, String>> {
        match &self.entries {
            Ok(entries) => entries
                .iter()
                .rev()
                .find(|(k, _)| k.iter().map(String::as_str).eq(key.iter().copied()))
                .map(|(_, v)| Ok(v)),
            Err(why) => {
                let name = key.last().copied().unwrap_or_default();
                self.text
                    .contains(name)
                    .then(|| Err(format!("{} cannot be read ({why})", self.origin)))
            }
        }
    }
}

/// The configuration a cargo command sees.
pub(crate) struct Sources<'e> {
    /// `--config` values, then files, nearest first.
    layers: Vec<Layer>,
    /// Where the `--config` layers end.
    cli: usize,
    cwd: PathBuf,
    env: &'e dyn Fn(&str) -> Option<OsString>,
}

impl std::fmt::Debug for Sources<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sources")
            .field("layers", &self.layers.len())
            .finish_non_exhaustive()
    }
}

impl<'e> Sources<'e> {
    /// Reads what a cargo command run in `cwd` with `--config` values `configs` would read;
    /// `env` looks a variable up in the command's environment.
    pub(crate) fn load(
        cwd: &Path,
        configs: &[String],
        env: &'e dyn Fn(&str) -> Option<OsString>,
    ) -> Sources<'e> {
        let mut layers = Vec::new();
        for value in configs {
            let file = cwd.join(value);
            let layer = if !value.contains('=') && file.is_file() {
                let text = std::fs::read_to_string(&file).unwrap_or_default();
                Layer::new(file.display().to_string(), cwd.to_owned(), text)
            } else {
                Layer::new(format!("--config {value}"), cwd.to_owned(), value.clone())
            };
            layers.push(layer);
        }
        let cli = layers.len();
        let home = env("CARGO_HOME")
            .map(PathBuf::from)
            .or_else(|| env("HOME").map(|h| PathBuf::from(h).join(".cargo")));
        let mut dirs: Vec<PathBuf> = cwd.ancestors().map(|d| d.join(".cargo")).collect();
        if let Some(home) = home.filter(|h| !dirs.contains(h)) {
            dirs.push(home);
        }
        for dir in dirs {
            // Cargo reads the legacy name when both exist.
            let Some(file) = ["config", "config.toml"]
                .iter()
                .map(|n| dir.join(n))
                .find(|f| f.is_file())
            else {
                continue;
            };
            let Ok(text) = std::fs::read_to_string(&file) else {
                continue;
            };
            let base = dir.parent().unwrap_or(&dir).to_owned();
            layers.push(Layer::new(file.display().to_string(), base, text));
        }
        Sources {
            layers,
            cli,
            cwd: cwd.to_owned(),
            env,
        }
    }

    /// The first layer of `range` that sets `key`, as a program and arguments.
    fn program(&self, range: std::ops::Range<usize>, key: &[&str], split: bool) -> Option<Setting> {
        self.layers[range].iter().find_map(|layer| {
            let value = match layer.get(key)? {
                Ok(v) => v,
                Err(why) => return Some(Setting::Unknown(why)),
            };
            let words: Vec<String> = match value {
                Value::Str(s) if split => s.split_whitespace().map(str::to_owned).collect(),
                Value::Str(s) => vec![s.clone()],
                Value::List(list) if split => list.clone(),
                _ => {
                    return Some(Setting::Unknown(format!(
                        "{} in {} is not a program",
                        key.join("."),
                        layer.origin
                    )));
                }
            };
            Some(program_at(words, &layer.base))
        })
    }

    /// A variable's value as a program (split at whitespace for runners, as cargo does).
    fn variable(&self, name: &str, split: bool) -> Option<Setting> {
        let value = (self.env)(name)?.to_string_lossy().into_owned();
        let words = if split {
            value.split_whitespace().map(str::to_owned).collect()
        } else {
            vec![value]
        };
        Some(program_at(words, &self.cwd))
    }

    fn files(&self) -> std::ops::Range<usize> {
        self.cli..self.layers.len()
    }

    /// `RUSTC_WRAPPER`, else `build.rustc-wrapper` (`--config`, `CARGO_BUILD_RUSTC_WRAPPER`,
    /// files).
    pub(crate) fn rustc_wrapper(&self) -> Setting {
        let key = ["build", "rustc-wrapper"];
        self.variable("RUSTC_WRAPPER", false)
            .or_else(|| self.program(0..self.cli, &key, false))
            .or_else(|| self.variable("CARGO_BUILD_RUSTC_WRAPPER", false))
            .or_else(|| self.program(self.files(), &key, false))
            .unwrap_or(Setting::Unset)
    }

    /// `RUSTDOC`, else `build.rustdoc`.
    pub(crate) fn rustdoc(&self) -> Setting {
        let key = ["build", "rustdoc"];
        self.variable("RUSTDOC", false)
            .or_else(|| self.program(0..self.cli, &key, false))
            .or_else(|| self.variable("CARGO_BUILD_RUSTDOC", false))
            .or_else(|| self.program(self.files(), &key, false))
            .unwrap_or(Setting::Unset)
    }

    /// `build.target`: the triples built for when the command names none.
    pub(crate) fn targets(&self) -> Result<Vec<String>, String> {
        let key = ["build", "target"];
        let from = |range: std::ops::Range<usize>| {
            self.layers[range].iter().find_map(|l| {
                Some(match l.get(&key)? {
                    Ok(Value::Str(s)) => Ok(vec![s.clone()]),
                    Ok(Value::List(list)) => Ok(list.clone()),
                    Ok(Value::Other) => {
                        Err(format!("build.target in {} is not a triple", l.origin))
                    }
                    Err(why) => Err(why),
                })
            })
        };
        from(0..self.cli)
            .or_else(|| {
                (self.env)("CARGO_BUILD_TARGET").map(|t| Ok(vec![t.to_string_lossy().into_owned()]))
            })
            .or_else(|| from(self.files()))
            .unwrap_or(Ok(Vec::new()))
    }

    /// The runner of `triple`: `target.<triple>.runner` (`--config`, the variable, files),
    /// else a `target.<cfg>.runner` (unknown: we do not evaluate `cfg` expressions).
    pub(crate) fn runner(&self, triple: &str) -> Setting {
        let key = ["target", triple, "runner"];
        let found = self
            .program(0..self.cli, &key, true)
            .or_else(|| self.variable(&runner_var(triple), true))
            .or_else(|| self.program(self.files(), &key, true));
        if let Some(found) = found {
            return found;
        }
        for layer in &self.layers {
            match &layer.entries {
                Ok(entries) => {
                    let cfg = entries.iter().any(|(k, _)| {
                        matches!(&k[..], [t, c, r] if t == "target" && c.starts_with("cfg(") && r == "runner")
                    });
                    if cfg {
                        return Setting::Unknown(format!(
                            "a target.'cfg(…)'.runner is set in {}",
                            layer.origin
                        ));
                    }
                }
                Err(why) if layer.text.contains("runner") => {
                    return Setting::Unknown(format!("{} cannot be read ({why})", layer.origin));
                }
                Err(_) => {}
            }
        }
        Setting::Unset
    }
}

/// The variable that sets the runner of `triple`.
pub(crate) fn runner_var(triple: &str) -> String {
    let upper: String = triple
        .chars()
        .map(|c| match c {
            '-' | '.' => '_',
            c => c.to_ascii_uppercase(),
        })
        .collect();
    format!("CARGO_TARGET_{upper}_RUNNER")
}

/// `words` as a program: none if empty (an empty value turns the setting off), the program
/// resolved against `base` when it is a relative path with a directory in it.
fn program_at(mut words: Vec<String>, base: &Path) -> Setting {
    let Some(first) = words.first_mut() else {
        return Setting::Unset;
    };
    if first.is_empty() {
        return Setting::Unset;
    }
    let path = Path::new(first.as_str());
    if path.is_relative() && path.components().count() > 1 {
        *first = base.join(path).to_string_lossy().into_owned();
    }
    Setting::Set(words)
}

#[cfg(test)]
mod tests;
