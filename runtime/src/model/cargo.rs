//! The names cargo's recorded work goes by (DESIGN §13): the kinds of its events and the tags
//! that mark the critical path. The recorder (`api::cargo`) writes them; the summaries, the
//! trace file and the tree read them.

/// One compiled unit (a crate's lib, bin, test, build script, …).
pub(crate) const KIND_COMPILE: &str = "compile";
/// One run of a build script.
pub(crate) const KIND_BUILD_SCRIPT_RUN: &str = "build_script_run";
/// One run of a test or bench binary (doctests included).
pub(crate) const KIND_TEST_BINARY: &str = "test_binary";

/// The kinds whose events come by the hundred under one step: the tree groups them by kind
/// rather than by name.
pub(crate) const KINDS: [&str; 3] = [KIND_COMPILE, KIND_BUILD_SCRIPT_RUN, KIND_TEST_BINARY];

/// Tag of a unit on the critical path: its place on it, 1 for the first.
pub(crate) const TAG_PATH_POSITION: &str = "critical_path_position";
/// Tag of the step that ran cargo: its critical path as text, `syn → serde_derive → app`.
pub(crate) const TAG_CRITICAL_PATH: &str = "critical_path";
/// Metric of the step that ran cargo: how long its critical path took, first start to last end.
pub(crate) const METRIC_CRITICAL_PATH_MS: &str = "critical_path_ms";
