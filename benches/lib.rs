//! Shared set-up of the benchmarks: a loopback server and the runtime uploading to it.

use std::path::PathBuf;

use trunk_ci_analytics::{Config, InitGuard};
use trunk_ci_analytics_testserver::TestServer;

/// A loopback contract server, and the runtime set up to upload to it.
#[derive(Debug)]
pub struct Uploading {
    /// The server receiving the events.
    pub server: TestServer,
    /// Flushes when dropped.
    pub guard: InitGuard,
    spool: PathBuf,
}

/// Starts a server without schema validation (it would be the bottleneck, not the
/// uploader) and sets the runtime up to upload to it, with a private spool directory.
pub fn uploading() -> std::io::Result<Uploading> {
    let server = TestServer::builder().validate(false).start()?;
    let spool = std::env::temp_dir().join(format!("trunk-bench-spool-{}", std::process::id()));
    let guard = trunk_ci_analytics::init(
        Config::from_env()
            .token(server.token())
            .api_address(server.url())
            .repo("trunk-io", "bench")
            .spool_dir(&spool)
            .summary(false),
    );
    Ok(Uploading {
        server,
        guard,
        spool,
    })
}

impl Drop for Uploading {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.spool);
    }
}
