//! What every test of the workspace does with processes and the disk, done one way:
//!
//! - [`clean_command`]: a child starts from a cleared environment, with `PATH` and `HOME` and
//!   what the test sets. Whatever the developer's shell or the CI runner exports
//!   (`OTEL_EXPORTER_OTLP_ENDPOINT`, `TRACEPARENT`, `GITHUB_*`, a token) never steers a child,
//!   so a test runs the same configuration on a laptop and on a runner.
//! - [`rerun`] and [`assert_selected`]: this test binary started again for one `#[ignore]`d
//!   entry test, and proof that the child really ran it (a renamed entry selects nothing and
//!   exits 0).
//! - [`Scratch`]: a directory no other run shares, removed when the test ends
//!   ([`process_scratch`]: when the process does).
//! - [`wait_within`] and [`output_within`]: every wait on a child has a watchdog.
//! - [`require`]: a test that needs what a machine may lack skips loudly, and fails under CI,
//!   where every capability is expected.

mod capability;
mod env;
mod rerun;
mod scratch;
mod watchdog;

pub use capability::require;
pub use env::{clean_command, keep, keep_toolchain, reduce_own_env};
pub use rerun::{assert_selected, rerun};
pub use scratch::{Scratch, process_scratch};
pub use watchdog::{output_within, wait_within};
