//! The configuration section: every setting and where it came from, secrets as "set".

use std::path::Path;

use trunk_ci_analytics_runtime::diagnose::Settings;

use super::{Problems, row};
use trunk_ci_analytics_runtime::redact;

use crate::detected::show_repo;

pub(crate) fn show(settings: &Settings, problems: &mut Problems) {
    println!("Configuration");
    row(
        "analytics",
        if settings.enabled {
            "on"
        } else {
            "off (TRUNK_CI_ANALYTICS): nothing is recorded"
        },
    );
    row(
        "TRUNK_API_TOKEN",
        if settings.token_set {
            "set (value not shown): events are uploaded"
        } else {
            "not set: nothing is uploaded to trackEvents (local mode)"
        },
    );
    let address_from = if is_set("TRUNK_PUBLIC_API_ADDRESS") {
        "TRUNK_PUBLIC_API_ADDRESS"
    } else {
        "default"
    };
    row(
        "trackEvents endpoint",
        format!("{} ({address_from})", settings.track_events_url),
    );
    match &settings.repo {
        Some(repo) => row("TRUNK_REPO", show_repo(repo)),
        None => row("TRUNK_REPO", "not set (detected below)"),
    }
    match &settings.events_file {
        Some(path) => row("TRUNK_EVENTS_FILE", events_file(path, problems)),
        None => row("TRUNK_EVENTS_FILE", "not set"),
    }
    row("TRUNK_TRACE_FILE", set_or_not("TRUNK_TRACE_FILE"));
    row(
        "spool directory",
        format!(
            "{} ({})",
            settings.spool_root.display(),
            if settings.spool_root_is_default {
                "default"
            } else {
                "TRUNK_SPOOL_DIR"
            }
        ),
    );
    row(
        "flush timeout",
        format!("{} ms", settings.flush_timeout.as_millis()),
    );
    row(
        "log level",
        format!("{:?}", settings.log_level).to_lowercase(),
    );
    match &settings.parent {
        Some(ctx) => row(
            "parent context",
            format!(
                "event {} (key {}) of chain {}, from TRUNK_CHAIN_ID…",
                ctx.event_id(),
                ctx.sequence_key(),
                ctx.chain_id()
            ),
        ),
        None => row("parent context", "none: root events start a new chain"),
    }
    match settings.run_uploader {
        Some(pid) => row(
            "run's uploader",
            format!("process {pid} (TRUNK_UPLOADER): events are handed to it, which sends them"),
        ),
        None => row(
            "run's uploader",
            "none: events are sent by the process itself",
        ),
    }
    row("TRACEPARENT", set_or_not("TRACEPARENT"));
    otel(settings.otlp_traces_endpoint.as_ref());
}

/// The OpenTelemetry variables: endpoints shown (`row` leaves their credentials out), header
/// values never, nor what a malformed entry holds past its name.
fn otel(otlp_endpoint: Option<&String>) {
    for name in [
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    ] {
        if let Some(v) = var(name) {
            row(name, v);
        }
    }
    match otlp_endpoint {
        Some(url) => row("OTLP traces endpoint", url),
        None => row("OTLP traces endpoint", "none: no OpenTelemetry export"),
    }
    if let Some(headers) = var("OTEL_EXPORTER_OTLP_HEADERS") {
        let names: Vec<String> = headers
            .split(',')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, _)| redact::header_name(k.trim()).into_owned())
            .collect();
        row(
            "OTEL_EXPORTER_OTLP_HEADERS",
            format!("{} (values not shown)", names.join(", ")),
        );
    }
    for name in [
        "OTEL_EXPORTER_OTLP_PROTOCOL",
        "OTEL_SERVICE_NAME",
        "OTEL_SDK_DISABLED",
    ] {
        if let Some(v) = var(name) {
            row(name, v);
        }
    }
}

/// Whether events can be appended to `path`, checked without writing.
fn events_file(path: &Path, problems: &mut Problems) -> String {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => {
            problems.add(format!(
                "TRUNK_EVENTS_FILE {} is a directory",
                path.display()
            ));
            format!("{} (a directory!)", path.display())
        }
        Ok(meta) if meta.permissions().readonly() => {
            problems.add(format!("TRUNK_EVENTS_FILE {} is read-only", path.display()));
            format!("{} (read-only!)", path.display())
        }
        Ok(meta) => format!("{} ({} bytes so far)", path.display(), meta.len()),
        Err(_) => {
            let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
            if parent.is_some_and(|p| !p.is_dir()) {
                problems.add(format!(
                    "TRUNK_EVENTS_FILE {}: its directory does not exist",
                    path.display()
                ));
                format!("{} (its directory does not exist!)", path.display())
            } else {
                format!("{} (created by the first event)", path.display())
            }
        }
    }
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn is_set(name: &str) -> bool {
    var(name).is_some()
}

fn set_or_not(name: &str) -> &'static str {
    if is_set(name) { "set" } else { "not set" }
}
