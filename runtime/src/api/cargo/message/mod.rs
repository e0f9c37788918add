//! What passes between the recording process and the helpers cargo runs: the helpers'
//! roles, what they chain to (written once by the recording), and the lines they append,
//! one when a rustc, test binary or doctest run starts and one when it ends. Their JSON is
//! written and read by hand ([`json`]).

mod json;

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What cargo runs a helper as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    /// `RUSTC_WRAPPER`: `helper rustc ARGS…`.
    Rustc,
    /// The target runner: `helper TRIPLE BINARY ARGS…`.
    Runner,
    /// `RUSTDOC`: `helper ARGS…`; records `--test` runs (doctests).
    Rustdoc,
}

impl Role {
    pub(crate) const ALL: [Role; 3] = [Role::Rustc, Role::Runner, Role::Rustdoc];

    /// The helper's file name in the run directory, which tells it its role.
    pub(crate) fn file_name(self) -> &'static str {
        match self {
            Role::Rustc => "trunk-cargo-rustc",
            Role::Runner => "trunk-cargo-runner",
            Role::Rustdoc => "trunk-cargo-rustdoc",
        }
    }
}

/// What the helpers run on the user's behalf: the wrapper, runners and rustdoc the user had
/// (cargo no longer sees them, since ours take their place), and the variables to give
/// back their own values in a test binary.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct HelperConfig {
    /// The user's `RUSTC_WRAPPER`, program and arguments; empty for none.
    pub(crate) rustc_wrapper: Vec<String>,
    /// The user's runner per target triple, program and arguments; empty for none.
    pub(crate) runners: BTreeMap<String, Vec<String>>,
    /// The user's rustdoc.
    pub(crate) rustdoc: Option<String>,
    /// Variables we set for cargo, with the value each had before (`None`: unset): a test
    /// binary gets these back, so the code under test sees what it would see without us.
    pub(crate) restore: Vec<(String, Option<String>)>,
}

/// Test counts from libtest's summary lines.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct TestCounts {
    pub(crate) passed: u64,
    pub(crate) failed: u64,
    pub(crate) ignored: u64,
}

impl TestCounts {
    pub(crate) fn add(&mut self, other: TestCounts) {
        self.passed += other.passed;
        self.failed += other.failed;
        self.ignored += other.ignored;
    }
}

/// One line of the log.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Line {
    /// A run began.
    Start {
        /// Pairs it with its end: the helper's pid and start, unique while it runs.
        id: u64,
        role: Role,
        /// Wall clock, ns since the Unix epoch.
        at_ns: u64,
        /// The helper's arguments.
        args: Vec<String>,
        /// The few variables cargo set that say what the run is of.
        env: BTreeMap<String, String>,
    },
    /// A run ended.
    End {
        id: u64,
        at_ns: u64,
        /// Exit code, when it exited.
        code: Option<i32>,
        /// The signal that ended it, when one did.
        signal: Option<i32>,
        /// What libtest's summary lines said, when it printed any we could read.
        tests: Option<TestCounts>,
    },
}

/// The variables a helper keeps from its environment.
pub(crate) const ENV_KEPT: [&str; 5] = [
    "CARGO_PKG_NAME",
    "CARGO_PKG_VERSION",
    "CARGO_CRATE_NAME",
    "OUT_DIR",
    "CARGO_PRIMARY_PACKAGE",
];

/// The wall clock now, in ns since the Unix epoch.
pub(crate) fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// `ns` since the Unix epoch as a time.
pub(crate) fn time_of(ns: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_nanos(ns)
}

impl Line {
    /// The line as JSON with its newline.
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec(self).unwrap_or_default();
        out.push(b'\n');
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn lines_read_back_as_written() {
        let lines = [
            Line::Start {
                id: 7,
                role: Role::Runner,
                at_ns: 1,
                args: vec!["x86_64-unknown-linux-gnu".into(), "/t/deps/a-1".into()],
                env: BTreeMap::from([("CARGO_PKG_NAME".into(), "a".into())]),
            },
            Line::End {
                id: 7,
                at_ns: 2,
                code: Some(101),
                signal: None,
                tests: Some(TestCounts {
                    passed: 1,
                    failed: 2,
                    ignored: 3,
                }),
            },
        ];
        for line in lines {
            let bytes = line.to_bytes();
            assert_eq!(bytes.last(), Some(&b'\n'));
            assert_eq!(serde_json::from_slice::<Line>(&bytes).unwrap(), line);
        }
    }
}
