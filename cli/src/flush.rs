//! `flush`: sends what waits in the spool now and says what became of it. For a final CI
//! step (`if: always()`) after steps whose uploads failed or timed out.
//!
//! Exit status 1 only for a configuration problem that keeps events from ever being
//! delivered (no token while events wait, no repository, the token or address refused);
//! an endpoint that is down right now is not one: the events stay for a later run.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use trunk_ci_analytics_runtime::diagnose::{self, Partition, SpoolState};
use trunk_ci_analytics_runtime::{Config, flush_spool, init};

use trunk_ci_analytics_runtime::redact;

use crate::detected::{self, show_repo};
use crate::duration::parse_duration;

#[derive(Debug, Args)]
pub(crate) struct FlushArgs {
    /// The longest time to spend sending.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "30s")]
    timeout: Duration,
}

pub(crate) fn run(args: &FlushArgs) -> ExitCode {
    let (config, warnings) = Config::from_vars(|name| std::env::var(name).ok());
    for w in warnings {
        eprintln!("trunk-ci-analytics flush: {}", redact::text(&w));
    }
    let settings = diagnose::settings(&config);
    if !settings.enabled {
        println!("analytics is off (TRUNK_CI_ANALYTICS): nothing sent");
        return ExitCode::SUCCESS;
    }
    let (found, _) = detected::here();
    let repo = detected::repo(&settings, &found);
    let before = diagnose::spool(&settings, repo.as_ref());
    let all_waiting: usize = before.partitions.iter().map(|p| p.events).sum();
    if !settings.token_set && settings.otlp_traces_endpoint.is_none() {
        if all_waiting == 0 {
            println!(
                "nothing waits in the spool {} (no TRUNK_API_TOKEN: local mode)",
                before.root.display()
            );
            return ExitCode::SUCCESS;
        }
        eprintln!(
            "trunk-ci-analytics flush: {all_waiting} event(s) wait in the spool {}, but \
             TRUNK_API_TOKEN is not set: nothing can be uploaded",
            before.root.display()
        );
        return ExitCode::FAILURE;
    }
    let repo = match repo {
        Some(repo) => Some(repo),
        None if !settings.token_set => None,
        None => {
            eprintln!(
                "trunk-ci-analytics flush: no repository to upload for: set \
                 TRUNK_REPO=owner/name (or run in a git checkout whose origin is on github.com)"
            );
            return ExitCode::FAILURE;
        }
    };
    let waiting: usize = current(&before).map(|p| p.events).sum();
    let mut sinks = Vec::new();
    if let Some(repo) = &repo {
        sinks.push(format!(
            "{} to {}",
            show_repo(repo),
            redact::text(&settings.track_events_url)
        ));
    }
    if let Some(url) = &settings.otlp_traces_endpoint {
        sinks.push(format!("spans to {}", redact::text(url)));
    }
    println!(
        "sending the spooled events of {} ({waiting} waiting)",
        sinks.join(" and ")
    );
    // The explicit configuration, so that nothing but this flush prints. The guard's own
    // flush at drop would replay once more after this one: it is not kept.
    std::mem::forget(init(config.summary(false).use_run_uploader(false)));
    let report = flush_spool(args.timeout);
    let after = diagnose::spool(&settings, repo.as_ref());
    let left: usize = current(&after).map(|p| p.events).sum();
    println!("  delivered: {}", report.replayed + report.delivered);
    println!("  still in the spool: {left}");
    println!(
        "  rejected: {}, dropped: {}",
        report.rejected, report.dropped
    );
    if report.per_sink.len() > 1 {
        println!("  by sink: {report}");
    }
    let now = std::time::SystemTime::now();
    let paused = [&after.breaker, &after.otlp_breaker]
        .into_iter()
        .flatten()
        .find(|b| b.is_open(now));
    if let Some(b) = paused {
        println!(
            "  not sent: another process found the endpoint unreachable ({}); it is tried \
             again when that pause ends",
            redact::text(&b.reason)
        );
    } else if report.timed_out && left > 0 {
        println!("  the time ran out (--timeout); the rest waits for a later run");
    }
    match report.upload_stopped {
        Some(_) => {
            // The runtime said why on stderr already.
            eprintln!(
                "trunk-ci-analytics flush: uploading stopped; the events stay in the spool {}",
                after.root.display()
            );
            ExitCode::FAILURE
        }
        None => ExitCode::SUCCESS,
    }
}

/// The partitions this configuration replays.
fn current(spool: &SpoolState) -> impl Iterator<Item = &Partition> {
    spool.partitions.iter().filter(|p| p.current)
}
