//! The OpenTelemetry SDK's standard variables, as far as trace export over HTTP goes. A bad
//! value gives one message naming the variable; a header's value never appears in one.

use crate::config::address::{append_path, check_otlp_endpoint};
use crate::config::otlp::{Otlp, OtlpProtocol, TRACES_PATH};
use crate::platform::redact;

/// Reads the `OTEL_*` variables through `var` (which gives trimmed, non-empty values).
pub(crate) fn parse(var: &dyn Fn(&str) -> Option<String>, warnings: &mut Vec<String>) -> Otlp {
    let mut o = Otlp::new();
    if let Some(v) = var("OTEL_SDK_DISABLED") {
        o.disabled = v.eq_ignore_ascii_case("true");
    }
    if let Some(v) = var("OTEL_EXPORTER_OTLP_ENDPOINT") {
        match check_otlp_endpoint(&v) {
            Ok(url) => o.traces_endpoint = Some(append_path(&url, TRACES_PATH)),
            Err(e) => warnings.push(format!(
                "OTEL_EXPORTER_OTLP_ENDPOINT: {e}; spans are not exported"
            )),
        }
    }
    if let Some(v) = var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
        match check_otlp_endpoint(&v) {
            Ok(url) => o.traces_endpoint = Some(url),
            Err(e) => warnings.push(format!(
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: {e}; {}",
                if o.traces_endpoint.is_some() {
                    "using OTEL_EXPORTER_OTLP_ENDPOINT"
                } else {
                    "spans are not exported"
                }
            )),
        }
    }
    for name in [
        "OTEL_EXPORTER_OTLP_HEADERS",
        "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
    ] {
        if let Some(v) = var(name) {
            for (k, v) in pairs(name, &v, warnings) {
                if redact::is_header_name(&k) {
                    o.headers.set(k, v);
                } else {
                    // `Name: value` written where `name=value` belongs: its text may hold
                    // the secret, so only its name part is shown.
                    warnings.push(format!(
                        "{name}: `{}` is not a header name (expected name=value); skipped",
                        redact::header_name(&k)
                    ));
                }
            }
        }
    }
    for name in [
        "OTEL_EXPORTER_OTLP_PROTOCOL",
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    ] {
        if let Some(v) = var(name) {
            match v.to_ascii_lowercase().as_str() {
                "http/protobuf" => o.protocol = OtlpProtocol::HttpProtobuf,
                "http/json" => o.protocol = OtlpProtocol::HttpJson,
                _ => warnings.push(format!(
                    "{name}=`{v}` is not supported (use http/protobuf or http/json); using {}",
                    o.protocol.as_str()
                )),
            }
        }
    }
    for name in [
        "OTEL_EXPORTER_OTLP_COMPRESSION",
        "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
    ] {
        if let Some(v) = var(name) {
            match v.to_ascii_lowercase().as_str() {
                "gzip" => o.gzip = true,
                "none" => o.gzip = false,
                _ => warnings.push(format!(
                    "{name}=`{v}` is not understood (use gzip or none); using {}",
                    if o.gzip { "gzip" } else { "none" }
                )),
            }
        }
    }
    if let Some(v) = var("OTEL_RESOURCE_ATTRIBUTES") {
        o.resource = pairs("OTEL_RESOURCE_ATTRIBUTES", &v, warnings);
    }
    o.service_name = var("OTEL_SERVICE_NAME");
    o
}

/// `k=v,k2=v2` with percent-decoded keys and values. A bad entry is skipped with one
/// message that names its position, never its text (it may be a secret).
fn pairs(name: &str, list: &str, warnings: &mut Vec<String>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut bad = Vec::new();
    for (i, entry) in list.split(',').enumerate() {
        if entry.trim().is_empty() {
            continue;
        }
        let parsed = entry.split_once('=').and_then(|(k, v)| {
            let k = percent_decode(k.trim())?;
            let v = percent_decode(v.trim())?;
            (!k.is_empty()).then_some((k, v))
        });
        match parsed {
            Some(kv) => out.push(kv),
            None => bad.push((i + 1).to_string()),
        }
    }
    if !bad.is_empty() {
        warnings.push(format!(
            "{name}: entry {} is not key=value (percent-encoded); skipped",
            bad.join(", ")
        ));
    }
    out
}

/// `%XX` escapes decoded; `None` for a broken escape or bytes that are not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn parse_vars(vars: &[(&str, &str)]) -> (Otlp, Vec<String>) {
        let env: HashMap<&str, &str> = vars.iter().copied().collect();
        let mut warnings = Vec::new();
        let o = parse(&|n| env.get(n).map(|v| v.to_string()), &mut warnings);
        (o, warnings)
    }

    #[test]
    fn nothing_set_means_no_export() {
        let (o, warnings) = parse_vars(&[]);
        assert!(warnings.is_empty() && o.endpoint().is_none());
        assert_eq!(o.protocol, OtlpProtocol::HttpProtobuf);
        assert!(o.gzip);
    }

    #[test]
    fn every_variable_is_read() {
        let (o, warnings) = parse_vars(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/"),
            (
                "OTEL_EXPORTER_OTLP_HEADERS",
                "api-key=se%2Ccret%3D1, x-team = ci",
            ),
            ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "X-Team=traces"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "none"),
            ("OTEL_SERVICE_NAME", "xtask"),
            (
                "OTEL_RESOURCE_ATTRIBUTES",
                "team=build%20tools,deployment.environment.name=ci",
            ),
        ]);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(o.endpoint(), Some("http://collector:4318/v1/traces"));
        let headers: Vec<(&str, &str)> = o
            .headers
            .0
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(headers, [("api-key", "se,cret=1"), ("X-Team", "traces")]);
        assert_eq!(o.protocol, OtlpProtocol::HttpJson);
        assert!(!o.gzip);
        assert_eq!(o.service_name.as_deref(), Some("xtask"));
        assert_eq!(o.resource[0], ("team".into(), "build tools".into()));
        assert!(!format!("{o:?}").contains("se,cret"));
    }

    #[test]
    fn the_traces_endpoint_is_used_as_is_and_the_sdk_switch_wins() {
        let (o, _) = parse_vars(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:4318"),
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "https://b/custom/path",
            ),
        ]);
        assert_eq!(o.endpoint(), Some("https://b/custom/path"));
        let (o, _) = parse_vars(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:4318"),
            ("OTEL_SDK_DISABLED", "TRUE"),
        ]);
        assert!(o.endpoint().is_none());
    }

    #[test]
    fn bad_values_name_the_variable_but_never_a_header_value() {
        let (o, warnings) = parse_vars(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318"),
            (
                "OTEL_EXPORTER_OTLP_HEADERS",
                "ok=1,secret-without-equals,bad=%zz",
            ),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "zstd"),
        ]);
        assert_eq!(warnings.len(), 4, "{warnings:?}");
        for (w, var) in warnings.iter().zip([
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "OTEL_EXPORTER_OTLP_HEADERS",
            "OTEL_EXPORTER_OTLP_PROTOCOL",
            "OTEL_EXPORTER_OTLP_COMPRESSION",
        ]) {
            assert!(w.contains(var), "{w}");
            assert!(!w.contains("secret-without") && !w.contains("%zz"), "{w}");
        }
        assert!(warnings[1].contains("entry 2, 3"), "{}", warnings[1]);
        assert!(o.endpoint().is_none());
        assert_eq!(o.headers.0.len(), 1);
    }
}
