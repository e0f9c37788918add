//! Configuration: [`Config`], from the pinned environment variables ([`env`](mod@env), the one
//! reader of them) or built in code (the OTLP part in [`otlp`] and [`otlp_builder`]); where
//! the token and headers may be sent ([`address`]); what the environment says about the CI
//! job and the repository ([`detect`]); whether this process sends, hands its events to the
//! run's uploader, or spools them ([`delivery`]).

pub(crate) mod address;
pub(crate) mod delivery;
pub mod detect;
pub(crate) mod env;
pub(crate) mod otlp;
mod otlp_builder;

use std::path::PathBuf;
use std::time::Duration;

use crate::model::wire::Repo;
use crate::platform::log::LogLevel;
use crate::record::lineage::EventContext;
use crate::record::run_uploader::RunUploader;

/// Default API base URL (`TRUNK_PUBLIC_API_ADDRESS`); events go to
/// `{base}/v1/metrics/trackEvents`.
///
/// ```
/// assert_eq!(trunk_ci_analytics::DEFAULT_API_ADDRESS, "https://api.trunk.io");
/// ```
pub const DEFAULT_API_ADDRESS: &str = "https://api.trunk.io";
/// Default longest wait at exit (`TRUNK_FLUSH_TIMEOUT_MS`): two seconds.
///
/// ```
/// use std::time::Duration;
/// assert_eq!(trunk_ci_analytics::DEFAULT_FLUSH_TIMEOUT, Duration::from_secs(2));
/// ```
pub const DEFAULT_FLUSH_TIMEOUT: Duration = Duration::from_millis(2000);

/// The API token (`TRUNK_API_TOKEN`). Its `Debug` and `Display` never show the value, so a
/// logged [`Config`] does not leak it either.
///
/// ```
/// use trunk_ci_analytics::{Config, Token};
///
/// let t = Token::new("secret-value");
/// assert!(!format!("{t:?} {t}").contains("secret"));
/// assert!(!format!("{:?}", Config::default().token("secret-value")).contains("secret"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// Wraps a token value.
    ///
    /// ```
    /// let token = trunk_ci_analytics::Token::new("tk_123");
    /// assert_eq!(token.to_string(), "<redacted>");
    /// ```
    pub fn new(value: impl Into<String>) -> Self {
        Token(value.into())
    }

    #[cfg(any(test, feature = "upload"))]
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

impl std::fmt::Display for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Everything the runtime needs to know, handed to [`init`](crate::init).
/// [`Config::from_env`] reads the `TRUNK_*` variables (without `init`, the first event does
/// just that); the builder methods set the same in code, over what the environment said.
/// `Config::default()` is the configuration of an empty environment: local mode, analytics
/// on, nothing read from the environment.
///
/// ```
/// use std::time::Duration;
/// use trunk_ci_analytics::Config;
///
/// let config = Config::from_env()
///     .events_file("target/events.jsonl")
///     .flush_timeout(Duration::from_millis(500));
/// assert_eq!(config.flush_timeout_value(), Duration::from_millis(500));
/// let _guard = trunk_ci_analytics::init(config);
/// ```
#[derive(Clone, Debug)]
pub struct Config {
    pub(crate) token: Option<Token>,
    pub(crate) api_address: String,
    pub(crate) repo: Option<Repo>,
    pub(crate) enabled: bool,
    pub(crate) events_file: Option<PathBuf>,
    pub(crate) trace_file: Option<PathBuf>,
    pub(crate) job_summary: Option<PathBuf>,
    pub(crate) spool_dir: Option<PathBuf>,
    pub(crate) flush_timeout: Duration,
    pub(crate) log_level: LogLevel,
    pub(crate) parent: Option<EventContext>,
    /// The run's uploader an ancestor announced (`TRUNK_UPLOADER`).
    pub(crate) run_uploader: Option<RunUploader>,
    /// Whether to hand events to [`run_uploader`](Self::run_uploader) (see
    /// [`Config::use_run_uploader`]).
    pub(crate) use_run_uploader: bool,
    pub(crate) summary: bool,
    pub(crate) tuning: Tuning,
    pub(crate) otlp: crate::config::otlp::Otlp,
}

/// Uploader limits; the defaults suit CI. Exposed for tests and benchmarks.
#[doc(hidden)]
#[derive(Clone, Debug)]
pub struct Tuning {
    /// Most events in one request.
    pub batch_size: usize,
    /// Longest an event waits before its batch is sent.
    pub linger: Duration,
    /// Most finished events held in memory before the overflow goes to the spool.
    pub memory_events: usize,
    /// Most bytes the spool directory may hold; the oldest files are evicted past it.
    pub spool_bytes: u64,
    /// Timeout of one HTTP request.
    pub request_timeout: Duration,
    /// Retries of one batch before it is spooled.
    pub max_retries: u32,
    /// How long every process spools instead of sending after one found the endpoint
    /// unreachable or hanging (the circuit breaker shared through the spool directory).
    pub breaker_cooldown: Duration,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            batch_size: 2000,
            linger: Duration::from_millis(1000),
            memory_events: 100_000,
            spool_bytes: 256 * 1024 * 1024,
            request_timeout: Duration::from_secs(10),
            max_retries: 5,
            breaker_cooldown: Duration::from_secs(30),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            token: None,
            api_address: DEFAULT_API_ADDRESS.to_owned(),
            repo: None,
            enabled: true,
            events_file: None,
            trace_file: None,
            job_summary: None,
            spool_dir: None,
            flush_timeout: DEFAULT_FLUSH_TIMEOUT,
            log_level: LogLevel::Warn,
            parent: None,
            run_uploader: None,
            use_run_uploader: true,
            summary: true,
            tuning: Tuning::default(),
            otlp: crate::config::otlp::Otlp::new(),
        }
    }
}

impl Config {
    /// Sets the API token (`TRUNK_API_TOKEN`); without one nothing is uploaded. An empty or
    /// blank value means no token.
    ///
    /// ```
    /// use trunk_ci_analytics::Config;
    ///
    /// assert!(Config::default().token("tk_123").has_token());
    /// assert!(!Config::default().token("  ").has_token());
    /// ```
    pub fn token(mut self, token: impl Into<String>) -> Self {
        let token = token.into();
        self.token = (!token.trim().is_empty()).then(|| Token::new(token));
        self
    }

    /// Sets the API base URL (`TRUNK_PUBLIC_API_ADDRESS`). Must be https, or http to a
    /// loopback address (a local test server); otherwise a warning is printed and the
    /// previous address is kept.
    ///
    /// ```
    /// use trunk_ci_analytics::Config;
    ///
    /// let config = Config::default().api_address("http://127.0.0.1:8080");
    /// # let _ = config;
    /// ```
    pub fn api_address(mut self, url: impl Into<String>) -> Self {
        let url = url.into();
        match crate::config::address::check_api_address(&url) {
            Ok(url) => self.api_address = url,
            Err(e) => crate::log!(Warn, "{e}"),
        }
        self
    }

    /// Sets the repository on github.com (`TRUNK_REPO`), overriding detection.
    ///
    /// ```
    /// let config = trunk_ci_analytics::Config::from_env().repo("acme", "app");
    /// # let _ = config;
    /// ```
    pub fn repo(mut self, owner: impl Into<String>, name: impl Into<String>) -> Self {
        self.repo = Some(Repo {
            host: "github.com".into(),
            owner: owner.into(),
            name: name.into(),
        });
        self
    }

    /// Turns everything on or off (`TRUNK_CI_ANALYTICS=off`). Off, tracked functions run
    /// as if they were not annotated.
    ///
    /// ```
    /// use trunk_ci_analytics::Config;
    ///
    /// let in_ci = std::env::var_os("CI").is_some();
    /// assert_eq!(Config::from_env().enabled(in_ci).is_enabled(), in_ci);
    /// ```
    pub fn enabled(mut self, enabled: bool) -> Self {
        self.enabled = enabled;
        self
    }

    /// Appends every finished event as one JSON line (the wire event object) to `path`
    /// (`TRUNK_EVENTS_FILE`), with or without a token. Several processes may append to the
    /// same file.
    ///
    /// ```
    /// let config = trunk_ci_analytics::Config::from_env().events_file("target/events.jsonl");
    /// # let _ = config;
    /// ```
    pub fn events_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.events_file = Some(path.into());
        self
    }

    /// Writes every finished event of the run, from this process and every process under
    /// it that inherits the variable (`TRUNK_TRACE_FILE`), into one Chrome Trace Event
    /// Format file at `path`, which ui.perfetto.dev and chrome://tracing open. Every
    /// process appends to the file (creating it if needed); remove it to start afresh.
    ///
    /// ```
    /// let config = trunk_ci_analytics::Config::from_env().trace_file("target/trace.json");
    /// # let _ = config;
    /// ```
    pub fn trace_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.trace_file = Some(path.into());
        self
    }

    /// Appends one Markdown section about the run (the slowest events, the failures, the
    /// tree) to `path` when the run's root process ends: GitHub's job summary file, which
    /// [`from_env`](Self::from_env) takes from `GITHUB_STEP_SUMMARY`. Processes that
    /// inherited a context never write it.
    ///
    /// ```
    /// let config = trunk_ci_analytics::Config::default().job_summary("summary.md");
    /// # let _ = config;
    /// ```
    pub fn job_summary(mut self, path: impl Into<PathBuf>) -> Self {
        self.job_summary = Some(path.into());
        self
    }

    /// Where undelivered events wait for a later run (`TRUNK_SPOOL_DIR`). The default is
    /// `trunk-ci-analytics/spool` in the user's cache directory.
    ///
    /// ```
    /// let config = trunk_ci_analytics::Config::from_env().spool_dir("/var/cache/ci/spool");
    /// # let _ = config;
    /// ```
    pub fn spool_dir(mut self, path: impl Into<PathBuf>) -> Self {
        self.spool_dir = Some(path.into());
        self
    }

    /// Longest wait at exit (`TRUNK_FLUSH_TIMEOUT_MS`, default 2 s): what is not delivered
    /// by then goes to the spool.
    ///
    /// ```
    /// use std::time::Duration;
    /// let config = trunk_ci_analytics::Config::from_env().flush_timeout(Duration::from_millis(500));
    /// assert_eq!(config.flush_timeout_value(), Duration::from_millis(500));
    /// ```
    pub fn flush_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.flush_timeout = timeout;
        self
    }

    /// What is printed on stderr (`TRUNK_CI_ANALYTICS_LOG`, default `warn`).
    ///
    /// ```
    /// use trunk_ci_analytics::{Config, LogLevel};
    /// let config = Config::from_env().log_level(LogLevel::Error);
    /// # let _ = config;
    /// ```
    pub fn log_level(mut self, level: LogLevel) -> Self {
        self.log_level = level;
        self
    }

    /// Parent of this process's root events (normally read from `TRUNK_CHAIN_ID`,
    /// `TRUNK_PARENT_EVENT_ID` and `TRUNK_PARENT_SEQUENCE_KEY`, else from `TRACEPARENT`; see
    /// [`EventContext::from_vars`]); `None` makes them start a new chain.
    ///
    /// ```
    /// use trunk_ci_analytics::{Config, EventContext};
    ///
    /// // Ids a parent passed on some other way, e.g. in a job description.
    /// let parent = EventContext::from_ids("4f2a9c1e0b7d3a55", "8c1d2e3f4a5b6c7d", "ci::build");
    /// let config = Config::from_env().parent(Some(parent));
    /// # let _ = config;
    /// ```
    pub fn parent(mut self, parent: Option<EventContext>) -> Self {
        self.parent = parent;
        self
    }

    /// Whether this process hands its events to the run's uploader, when an ancestor process
    /// announced one (`TRUNK_UPLOADER`, set by an uploading parent's
    /// [`CommandExt::with_event_context`](crate::CommandExt::with_event_context) and by
    /// `trunk-ci-analytics exec`): its events then reach the API through that process, and
    /// this one opens no connection of its own. Default on; off, a process with the
    /// `upload` feature sends by itself (`trunk-ci-analytics flush` does, whose job is to
    /// send). Without the `upload` feature events are spooled either way.
    ///
    /// ```
    /// let config = trunk_ci_analytics::Config::from_env().use_run_uploader(false);
    /// # let _ = config;
    /// ```
    pub fn use_run_uploader(mut self, on: bool) -> Self {
        self.use_run_uploader = on;
        self
    }

    /// Prints the tree summary on stderr when a root event ends (default on; it is never
    /// printed with `TRUNK_CI_ANALYTICS_LOG=off`).
    ///
    /// ```
    /// let config = trunk_ci_analytics::Config::from_env().summary(false);
    /// # let _ = config;
    /// ```
    pub fn summary(mut self, on: bool) -> Self {
        self.summary = on;
        self
    }

    #[doc(hidden)]
    pub fn tuning(mut self, tuning: Tuning) -> Self {
        self.tuning = tuning;
        self
    }

    /// The configured exit wait.
    ///
    /// ```
    /// use trunk_ci_analytics::{Config, DEFAULT_FLUSH_TIMEOUT};
    /// assert_eq!(Config::default().flush_timeout_value(), DEFAULT_FLUSH_TIMEOUT);
    /// ```
    pub fn flush_timeout_value(&self) -> Duration {
        self.flush_timeout
    }

    /// Whether a token is set (events are uploaded).
    ///
    /// ```
    /// let config = trunk_ci_analytics::Config::from_env();
    /// if !config.has_token() {
    ///     eprintln!("local mode: set TRUNK_API_TOKEN to upload");
    /// }
    /// ```
    pub fn has_token(&self) -> bool {
        self.token.is_some()
    }

    /// Whether analytics is on.
    ///
    /// ```
    /// use trunk_ci_analytics::Config;
    /// assert!(!Config::default().enabled(false).is_enabled());
    /// ```
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }
}
