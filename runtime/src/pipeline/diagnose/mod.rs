//! Read-only answers to "what would the runtime do here?", for `trunk-ci-analytics doctor`
//! and for programs that check their own setup: the settings as the runtime resolves them
//! ([`settings`]), what waits in the spool and whether the shared circuit breaker is open
//! ([`spool`]), and whether the endpoints (`trackEvents`, OTLP) take the credentials ([`probe`]).
//!
//! Nothing here starts the runtime, writes a file or prints; the token's value never
//! appears in any value returned.
//!
//! ```
//! use trunk_ci_analytics::{Config, diagnose};
//!
//! let config = Config::from_env();
//! let settings = diagnose::settings(&config);
//! println!("events go to {}", settings.track_events_url);
//! let spool = diagnose::spool(&settings, None);
//! let waiting: usize = spool.partitions.iter().map(|p| p.events).sum();
//! println!("{waiting} events wait in {}", spool.root.display());
//! ```

mod probe;
mod spool_state;

use std::path::PathBuf;
use std::time::Duration;

pub use probe::{Endpoint, Probe, probe};
pub use spool_state::{BreakerState, Partition, SpoolState, spool};

use crate::config::Config;
use crate::config::delivery::Delivery;
use crate::model::wire::{Repo, TRACK_EVENTS_PATH};
use crate::platform::dirs::default_spool_root;
use crate::platform::log::LogLevel;
use crate::record::lineage::EventContext;

/// The configuration as the runtime reads it, with defaults filled in; everything but the
/// token's value.
///
/// ```
/// use trunk_ci_analytics::{Config, diagnose};
///
/// let settings = diagnose::settings(&Config::default().events_file("events.jsonl"));
/// assert!(!settings.token_set);
/// assert_eq!(settings.track_events_url, "https://api.trunk.io/v1/metrics/trackEvents");
/// assert_eq!(settings.events_file.as_deref(), Some(std::path::Path::new("events.jsonl")));
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Settings {
    /// Analytics is on (`TRUNK_CI_ANALYTICS` is not `off`).
    pub enabled: bool,
    /// A token is set (`TRUNK_API_TOKEN`): events are uploaded.
    pub token_set: bool,
    /// The API base URL (`TRUNK_PUBLIC_API_ADDRESS`).
    pub api_address: String,
    /// Where events are posted: `{api_address}/v1/metrics/trackEvents`.
    pub track_events_url: String,
    /// The repository set in the configuration (`TRUNK_REPO`); `None` means detected.
    pub repo: Option<Repo>,
    /// `TRUNK_EVENTS_FILE`.
    pub events_file: Option<PathBuf>,
    /// The spool's root directory (`TRUNK_SPOOL_DIR`, else the user's cache directory).
    pub spool_root: PathBuf,
    /// Whether [`spool_root`](Self::spool_root) is the default (no `TRUNK_SPOOL_DIR`).
    pub spool_root_is_default: bool,
    /// The longest wait at exit (`TRUNK_FLUSH_TIMEOUT_MS`).
    pub flush_timeout: Duration,
    /// What is printed on stderr (`TRUNK_CI_ANALYTICS_LOG`).
    pub log_level: LogLevel,
    /// The context handed over by a parent process (`TRUNK_CHAIN_ID`…).
    pub parent: Option<EventContext>,
    /// The process id of the run's uploader this process would hand its events to: the
    /// ancestor announced in `TRUNK_UPLOADER`. `None`: it sends them itself (with the
    /// `upload` feature), or spools them (without).
    pub run_uploader: Option<u32>,
    /// Where spans are exported (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, or
    /// `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces`); `None`: no OTLP export.
    pub otlp_traces_endpoint: Option<String>,
    /// The OTLP sink's spool partition, when it exports.
    otlp_partition: Option<String>,
}

/// The settings `config` stands for.
///
/// ```
/// use trunk_ci_analytics::{Config, diagnose};
///
/// let settings = diagnose::settings(&Config::default().spool_dir("/tmp/spool"));
/// assert_eq!(settings.spool_root, std::path::Path::new("/tmp/spool"));
/// assert!(!settings.spool_root_is_default);
/// ```
pub fn settings(config: &Config) -> Settings {
    Settings {
        enabled: config.enabled,
        token_set: config.token.is_some(),
        api_address: config.api_address.clone(),
        track_events_url: format!("{}{TRACK_EVENTS_PATH}", config.api_address),
        repo: config.repo.clone(),
        events_file: config.events_file.clone(),
        spool_root: config.spool_dir.clone().unwrap_or_else(default_spool_root),
        spool_root_is_default: config.spool_dir.is_none(),
        flush_timeout: config.flush_timeout,
        log_level: config.log_level,
        parent: config.parent.clone(),
        run_uploader: match Delivery::decide(config) {
            Delivery::ToUploader(uploader) => Some(uploader.pid),
            _ => None,
        },
        otlp_traces_endpoint: config.otlp.endpoint().map(str::to_owned),
        otlp_partition: config
            .otlp
            .endpoint()
            .map(|url| crate::pipeline::sinks::otlp::partition(url, config.otlp.protocol)),
    }
}
