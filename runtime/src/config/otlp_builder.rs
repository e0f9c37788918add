//! The [`Config`] builder methods of OpenTelemetry trace export (settings in
//! [`super::otlp`]).

use crate::config::Config;
use crate::config::otlp::{OtlpProtocol, TRACES_PATH};

impl Config {
    /// Exports every event as an OpenTelemetry span over OTLP/HTTP to the collector at
    /// `base` (`OTEL_EXPORTER_OTLP_ENDPOINT`): spans go to `{base}/v1/traces`. With or
    /// without a token; http (a collector on this machine or in the cluster) or https. A bad
    /// URL is reported once on stderr and changes nothing.
    ///
    /// ```
    /// use trunk_ci_analytics::Config;
    ///
    /// let config = Config::default().otlp_endpoint("http://localhost:4318");
    /// assert!(config.has_otlp());
    /// assert!(!Config::default().otlp_endpoint("localhost").has_otlp());
    /// ```
    pub fn otlp_endpoint(mut self, base: impl Into<String>) -> Self {
        match crate::config::address::check_otlp_endpoint(&base.into()) {
            Ok(url) => {
                self.otlp.traces_endpoint =
                    Some(crate::config::address::append_path(&url, TRACES_PATH));
            }
            Err(e) => crate::log!(Warn, "OTLP endpoint: {e}; ignored"),
        }
        self
    }

    /// Like [`otlp_endpoint`](Self::otlp_endpoint), but the URL is used as it is
    /// (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`).
    ///
    /// ```
    /// let config = trunk_ci_analytics::Config::default()
    ///     .otlp_traces_endpoint("https://otel.example.com/ingest/traces");
    /// assert!(config.has_otlp());
    /// ```
    pub fn otlp_traces_endpoint(mut self, url: impl Into<String>) -> Self {
        match crate::config::address::check_otlp_endpoint(&url.into()) {
            Ok(url) => self.otlp.traces_endpoint = Some(url),
            Err(e) => crate::log!(Warn, "OTLP traces endpoint: {e}; ignored"),
        }
        self
    }

    /// Turns OTLP export on or off whatever the endpoint (`OTEL_SDK_DISABLED=true` turns it
    /// off).
    ///
    /// ```
    /// let config = trunk_ci_analytics::Config::default()
    ///     .otlp_endpoint("http://localhost:4318")
    ///     .otlp(false);
    /// assert!(!config.has_otlp());
    /// ```
    pub fn otlp(mut self, on: bool) -> Self {
        self.otlp.disabled = !on;
        self
    }

    /// Adds a header to every OTLP request (`OTEL_EXPORTER_OTLP_HEADERS`), e.g. an API key.
    /// Header values are treated as secrets: they never appear in output, `Debug`, logs or
    /// spool files.
    ///
    /// ```
    /// let config = trunk_ci_analytics::Config::default()
    ///     .otlp_endpoint("https://api.honeycomb.io")
    ///     .otlp_header("x-honeycomb-team", "secret-key");
    /// assert!(!format!("{config:?}").contains("secret-key"));
    /// ```
    pub fn otlp_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.otlp.headers.set(name.into(), value.into());
        self
    }

    /// The body encoding (`OTEL_EXPORTER_OTLP_PROTOCOL`, default `http/protobuf`).
    ///
    /// ```
    /// use trunk_ci_analytics::{Config, OtlpProtocol};
    /// let config = Config::default().otlp_protocol(OtlpProtocol::HttpJson);
    /// # let _ = config;
    /// ```
    pub fn otlp_protocol(mut self, protocol: OtlpProtocol) -> Self {
        self.otlp.protocol = protocol;
        self
    }

    /// Whether request bodies large enough for it to pay are gzipped (default on;
    /// `OTEL_EXPORTER_OTLP_COMPRESSION=none` turns it off).
    ///
    /// ```
    /// let config = trunk_ci_analytics::Config::default().otlp_gzip(false);
    /// # let _ = config;
    /// ```
    pub fn otlp_gzip(mut self, on: bool) -> Self {
        self.otlp.gzip = on;
        self
    }

    /// The `service.name` of the spans (`OTEL_SERVICE_NAME`); the default is the program's
    /// file name, or for a build script its crate's name.
    ///
    /// ```
    /// let config = trunk_ci_analytics::Config::default().service_name("xtask");
    /// # let _ = config;
    /// ```
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.otlp.service_name = Some(name.into());
        self
    }

    /// Adds an attribute to the spans' resource (`OTEL_RESOURCE_ATTRIBUTES`).
    ///
    /// ```
    /// let config = trunk_ci_analytics::Config::default()
    ///     .resource_attribute("deployment.environment.name", "ci");
    /// # let _ = config;
    /// ```
    pub fn resource_attribute(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        let key = key.into();
        self.otlp.resource.retain(|(k, _)| *k != key);
        self.otlp.resource.push((key, value.into()));
        self
    }

    /// Whether events are exported as OpenTelemetry spans.
    ///
    /// ```
    /// let config = trunk_ci_analytics::Config::from_env();
    /// if !config.has_otlp() {
    ///     eprintln!("set OTEL_EXPORTER_OTLP_ENDPOINT to see the run in a tracing backend");
    /// }
    /// ```
    pub fn has_otlp(&self) -> bool {
        self.otlp.endpoint().is_some()
    }
}
