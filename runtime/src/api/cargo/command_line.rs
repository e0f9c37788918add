//! What a cargo command line asks for, as far as recording it needs to know: the
//! subcommand, the target triples, the profile, and `--config` values.

use std::ffi::OsStr;

/// The parts of `cargo ARGS…` that matter here.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct CargoArgs {
    /// `build`, `test`, `nextest`, … (`None`: no subcommand, e.g. `cargo --version`).
    pub(crate) subcommand: Option<String>,
    /// `--target` values, in order.
    pub(crate) targets: Vec<String>,
    /// `--profile`/`--cargo-profile` value, or `release` for `--release`.
    pub(crate) profile: Option<String>,
    /// `--config` values (TOML or a file).
    pub(crate) configs: Vec<String>,
}

impl CargoArgs {
    pub(crate) fn parse<'a>(args: impl IntoIterator<Item = &'a OsStr>) -> CargoArgs {
        let args: Vec<String> = args
            .into_iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let mut parsed = CargoArgs::default();
        let mut i = 0;
        while i < args.len() {
            let arg = args[i].as_str();
            i += 1;
            if arg == "--" {
                break;
            }
            // `--flag=value` or `--flag value`.
            let mut value = |flag: &str| -> Option<String> {
                if let Some(v) = arg.strip_prefix(flag).and_then(|r| r.strip_prefix('=')) {
                    return Some(v.to_owned());
                }
                if arg == flag {
                    i += 1;
                    return args.get(i - 1).cloned();
                }
                None
            };
            if let Some(v) = value("--target") {
                parsed.targets.push(v);
            } else if let Some(v) = value("--profile").or_else(|| value("--cargo-profile")) {
                parsed.profile = Some(v);
            } else if let Some(v) = value("--config") {
                parsed.configs.push(v);
            } else if value("--color").is_some()
                || value("-Z").is_some()
                || value("-C").is_some()
                || value("--manifest-path").is_some()
            {
                // Options whose value is not a subcommand.
            } else if arg == "--release" || arg == "-r" {
                parsed.profile.get_or_insert_with(|| "release".into());
            } else if parsed.subcommand.is_none() && !arg.starts_with(['-', '+']) {
                parsed.subcommand = Some(arg.to_owned());
            }
        }
        parsed
    }

    /// Whether the subcommand is one of cargo's own that compiles and runs nothing (`fmt`,
    /// `clean`, `metadata`, …): there is nothing to record.
    pub(crate) fn builds_nothing(&self) -> bool {
        matches!(
            self.subcommand.as_deref(),
            None | Some(
                "fmt"
                    | "clean"
                    | "fetch"
                    | "metadata"
                    | "tree"
                    | "update"
                    | "generate-lockfile"
                    | "locate-project"
                    | "pkgid"
                    | "search"
                    | "new"
                    | "init"
                    | "add"
                    | "remove"
                    | "version"
                    | "help"
                    | "login"
                    | "logout"
                    | "owner"
                    | "yank"
                    | "vendor"
                    | "verify-project"
                    | "read-manifest"
                    | "info"
            )
        )
    }

    /// The profile cargo builds with, as its `Finished` line names it.
    pub(crate) fn profile(&self) -> String {
        if let Some(p) = &self.profile {
            return p.clone();
        }
        match self.subcommand.as_deref() {
            Some("test" | "t" | "nextest") => "test",
            Some("bench" | "b") => "bench",
            Some("install") => "release",
            _ => "dev",
        }
        .into()
    }
}

/// The directory under the target dir that a profile's artifacts go to.
pub(crate) fn profile_dir(profile: &str) -> &str {
    match profile {
        "dev" | "test" => "debug",
        "bench" => "release",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> CargoArgs {
        CargoArgs::parse(line.split_whitespace().map(OsStr::new))
    }

    #[test]
    fn subcommands_targets_and_profiles() {
        let a = parse(
            "+stable --locked --color always test --workspace --target x86_64-unknown-linux-gnu --target=wasm32-unknown-unknown -r -- --nocapture --target foo",
        );
        assert_eq!(a.subcommand.as_deref(), Some("test"));
        assert_eq!(
            a.targets,
            ["x86_64-unknown-linux-gnu", "wasm32-unknown-unknown"]
        );
        assert_eq!(a.profile(), "release");

        let a = parse("--config build.jobs=2 nextest run --cargo-profile ci");
        assert_eq!(a.subcommand.as_deref(), Some("nextest"));
        assert_eq!(a.configs, ["build.jobs=2"]);
        assert_eq!(a.profile(), "ci");

        assert_eq!(parse("build").profile(), "dev");
        assert_eq!(parse("t").profile(), "test");
        assert_eq!(parse("bench --profile=perf").profile(), "perf");
        assert_eq!(parse("--version").subcommand, None);
        assert!(parse("--version").builds_nothing());
        assert!(parse("fmt --all --check").builds_nothing());
        assert!(!parse("clippy --workspace").builds_nothing());
        assert!(
            !parse("xtask ci").builds_nothing(),
            "an alias may build anything"
        );
        assert_eq!(parse("run --bin app").subcommand.as_deref(), Some("run"));
    }

    #[test]
    fn profiles_map_to_their_directories() {
        assert_eq!(profile_dir("dev"), "debug");
        assert_eq!(profile_dir("test"), "debug");
        assert_eq!(profile_dir("bench"), "release");
        assert_eq!(profile_dir("release"), "release");
        assert_eq!(profile_dir("ci"), "ci");
    }
}
