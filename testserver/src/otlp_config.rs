//! How the `/v1/traces` endpoint is set up: who may export, and what a success answer says.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTracePartialSuccess;

#[derive(Clone, Default)]
pub(crate) struct OtlpConfig {
    /// Headers every export must carry, names in lowercase; none: anyone may export.
    pub(crate) required_headers: Vec<(String, String)>,
    /// Sent in every success answer when set.
    pub(crate) partial_success: Option<ExportTracePartialSuccess>,
}
