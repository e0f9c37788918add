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

use crate::detected::{self, redact_url, show_repo};
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
        eprintln!("trunk-ci-analytics flush: {w}");
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
    if !settings.token_set {
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
    let Some(repo) = repo else {
        eprintln!(
            "trunk-ci-analytics flush: no repository to upload for: set TRUNK_REPO=owner/name \
             (or run in a git checkout whose origin is on github.com)"
        );
        return ExitCode::FAILURE;
    };
    let waiting = current(&before).map_or(0, |p| p.events);
    println!(
        "sending the spooled events of {} to {} ({waiting} waiting)",
        show_repo(&repo),
        redact_url(&settings.track_events_url)
    );
    // The explicit configuration, so that nothing but this flush prints. The guard's own
    // flush at drop would replay once more after this one: it is not kept.
    std::mem::forget(init(config.summary(false)));
    let report = flush_spool(args.timeout);
    let after = diagnose::spool(&settings, Some(&repo));
    let left = current(&after).map_or(0, |p| p.events);
    println!("  delivered: {}", report.replayed + report.delivered);
    println!("  still in the spool: {left}");
    println!(
        "  rejected by the API: {}, dropped: {}",
        report.rejected, report.dropped
    );
    if let Some(b) = after
        .breaker
        .filter(|b| b.is_open(std::time::SystemTime::now()))
    {
        println!(
            "  not sent: another process found the endpoint unreachable ({}); it is tried \
             again when that pause ends",
            b.reason
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

fn current(spool: &SpoolState) -> Option<&Partition> {
    spool.partitions.iter().find(|p| p.current)
}
