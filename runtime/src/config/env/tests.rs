//! Every pinned variable, good and bad: a bad value gives exactly one message naming the
//! variable and what is used instead, and never a panic.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use super::*;
use crate::config::{DEFAULT_API_ADDRESS, DEFAULT_FLUSH_TIMEOUT, Token};
use crate::model::wire::Repo;
use crate::platform::log::LogLevel;

fn parse_vars(vars: &[(&str, &str)]) -> (Config, Vec<String>) {
    let env: HashMap<&str, &str> = vars.iter().copied().collect();
    parse(&|name| env.get(name).map(|v| v.to_string()))
}

/// `var=value` alone must give one message that names `var` and mentions `fallback`.
#[track_caller]
fn one_warning(var: &str, value: &str, fallback: &str) -> Config {
    let (config, warnings) = parse_vars(&[(var, value)]);
    assert_eq!(warnings.len(), 1, "{var}={value:?}: {warnings:?}");
    let w = &warnings[0];
    assert!(w.contains(var), "`{w}` does not name {var}");
    assert!(
        w.contains(fallback),
        "`{w}` does not say it uses {fallback}"
    );
    config
}

#[test]
fn nothing_set_gives_the_defaults_and_no_messages() {
    let (c, warnings) = parse_vars(&[]);
    assert!(warnings.is_empty());
    assert!(c.token.is_none());
    assert_eq!(c.api_address, DEFAULT_API_ADDRESS);
    assert!(c.repo.is_none());
    assert!(c.enabled);
    assert!(c.events_file.is_none() && c.spool_dir.is_none());
    assert_eq!(c.flush_timeout, DEFAULT_FLUSH_TIMEOUT);
    assert_eq!(c.log_level, LogLevel::Warn);
    assert!(c.parent.is_none());
}

#[test]
fn every_pinned_variable_is_read() {
    let (c, warnings) = parse_vars(&[
        ("TRUNK_API_TOKEN", " tok-123 "),
        ("TRUNK_PUBLIC_API_ADDRESS", "https://api.example.com/"),
        ("TRUNK_REPO", "git@github.com:acme/app.git"),
        ("TRUNK_CI_ANALYTICS", "on"),
        ("TRUNK_EVENTS_FILE", "target/events.jsonl"),
        ("TRUNK_TRACE_FILE", "target/trace.json"),
        ("GITHUB_STEP_SUMMARY", "/home/runner/summary.md"),
        ("TRUNK_SPOOL_DIR", "/tmp/spool"),
        ("TRUNK_FLUSH_TIMEOUT_MS", "750"),
        ("TRUNK_CI_ANALYTICS_LOG", "DEBUG"),
        ("TRUNK_CHAIN_ID", "chain-1"),
        ("TRUNK_PARENT_EVENT_ID", "event-2"),
        ("TRUNK_PARENT_SEQUENCE_KEY", "xtask::ci"),
    ]);
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(c.token.as_ref().map(Token::expose), Some("tok-123"));
    assert_eq!(c.api_address, "https://api.example.com");
    assert_eq!(
        c.repo,
        Some(Repo {
            host: "github.com".into(),
            owner: "acme".into(),
            name: "app".into(),
        })
    );
    assert!(c.enabled);
    assert_eq!(c.events_file, Some(PathBuf::from("target/events.jsonl")));
    assert_eq!(c.trace_file, Some(PathBuf::from("target/trace.json")));
    assert_eq!(
        c.job_summary,
        Some(PathBuf::from("/home/runner/summary.md"))
    );
    assert_eq!(c.spool_dir, Some(PathBuf::from("/tmp/spool")));
    assert_eq!(c.flush_timeout, Duration::from_millis(750));
    assert_eq!(c.log_level, LogLevel::Debug);
    let parent = c.parent.expect("parent context");
    assert_eq!(
        (parent.chain_id(), parent.event_id(), parent.sequence_key()),
        ("chain-1".into(), "event-2".into(), "xtask::ci".into())
    );
}

#[test]
fn analytics_switch() {
    for off in ["off", "OFF", "0", "false", "no", "disabled", " off "] {
        let (c, warnings) = parse_vars(&[("TRUNK_CI_ANALYTICS", off)]);
        assert!(!c.enabled, "{off:?}");
        assert!(warnings.is_empty());
    }
    for on in ["on", "1", "true", "yes", "enabled", ""] {
        let (c, warnings) = parse_vars(&[("TRUNK_CI_ANALYTICS", on)]);
        assert!(c.enabled, "{on:?}");
        assert!(warnings.is_empty());
    }
    let c = one_warning("TRUNK_CI_ANALYTICS", "maybe", "analytics stays on");
    assert!(c.enabled);
}

#[test]
fn log_levels() {
    for (value, level) in [
        ("off", LogLevel::Off),
        ("error", LogLevel::Error),
        ("warn", LogLevel::Warn),
        ("info", LogLevel::Info),
        ("debug", LogLevel::Debug),
    ] {
        let (c, warnings) = parse_vars(&[("TRUNK_CI_ANALYTICS_LOG", value)]);
        assert_eq!(c.log_level, level);
        assert!(warnings.is_empty());
    }
    let c = one_warning("TRUNK_CI_ANALYTICS_LOG", "verbose", "using `warn`");
    assert_eq!(c.log_level, LogLevel::Warn);
}

#[test]
fn flush_timeout() {
    let (c, _) = parse_vars(&[("TRUNK_FLUSH_TIMEOUT_MS", "0")]);
    assert_eq!(c.flush_timeout, Duration::ZERO);
    for bad in ["soon", "1.5", "-5", "2s", "99999999999999999999999"] {
        let c = one_warning("TRUNK_FLUSH_TIMEOUT_MS", bad, "using 2000");
        assert_eq!(c.flush_timeout, DEFAULT_FLUSH_TIMEOUT, "{bad}");
    }
    // Large enough to overflow `Instant::now() + timeout` if taken as is.
    let c = one_warning(
        "TRUNK_FLUSH_TIMEOUT_MS",
        &u64::MAX.to_string(),
        "using 3600000",
    );
    assert_eq!(c.flush_timeout, Duration::from_secs(3600));
}

#[test]
fn api_address_must_be_https_or_loopback_http() {
    assert_eq!(
        check_api_address("https://api.trunk.io/").as_deref(),
        Ok("https://api.trunk.io")
    );
    for ok in [
        "http://127.0.0.1:8080",
        "http://[::1]:8080",
        "http://localhost",
        "HTTP://LOCALHOST:1",
        "http://127.0.0.2/base",
    ] {
        assert!(check_api_address(ok).is_ok(), "{ok}");
    }
    for bad in [
        "http://api.trunk.io",
        "http://10.0.0.1",
        "http://localhost.evil.com",
        "ftp://x",
        "api.trunk.io",
        "https://",
        "http://[::1",
    ] {
        assert!(check_api_address(bad).is_err(), "{bad}");
    }

    let c = one_warning(
        "TRUNK_PUBLIC_API_ADDRESS",
        "http://api.example.com",
        "using https://api.trunk.io",
    );
    assert_eq!(c.api_address, DEFAULT_API_ADDRESS);
    let (_, warnings) = parse_vars(&[("TRUNK_PUBLIC_API_ADDRESS", "http://api.example.com")]);
    assert!(warnings[0].contains("only sent over https"), "{warnings:?}");
    one_warning(
        "TRUNK_PUBLIC_API_ADDRESS",
        "api.trunk.io",
        "using https://api.trunk.io",
    );
}

#[test]
fn malformed_repo() {
    for bad in ["acme", "acme/app/extra", "https://github.com/acme"] {
        let c = one_warning("TRUNK_REPO", bad, "detecting the repository instead");
        assert!(c.repo.is_none());
    }
    let (_, warnings) = parse_vars(&[("TRUNK_REPO", "https://gitlab.com/acme/app")]);
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].contains("only github.com"), "{warnings:?}");
}

#[test]
fn partial_parent_context_is_named_and_ignored() {
    let all = [
        ("TRUNK_CHAIN_ID", "c"),
        ("TRUNK_PARENT_EVENT_ID", "e"),
        ("TRUNK_PARENT_SEQUENCE_KEY", "k"),
    ];
    for left_out in 0..all.len() {
        let vars: Vec<_> = (0..all.len())
            .filter(|i| *i != left_out)
            .map(|i| all[i])
            .collect();
        let missing = all[left_out].0;
        let c = one_warning_of(&vars, missing, "root events start a new chain");
        assert!(c.parent.is_none());
    }
    // Only one set: the other two are named.
    let (c, warnings) = parse_vars(&[("TRUNK_CHAIN_ID", "c")]);
    assert!(c.parent.is_none());
    assert_eq!(
        warnings,
        [
            "TRUNK_PARENT_EVENT_ID and TRUNK_PARENT_SEQUENCE_KEY are not set while the other \
          context variables are; root events start a new chain"
        ]
    );
    // A blank value counts as missing.
    let (c, warnings) = parse_vars(&[
        ("TRUNK_CHAIN_ID", "c"),
        ("TRUNK_PARENT_EVENT_ID", " "),
        ("TRUNK_PARENT_SEQUENCE_KEY", "k"),
    ]);
    assert!(c.parent.is_none());
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].starts_with("TRUNK_PARENT_EVENT_ID is not set"));
}

const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

#[test]
fn a_traceparent_alone_makes_root_events_children_of_that_span() {
    let (c, warnings) = parse_vars(&[("TRACEPARENT", &format!(" {TRACEPARENT} "))]);
    assert!(warnings.is_empty(), "{warnings:?}");
    let parent = c.parent.expect("joined the trace");
    assert_eq!(parent.chain_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(parent.event_id(), "00f067aa0ba902b7");
    assert_eq!(parent.sequence_key(), "traceparent");
    // Both sinks agree: the chain's trace id is the one joined, and a child process of the
    // joined span itself would be handed the same traceparent.
    assert_eq!(
        crate::model::id::otel::to_hex(&crate::model::id::otel::trace_id(&parent.chain_id())),
        "4bf92f3577b34da6a3ce929d0e0e4736"
    );
    assert_eq!(parent.traceparent(), TRACEPARENT);
}

#[test]
fn the_trunk_context_wins_over_a_traceparent() {
    let (c, warnings) = parse_vars(&[
        ("TRUNK_CHAIN_ID", "c"),
        ("TRUNK_PARENT_EVENT_ID", "e"),
        ("TRUNK_PARENT_SEQUENCE_KEY", "k"),
        ("TRACEPARENT", TRACEPARENT),
    ]);
    assert!(warnings.is_empty(), "{warnings:?}");
    let parent = c.parent.unwrap();
    assert_eq!(
        (parent.chain_id(), parent.event_id(), parent.sequence_key()),
        ("c".into(), "e".into(), "k".into())
    );
    // An incomplete Trunk context is not replaced by the traceparent: it is a mistake to
    // report, and the variables meant something else.
    let (c, warnings) = parse_vars(&[("TRUNK_CHAIN_ID", "c"), ("TRACEPARENT", TRACEPARENT)]);
    assert!(c.parent.is_none());
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("TRUNK_PARENT_EVENT_ID"));
}

#[test]
fn a_malformed_traceparent_is_named_and_ignored() {
    for bad in [
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        "trace me",
    ] {
        let c = one_warning("TRACEPARENT", bad, "root events start a new chain");
        assert!(c.parent.is_none(), "{bad}");
    }
    // Beside a Trunk context it changes nothing, but is still reported.
    let c = one_warning_of(
        &[
            ("TRUNK_CHAIN_ID", "c"),
            ("TRUNK_PARENT_EVENT_ID", "e"),
            ("TRUNK_PARENT_SEQUENCE_KEY", "k"),
            ("TRACEPARENT", "00-xyz"),
        ],
        "TRACEPARENT",
        "ignored",
    );
    assert_eq!(c.parent.map(|p| p.event_id()).as_deref(), Some("e"));
}

#[track_caller]
fn one_warning_of(vars: &[(&str, &str)], names: &str, fallback: &str) -> Config {
    let (config, warnings) = parse_vars(vars);
    assert_eq!(warnings.len(), 1, "{vars:?}: {warnings:?}");
    assert!(warnings[0].contains(names), "{warnings:?}");
    assert!(warnings[0].contains(fallback), "{warnings:?}");
    config
}

#[test]
fn several_bad_values_give_one_message_each() {
    let (_, warnings) = parse_vars(&[
        ("TRUNK_CI_ANALYTICS", "sometimes"),
        ("TRUNK_CI_ANALYTICS_LOG", "loud"),
        ("TRUNK_PUBLIC_API_ADDRESS", "http://example.com"),
        ("TRUNK_REPO", "nope"),
        ("TRUNK_FLUSH_TIMEOUT_MS", "later"),
        ("TRUNK_CHAIN_ID", "c"),
    ]);
    let named: Vec<&str> = warnings
        .iter()
        .map(|w| w.split([' ', ':', '=']).next().unwrap_or_default())
        .collect();
    assert_eq!(
        named,
        [
            "TRUNK_CI_ANALYTICS",
            "TRUNK_CI_ANALYTICS_LOG",
            "TRUNK_PUBLIC_API_ADDRESS",
            "TRUNK_REPO",
            "TRUNK_FLUSH_TIMEOUT_MS",
            "TRUNK_PARENT_EVENT_ID",
        ]
    );
}

#[test]
fn hostile_values_never_panic() {
    let names = [
        "TRUNK_API_TOKEN",
        "TRUNK_PUBLIC_API_ADDRESS",
        "TRUNK_REPO",
        "TRUNK_CI_ANALYTICS",
        "TRUNK_EVENTS_FILE",
        "TRUNK_TRACE_FILE",
        "GITHUB_STEP_SUMMARY",
        "TRUNK_SPOOL_DIR",
        "TRUNK_FLUSH_TIMEOUT_MS",
        "TRUNK_CI_ANALYTICS_LOG",
        "TRUNK_CHAIN_ID",
        "TRUNK_PARENT_EVENT_ID",
        "TRUNK_PARENT_SEQUENCE_KEY",
        "TRACEPARENT",
    ];
    let long = "x".repeat(100_000);
    let values = [
        "",
        " ",
        "\0",
        "💥",
        "://",
        "[",
        "http://[",
        "https://@",
        "@@:/",
        "a/b/c/d",
        "-0",
        "18446744073709551616",
        &long,
    ];
    for name in names {
        for value in values {
            let (_, warnings) = parse_vars(&[(name, value)]);
            for w in &warnings {
                assert!(
                    w.starts_with("TRUNK_") || w.starts_with("TRACEPARENT"),
                    "{name}={value:.20}: `{w:.80}`"
                );
            }
        }
    }
}

#[test]
fn the_token_never_shows_in_debug_output() {
    let secret = "trunk-secret-8c1f0e";
    let (config, _) = parse_vars(&[("TRUNK_API_TOKEN", secret)]);
    assert!(config.token.is_some());
    let debug = format!("{config:?}");
    assert!(!debug.contains(secret), "{debug}");
    assert!(debug.contains("redacted"), "{debug}");
    let pretty = format!("{config:#?}");
    assert!(!pretty.contains(secret));
    // Also when set in code.
    let config = Config::default().token(secret);
    assert!(config.has_token());
    assert!(!format!("{config:?}").contains(secret));
}
