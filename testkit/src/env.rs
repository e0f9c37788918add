//! Children start from a cleared environment: whatever runs the tests (a developer's shell, a
//! CI runner with `GITHUB_*`, `OTEL_*` or `TRACEPARENT` set) must not change what a test
//! exercises.

use std::ffi::OsStr;
use std::process::Command;

/// What every child keeps: where programs are, and the home directory, where rustup, cargo
/// and the shell find their own configuration.
const KEPT: [&str; 2] = ["PATH", "HOME"];

/// `program` with a cleared environment but [`KEPT`]; the test adds what it means to set.
pub fn clean_command(program: impl AsRef<OsStr>) -> Command {
    let mut cmd = Command::new(program);
    cmd.env_clear();
    keep(&mut cmd, &KEPT);
    cmd
}

/// Copies `names` from this process's environment into `cmd`, those that are set.
pub fn keep<'c>(cmd: &'c mut Command, names: &[&str]) -> &'c mut Command {
    for name in names {
        if let Some(value) = std::env::var_os(name) {
            cmd.env(name, value);
        }
    }
    cmd
}

/// Whether `name` configures a build rather than the program under test: the variables
/// cargo and rustup read, those cargo gives a process it runs, and the C toolchain's that
/// build scripts read (`cc`, `pkg-config`). A child that runs cargo needs them to find the
/// same toolchain, and to build the way `cargo run` from the same shell does, so that build
/// scripts tracking them do not run again.
fn is_toolchain(name: &str) -> bool {
    const PREFIXES: [&str; 8] = [
        "CARGO",
        "RUSTUP",
        "RUSTC",
        "RUSTDOC",
        "PKG_CONFIG",
        "CC_",
        "CFLAGS_",
        "CXX_",
    ];
    const NAMES: [&str; 11] = [
        "RUSTFLAGS",
        "RUSTDOCFLAGS",
        "LD_LIBRARY_PATH",
        "CC",
        "CXX",
        "AR",
        "CFLAGS",
        "CXXFLAGS",
        "CPPFLAGS",
        "LDFLAGS",
        "SOURCE_DATE_EPOCH",
    ];
    PREFIXES.iter().any(|p| name.starts_with(p)) || NAMES.contains(&name)
}

/// Copies the build's variables of this process into `cmd`, for a child that runs cargo.
pub fn keep_toolchain(cmd: &mut Command) -> &mut Command {
    for (name, value) in std::env::vars_os() {
        if name.to_str().is_some_and(is_toolchain) {
            cmd.env(name, value);
        }
    }
    cmd
}

/// Removes from this process's own environment everything a [`clean_command`] would not pass
/// on, but the toolchain's variables and `also`: for a test whose children someone else
/// starts (trybuild runs cargo and the compiled programs with this process's environment).
///
/// # Safety
///
/// Changes the process environment: call it only while no other thread reads or writes it
/// (in a test binary with one test, before anything else).
pub unsafe fn reduce_own_env(also: &[&str]) {
    let doomed: Vec<_> = std::env::vars_os()
        .map(|(name, _)| name)
        .filter(|name| {
            name.to_str().is_none_or(|name| {
                !KEPT.contains(&name) && !is_toolchain(name) && !also.contains(&name)
            })
        })
        .collect();
    for name in doomed {
        // SAFETY: the caller guarantees no other thread uses the environment now.
        unsafe { std::env::remove_var(name) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_sees_only_what_is_kept_and_what_the_test_set() {
        let out = clean_command("env")
            .env("TRUNK_REPO", "acme/widgets")
            .output()
            .unwrap_or_else(|e| panic!("cannot run env: {e}"));
        let text = String::from_utf8_lossy(&out.stdout);
        for line in text.lines() {
            let name = line.split('=').next().unwrap_or_default();
            assert!(
                KEPT.contains(&name) || name == "TRUNK_REPO",
                "{name} leaked into the child:\n{text}"
            );
        }
        assert!(text.contains("TRUNK_REPO=acme/widgets"), "{text}");
    }

    #[test]
    fn toolchain_variables_are_told_apart_from_the_programs() {
        for name in [
            "CARGO",
            "CARGO_HOME",
            "RUSTUP_TOOLCHAIN",
            "RUSTC_WRAPPER",
            "RUSTFLAGS",
            "LD_LIBRARY_PATH",
            "CC",
            "PKG_CONFIG_PATH",
        ] {
            assert!(is_toolchain(name), "{name}");
        }
        for name in [
            "TRUNK_API_TOKEN",
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "GITHUB_ACTIONS",
            "TRACEPARENT",
            "CI",
            "RUST_BACKTRACE",
            "CI_COMMIT_SHA",
        ] {
            assert!(!is_toolchain(name), "{name}");
        }
    }
}
