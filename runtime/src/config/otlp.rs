//! The OpenTelemetry (OTLP/HTTP trace export) settings of a [`Config`](crate::Config). The
//! `OTEL_*` variables are read in [`super::env::otel`]; the builder methods are in
//! [`super::otlp_builder`].

/// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is the base endpoint plus this.
pub(crate) const TRACES_PATH: &str = "/v1/traces";

/// The encoding of OTLP/HTTP request bodies (`OTEL_EXPORTER_OTLP_PROTOCOL`).
///
/// ```
/// use trunk_ci_analytics::{Config, OtlpProtocol};
///
/// let config = Config::default()
///     .otlp_endpoint("http://localhost:4318")
///     .otlp_protocol(OtlpProtocol::HttpJson);
/// assert!(config.has_otlp());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum OtlpProtocol {
    /// `http/protobuf`, the default: binary protobuf, `application/x-protobuf`.
    #[default]
    HttpProtobuf,
    /// `http/json`: the OTLP JSON mapping, `application/json`.
    HttpJson,
}

impl OtlpProtocol {
    /// The name `OTEL_EXPORTER_OTLP_PROTOCOL` uses.
    ///
    /// ```
    /// assert_eq!(trunk_ci_analytics::OtlpProtocol::HttpJson.as_str(), "http/json");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            OtlpProtocol::HttpProtobuf => "http/protobuf",
            OtlpProtocol::HttpJson => "http/json",
        }
    }
}

/// Header values sent to the collector: secrets, so `Debug` shows the names only.
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct Headers(pub(crate) Vec<(String, String)>);

impl Headers {
    /// Sets `name` (case-insensitively replacing an earlier value).
    pub(crate) fn set(&mut self, name: String, value: String) {
        self.0.retain(|(n, _)| !n.eq_ignore_ascii_case(&name));
        self.0.push((name, value));
    }
}

impl std::fmt::Debug for Headers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(
                self.0.iter().map(|(n, _)| {
                    format!("{}: <redacted>", crate::platform::redact::header_name(n))
                }),
            )
            .finish()
    }
}

/// The OTLP sink's settings.
#[derive(Clone, Debug, Default)]
pub(crate) struct Otlp {
    /// Where spans are POSTed; `None`: no OTLP export.
    pub(crate) traces_endpoint: Option<String>,
    /// `OTEL_SDK_DISABLED=true`, or `Config::otlp(false)`.
    pub(crate) disabled: bool,
    pub(crate) headers: Headers,
    pub(crate) protocol: OtlpProtocol,
    /// Compress bodies large enough for it to pay (`OTEL_EXPORTER_OTLP_COMPRESSION=none`
    /// turns it off).
    pub(crate) gzip: bool,
    pub(crate) service_name: Option<String>,
    pub(crate) resource: Vec<(String, String)>,
}

impl Otlp {
    pub(crate) fn new() -> Otlp {
        Otlp {
            gzip: true,
            ..Otlp::default()
        }
    }

    /// The endpoint spans go to, when export is on.
    pub(crate) fn endpoint(&self) -> Option<&str> {
        self.traces_endpoint.as_deref().filter(|_| !self.disabled)
    }
}
