//! `doctor`: what is configured, what was detected, what waits in the spool, and whether
//! the endpoint answers — then each problem that keeps analytics from working, with exit
//! status 1 if there is any. Read-only, apart from one request to the endpoint; secrets
//! (the token, OTLP header values, credentials in URLs) are never printed.

mod config;
mod spool;

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use trunk_ci_analytics_runtime::Config;
use trunk_ci_analytics_runtime::diagnose;

use trunk_ci_analytics_runtime::redact;

use crate::detected::{self, show_repo};
use crate::duration::parse_duration;

#[derive(Debug, Args)]
pub(crate) struct DoctorArgs {
    /// How long to wait for the endpoint's answer.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "3s")]
    timeout: Duration,
    /// Do not contact the endpoint.
    #[arg(long)]
    offline: bool,
}

/// Problems found so far: each keeps something from working.
#[derive(Default)]
pub(crate) struct Problems(Vec<String>);

impl Problems {
    pub(crate) fn add(&mut self, problem: impl Into<String>) {
        self.0.push(problem.into());
    }
}

/// One line of a section: a label and its value, aligned; credentials in a URL it quotes
/// (a setting, an error text) are left out.
pub(crate) fn row(label: &str, value: impl std::fmt::Display) {
    println!("  {label:<24} {}", redact::text(&value.to_string()));
}

pub(crate) fn run(args: &DoctorArgs) -> ExitCode {
    let mut problems = Problems::default();
    let (config, warnings) = Config::from_vars(|name| std::env::var(name).ok());
    for w in warnings {
        problems.add(w);
    }
    let settings = diagnose::settings(&config);
    config::show(&settings, &mut problems);

    println!("\nDetected");
    let (found, detection_problems) = detected::here();
    row("platform", &found.platform);
    let repo = detected::repo(&settings, &found);
    let origin = if settings.repo.is_some() {
        "from TRUNK_REPO"
    } else {
        "from the environment or git"
    };
    match &repo {
        Some(r) => row("repository", format!("{} ({origin})", show_repo(r))),
        None => row("repository", "none found"),
    }
    for (key, value) in &found.tags {
        if ["branch", "sha", "runner", "run_url"].contains(&key.as_str()) {
            row(key, value_text(value));
        }
    }
    if settings.token_set && repo.is_none() {
        problems.add(
            "no repository to upload events for: set TRUNK_REPO=owner/name (or run in a git \
             checkout whose origin is on github.com)",
        );
        for p in detection_problems {
            problems.add(p);
        }
    }

    spool::show(&settings, repo.as_ref(), &mut problems);

    println!("\nEndpoints");
    let asked = if !settings.enabled || args.offline {
        Vec::new()
    } else {
        diagnose::probe(&config, repo.as_ref(), args.timeout)
    };
    if !settings.enabled {
        row("trackEvents", "not asked: analytics is off");
    } else if !settings.token_set {
        row("trackEvents", "not asked: no TRUNK_API_TOKEN (local mode)");
    } else if args.offline {
        row("trackEvents", "not asked (--offline)");
    } else if repo.is_none() {
        row(
            "trackEvents",
            "not asked: no repository to put in the request",
        );
    }
    if args.offline && settings.otlp_traces_endpoint.is_some() {
        row("otlp", "not asked (--offline)");
    }
    for endpoint in &asked {
        let request = match endpoint.sink {
            "trackEvents" => "POST with no events",
            _ => "POST of an empty export request",
        };
        row(
            endpoint.sink,
            format!(
                "{} {request}: {endpoint} ({} ms)",
                endpoint.url,
                endpoint.took.as_millis()
            ),
        );
        if !endpoint.answer.works() {
            problems.add(format!("the {} endpoint: {endpoint}", endpoint.sink));
        }
    }

    println!();
    if problems.0.is_empty() {
        println!("No problems found.");
        return ExitCode::SUCCESS;
    }
    println!("{} problem(s):", problems.0.len());
    for p in &problems.0 {
        println!("  - {}", redact::text(p));
    }
    ExitCode::FAILURE
}

fn value_text(value: &trunk_ci_analytics_runtime::wire::TagValue) -> String {
    serde_json::to_value(value)
        .map(|v| match v {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        })
        .unwrap_or_default()
}
