//! A tracked step in this process runs `cargo build` of the fixture with its context handed
//! on, as an xtask does: the build scripts hand their events to this process, the run's
//! uploader, which delivers them as children of the step; a new context does not make cargo
//! run them again; the two crates' same-named functions keep apart.
//!
//! These are the only tests that track events in the test process itself: it uploads to a
//! server of its own, for itself and the build scripts its steps start.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Output;
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;
use trunk_ci_analytics::{
    CommandExt, Config, EventContext, InitGuard, current_context, track_event,
};
use trunk_ci_analytics_testserver::TestServer;

use crate::fixture::{Fixture, fixture};
use crate::harness::{self, COLD_BUILD_LIMIT};
use crate::support::{Events, conclusion, key, parent_id, tag_of};

const CRATES: [&str; 2] = ["fixture-alpha", "fixture-beta"];
const FUNCTIONS: [&str; 3] = ["main", "generate", "probe_compiler"];

struct Here {
    server: TestServer,
    spool: PathBuf,
    _guard: InitGuard,
}

/// This process's analytics, uploading to its own server. Call it before any tracked
/// function: the first event sets analytics up from the environment otherwise.
fn here() -> &'static Here {
    static HERE: OnceLock<Here> = OnceLock::new();
    HERE.get_or_init(|| {
        let server = TestServer::start();
        let spool = trunk_ci_analytics_testkit::process_scratch("e2e-here-spool");
        let (owner, name) = harness::REPO.split_once('/').unwrap();
        let config = Config::default()
            .token(server.token())
            .api_address(server.url())
            .repo(owner, name)
            .spool_dir(&spool)
            .flush_timeout(Duration::from_secs(10))
            .summary(false)
            .parent(None);
        let guard = trunk_ci_analytics::init(config);
        Here {
            server,
            spool,
            _guard: guard,
        }
    })
}

/// One `cargo build` under a tracked step.
struct StepRun {
    step: EventContext,
    out: Output,
    /// The server's events of the step's chain once what the build scripts handed over
    /// (before cargo returned) was delivered.
    delivered: Events,
}

#[track_event(kind = "step")]
fn cargo_step(here: &Here, fixture: &Fixture, args: &[&str]) -> StepRun {
    let step = current_context().expect("inside the step's event");
    let mut cargo = fixture.cargo(args);
    harness::upload_to(&mut cargo, &here.server, &here.spool).env("TRUNK_REPO", harness::REPO);
    let out = harness::run(cargo.with_event_context(), COLD_BUILD_LIMIT);
    // What the build scripts handed over waits in this process's spool (it lists it every
    // half second anyway): sent now, as an xtask that wants it delivered before going on.
    let report = trunk_ci_analytics::flush_spool(Duration::from_secs(10));
    assert!(!report.timed_out, "flush_spool: {report}");
    let delivered = chain_of(&here.server, &step.chain_id());
    assert!(
        out.status.success(),
        "cargo {args:?} failed:\n{}",
        harness::stderr(&out)
    );
    StepRun {
        step,
        out,
        delivered,
    }
}

/// The finished events of `chain` the server has (the step running cargo may also have
/// sent its started event by then).
fn chain_of(server: &TestServer, chain: &str) -> Events {
    Events::finished(
        server
            .events()
            .into_iter()
            .filter(|e| e["chainId"] == chain)
            .collect(),
    )
}

/// Ends the steps still queued in this process: delivered, nothing left behind.
fn flush_here() {
    let report = trunk_ci_analytics::flush(Duration::from_secs(10));
    assert!(report.is_complete(), "flush: {report}");
}

/// One build of the fixture after cleaning its crates, under a tracked step: both build
/// scripts run once. Shared by the tests that read what they sent.
fn fresh_build() -> &'static StepRun {
    static FRESH: OnceLock<StepRun> = OnceLock::new();
    FRESH.get_or_init(|| {
        let here = here();
        let fixture = fixture();
        fixture.rerun_build_scripts();
        cargo_step(here, &fixture, &["build", "--workspace"])
    })
}

fn by_key<'e>(events: &'e Events, key: &str) -> &'e Value {
    let found: Vec<_> = events.0.iter().filter(|e| self::key(e) == key).collect();
    match found.as_slice() {
        [e] => e,
        _ => panic!(
            "expected one event with key {key}, found {}: {:#?}",
            found.len(),
            events.0
        ),
    }
}

fn build_script_key(krate: &str, function: &str) -> String {
    format!("{krate}::build_script_build::{function}")
}

#[test]
fn build_scripts_report_through_the_process_whose_step_ran_cargo() {
    let build = fresh_build();
    let (step, events) = (&build.step, &build.delivered);
    assert_eq!(
        events.len(),
        CRATES.len() * FUNCTIONS.len(),
        "every build script event, and nothing else, arrived through this process: {:?}",
        events.names()
    );
    for krate in CRATES {
        let main = by_key(events, &build_script_key(krate, "main"));
        assert_eq!(parent_id(main), Some(step.event_id().as_str()), "{main:#}");
        assert_eq!(
            main["parent"]["sequenceKey"],
            step.sequence_key(),
            "{main:#}"
        );
        assert_eq!(main["chainId"], step.chain_id(), "{main:#}");
        assert_eq!(conclusion(main), "SUCCESS");
        for helper in ["generate", "probe_compiler"] {
            let e = by_key(events, &build_script_key(krate, helper));
            assert_eq!(
                parent_id(e),
                main["id"].as_str(),
                "{helper} under main: {e:#}"
            );
            assert_eq!(e["parent"]["sequenceKey"], main["sequence"]["key"]);
            assert_eq!(e["chainId"], step.chain_id());
            assert_eq!(conclusion(e), "SUCCESS", "{e:#}");
        }
    }

    // The step itself, the root of the chain, follows when this process flushes.
    flush_here();
    let server = &here().server;
    let chain = chain_of(server, &step.chain_id());
    let root = by_key(&chain, &step.sequence_key());
    assert_eq!(root["id"], step.event_id());
    assert_eq!(
        root["chainId"],
        step.event_id(),
        "the step is the chain's root"
    );
    assert!(root.get("parent").is_none(), "{root:#}");
    assert!(
        server.duplicate_ids().is_empty(),
        "{:?}",
        server.duplicate_ids()
    );
}

#[test]
fn same_named_build_script_functions_get_distinct_keys_per_crate() {
    let events = &fresh_build().delivered;
    let keys: BTreeSet<&str> = events.0.iter().map(key).collect();
    let expected: BTreeSet<String> = CRATES
        .iter()
        .flat_map(|c| FUNCTIONS.map(|f| build_script_key(c, f)))
        .collect();
    assert_eq!(
        keys,
        expected.iter().map(String::as_str).collect(),
        "one key per crate and function"
    );
    for function in FUNCTIONS {
        assert_eq!(
            events.all(function).len(),
            CRATES.len(),
            "{function} in each crate"
        );
    }
    // Each key names the crate the event came from.
    for (krate, short) in [("fixture-alpha", "alpha"), ("fixture-beta", "beta")] {
        let generate = by_key(events, &build_script_key(krate, "generate"));
        assert_eq!(tag_of(generate, "crate_name"), Some(&Value::from(short)));
    }
}

#[test]
fn a_new_context_does_not_make_cargo_rerun_build_scripts() {
    let here = here();
    let fixture = fixture();
    // Built under one step (running the build scripts or not), then under another: the
    // handed-on variables all differ.
    let first = cargo_step(here, &fixture, &["build", "--workspace"]);
    let second = cargo_step(here, &fixture, &["build", "--workspace", "--verbose"]);
    for var in ["TRUNK_CHAIN_ID", "TRUNK_PARENT_EVENT_ID", "TRACEPARENT"] {
        let value = |ctx: &EventContext| ctx.env_vars().into_iter().find(|(n, _)| *n == var);
        assert_ne!(value(&first.step), value(&second.step), "{var}");
    }

    let log = harness::stderr(&second.out);
    for krate in CRATES {
        assert!(
            log.lines()
                .any(|l| l.trim_start().starts_with(&format!("Fresh {krate} "))),
            "cargo saw {krate} as fresh:\n{log}"
        );
    }
    assert!(
        !log.contains("build-script-build`") && !log.contains("Dirty"),
        "nothing rebuilt or rerun:\n{log}"
    );
    assert_eq!(
        second.delivered.len(),
        0,
        "no build script reported: {:?}",
        second.delivered.names()
    );

    // Nothing trickles in later either: once the step has arrived, its chain holds it alone.
    flush_here();
    let chain = chain_of(&here.server, &second.step.chain_id());
    assert_eq!(chain.len(), 1, "{:?}", chain.names());
}
