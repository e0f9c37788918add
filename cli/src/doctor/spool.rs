//! The spool section: partitions with what waits in them, and the breaker of the endpoint.

use std::time::SystemTime;

use trunk_ci_analytics_runtime::diagnose::{self, BreakerState, Settings};
use trunk_ci_analytics_runtime::wire::Repo;

use super::{Problems, row};

pub(crate) fn show(settings: &Settings, repo: Option<&Repo>, problems: &mut Problems) {
    let spool = diagnose::spool(settings, repo);
    println!("\nSpool {}", spool.root.display());
    if !spool.exists {
        row("state", "not created yet (made at the first upload)");
    }
    for p in &spool.partitions {
        let mut text = format!("{} event(s) waiting in {} file(s)", p.events, p.files);
        if p.claimed > 0 {
            text.push_str(&format!(", {} being sent", p.claimed));
        }
        if p.current {
            text.push_str(" (used by this configuration)");
        }
        row(&p.name, text);
    }
    if spool.exists && spool.partitions.is_empty() {
        row("state", "empty");
    }
    let now = SystemTime::now();
    show_breaker("breaker", spool.breaker.as_ref(), now);
    if settings.otlp_traces_endpoint.is_some() {
        show_breaker("otlp breaker", spool.otlp_breaker.as_ref(), now);
    }
    let waiting: usize = spool.partitions.iter().map(|p| p.events).sum();
    let remote = settings.token_set || settings.otlp_traces_endpoint.is_some();
    if settings.enabled && !remote && waiting > 0 {
        problems.add(format!(
            "{waiting} event(s) wait in the spool but TRUNK_API_TOKEN is not set: they cannot be \
             uploaded"
        ));
    }
}

fn show_breaker(label: &str, breaker: Option<&BreakerState>, now: SystemTime) {
    match breaker {
        Some(b) if b.is_open(now) => {
            let left = b.open_until.duration_since(now).unwrap_or_default();
            row(
                label,
                format!(
                    "open for {} more s: nothing is sent to this endpoint ({})",
                    left.as_secs() + 1,
                    b.reason
                ),
            );
        }
        Some(_) => row(label, "closed (the last pause ended)"),
        None => row(label, "closed"),
    }
}
