//! `trunk-ci-analytics exec -- cargo …` as CI runs it, on a real workspace with real cargo
//! (`tests/fixtures/cargo_units`, built cold in a scratch copy): every unit, build-script
//! run and test binary recorded under the step with the critical path, checked against
//! cargo's own `--timings` report; what cargo prints unchanged; no rebuild either way; a
//! user's rustc wrapper and runner still run; failures and a cancel concluded right.

#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails by panicking

mod runs;
mod units;

use std::path::Path;
use std::time::{Duration, Instant};

use runs::{events, named, tag};
use serde_json::Value;
use trunk_ci_analytics_testkit::require;
use units::{cargo_part, compiling, normalized, run, run_ok, text, workspace};

/// The events of `kind` in `events`.
fn of_kind<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e["sequence"]["kind"] == kind)
        .collect()
}

/// The step (the root) of a run under `exec -- cargo`.
fn step(events: &[Value]) -> &Value {
    let roots: Vec<&Value> = events
        .iter()
        .filter(|e| e.get("parent").is_none())
        .collect();
    assert_eq!(roots.len(), 1, "{events:#?}");
    roots[0]
}

fn metric(event: &Value, key: &str) -> Option<f64> {
    event["payload"]["metrics"]
        .as_array()?
        .iter()
        .find(|m| m["k"] == key)?["v"]
        .as_f64()
}

fn ms(event: &Value) -> f64 {
    metric(event, "duration_ms").unwrap()
}

/// Every event but the step is the step's child, in its chain.
fn all_under(events: &[Value], step: &Value) {
    for e in events.iter().filter(|e| e["id"] != step["id"]) {
        assert_eq!(e["parent"]["eventId"], step["id"], "{e:#}");
        assert_eq!(e["parent"]["sequenceKey"], step["sequence"]["key"], "{e:#}");
        assert_eq!(e["chainId"], step["id"], "{e:#}");
    }
}

/// The one event of `kind` whose tags match.
fn one<'a>(events: &'a [Value], kind: &str, tags: &[(&str, &str)]) -> &'a Value {
    let found: Vec<&Value> = of_kind(events, kind)
        .into_iter()
        .filter(|e| tags.iter().all(|(k, v)| tag(e, k) == *v))
        .collect();
    assert_eq!(found.len(), 1, "{kind} {tags:?} in {events:#?}");
    found[0]
}

#[test]
fn every_unit_of_a_cold_build_matches_cargo_s_own_timings() {
    let ws = workspace("cargo-timings");
    let (target, file) = (ws.target("cold"), ws.dir().join("events.jsonl"));
    // The user asked for cargo's report; the recording runs beside it.
    let out = run_ok(&mut ws.exec(&["build", "--timings"], &target, &file));
    let events = events(&file);
    let step = step(&events);
    all_under(&events, step);
    let report = units::timings(&target);
    assert!(report.len() >= 6, "{report:#?}");

    // Each of cargo's units has its event, and no event is left over.
    let mut ours: Vec<&Value> = of_kind(&events, "compile");
    ours.extend(of_kind(&events, "build_script_run"));
    assert_eq!(ours.len(), report.len(), "{report:#?}\n{events:#?}");
    let first_cargo = report
        .iter()
        .map(|u| u["start"].as_f64().unwrap())
        .fold(f64::MAX, f64::min);
    let first_ours = ours
        .iter()
        .map(|e| e["createdAt"].as_f64().unwrap())
        .fold(f64::MAX, f64::min);
    for unit in &report {
        let name = unit["name"].as_str().unwrap();
        let target = unit["target"].as_str().unwrap();
        let event = if target.ends_with("(run)") {
            one(&events, "build_script_run", &[("crate", name)])
        } else {
            let kind = match target {
                "" if name == "units-derive" => "proc-macro",
                "" => "lib",
                " build-script" => "build-script",
                t if t.ends_with("\"bin\"") => "bin",
                t => panic!("a unit of a target this build should not have: {t:?}"),
            };
            one(&events, "compile", &[("crate", name), ("target", kind)])
        };
        assert_eq!(event["conclusion"], "SUCCESS");
        assert_eq!(tag(event, "version"), &unit["version"], "{event:#}");
        // Two clocks of one build: cargo's from when it started the job to when it heard
        // of its end (rounded to 10 ms), ours from when the helper started to when the
        // compiler exited. They agree within what process start-up takes on a busy machine.
        let (cargo_ms, our_ms) = (unit["duration"].as_f64().unwrap() * 1e3, ms(event));
        assert!(
            (cargo_ms - our_ms).abs() <= 250.0 + 0.25 * cargo_ms,
            "{name}{target}: cargo {cargo_ms} ms, ours {our_ms} ms"
        );
        let cargo_at = (unit["start"].as_f64().unwrap() - first_cargo) * 1e3;
        let our_at = event["createdAt"].as_f64().unwrap() - first_ours;
        assert!(
            (cargo_at - our_at).abs() <= 500.0,
            "{name}{target} starts {cargo_at} ms in for cargo, {our_at} ms for us"
        );
    }
    assert_eq!(tag(step, "exit_code"), 0);
    assert_eq!(
        metric(step, "compiled_units"),
        Some(of_kind(&events, "compile").len() as f64)
    );
    assert_eq!(metric(step, "fresh_units"), Some(0.0), "a cold build");
    assert_eq!(metric(step, "build_script_runs"), Some(1.0));

    // The critical path ends with the last unit, the bin, and runs through what it waited
    // for; its units are marked in order, and the step and the summary name it.
    let path_text = tag(step, "critical_path").as_str().unwrap().to_owned();
    assert!(path_text.ends_with("→ units-app (bin)"), "{path_text}");
    let mut on_path: Vec<&Value> = events
        .iter()
        .filter(|e| !tag(e, "critical_path_position").is_null())
        .collect();
    on_path.sort_by_key(|e| tag(e, "critical_path_position").as_u64());
    assert_eq!(on_path.len(), path_text.split(" → ").count(), "{path_text}");
    for pair in on_path.windows(2) {
        assert!(pair[0]["createdAt"].as_u64() <= pair[1]["createdAt"].as_u64());
    }
    assert!(metric(step, "critical_path_ms").unwrap() > 0.0);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("\n  critical path "), "{stderr}");
    assert!(stderr.contains(&format!(": {path_text}\n")), "{stderr}");
    assert!(stderr.contains("  slowest crates: "), "{stderr}");
    assert!(stderr.contains("compile ×"), "{stderr}");
}

#[test]
fn what_cargo_prints_is_unchanged() {
    let ws = workspace("cargo-output");
    let file = ws.dir().join("events.jsonl");
    let (plain_target, ours_target) = (ws.target("plain"), ws.target("ours"));
    // Each side's own target dir, which cargo names in its `Running` lines, made alike.
    let plain_text = |b: &[u8]| normalized(b, &plain_target);
    let ours_text = |b: &[u8]| normalized(b, &ours_target);
    let sorted = |mut lines: Vec<String>| {
        lines.sort();
        lines
    };
    for args in [
        &["build"][..],
        &["test", "--", "--test-threads=1"][..],
        &["bench"][..],
    ] {
        let plain = run_ok(&mut ws.cargo(args, &plain_target));
        let ours = run_ok(&mut ws.exec(args, &ours_target, &file));
        // Units compile in parallel, so `Compiling` lines come in any order; everything
        // else comes in cargo's order.
        assert_eq!(
            sorted(plain_text(&plain.stderr)),
            sorted(ours_text(&cargo_part(&ours.stderr))),
            "cargo {args:?}"
        );
        assert_eq!(
            plain_text(&plain.stdout),
            ours_text(&ours.stdout),
            "cargo {args:?}"
        );
        // Nothing to compile the second time: both in cargo's exact order.
        let plain = run_ok(&mut ws.cargo(args, &plain_target));
        let ours = run_ok(&mut ws.exec(args, &ours_target, &file));
        assert_eq!(
            plain_text(&plain.stderr),
            ours_text(&cargo_part(&ours.stderr)),
            "cargo {args:?}"
        );
        assert_eq!(
            plain_text(&plain.stdout),
            ours_text(&ours.stdout),
            "cargo {args:?}"
        );
    }
    assert!(
        !of_kind(&events(&file), "test_binary").is_empty(),
        "the runs were recorded"
    );
}

#[test]
fn turning_recording_on_or_off_rebuilds_nothing() {
    let ws = workspace("cargo-fresh");
    let file = ws.dir().join("events.jsonl");
    for (first_ours, name) in [(false, "off-then-on"), (true, "on-then-off")] {
        let target = ws.target(name);
        for (n, ours) in [first_ours, !first_ours, first_ours]
            .into_iter()
            .enumerate()
        {
            let _ = std::fs::remove_file(&file);
            let out = if ours {
                run_ok(&mut ws.exec(&["test", "--benches", "--tests"], &target, &file))
            } else {
                run_ok(&mut ws.cargo(&["test", "--benches", "--tests"], &target))
            };
            let compiled = compiling(&out.stderr);
            if n == 0 {
                assert!(compiled.len() >= 4, "{name}: a cold build: {compiled:?}");
                continue;
            }
            assert_eq!(
                compiled,
                Vec::<String>::new(),
                "{name}, run {n}: cargo rebuilt"
            );
            if ours {
                let events = events(&file);
                assert!(of_kind(&events, "compile").is_empty(), "{events:#?}");
                assert!(!of_kind(&events, "test_binary").is_empty());
                assert!(metric(step(&events), "fresh_units").unwrap() >= 3.0);
            }
        }
        // And cargo itself, asked, finds every unit fresh.
        let verbose =
            run_ok(&mut ws.cargo(&["test", "--benches", "--tests", "--no-run", "-v"], &target));
        let verbose = text(&verbose.stderr);
        let dirty: Vec<&str> = verbose
            .lines()
            .filter(|l| l.contains("Dirty") || l.contains("Compiling"))
            .collect();
        assert!(dirty.is_empty(), "{name}: {dirty:?}");
    }
}

#[test]
fn a_users_rustc_wrapper_and_runner_still_run_chained() {
    let ws = workspace("cargo-chained");
    let host = units::host();
    let tools = ws.root.join("tools");
    std::fs::create_dir_all(&tools).unwrap();
    let (wrapped, ran) = (ws.dir().join("wrapped.log"), ws.dir().join("ran.log"));
    // A fake sccache and a fake qemu: each notes what it ran, then runs it.
    let script = |name: &str, log: &Path| {
        let path = tools.join(name);
        std::fs::write(
            &path,
            format!(
                "#!/bin/sh\necho \"$*\" >> '{}'\nexec \"$@\"\n",
                log.display()
            ),
        )
        .unwrap();
        let mut perms = std::fs::metadata(&path).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
        std::fs::set_permissions(&path, perms).unwrap();
        path
    };
    let (sccache, runner) = (script("sccache", &wrapped), script("runner", &ran));
    let runner_var = format!(
        "CARGO_TARGET_{}_RUNNER",
        host.to_uppercase().replace(['-', '.'], "_")
    );

    for how in ["environment", "config file"] {
        let target = ws.target(&how.replace(' ', "-"));
        let file = ws.dir().join(format!("{how}.jsonl"));
        let seen = ws.dir().join(format!("{how}-env.txt"));
        for log in [&wrapped, &ran] {
            let _ = std::fs::remove_file(log);
        }
        let mut cmd = ws.exec(&["test"], &target, &file);
        cmd.env("UNITS_ENV_OUT", &seen);
        let config = ws.root.join(".cargo/config.toml");
        if how == "environment" {
            cmd.env("RUSTC_WRAPPER", &sccache).env(&runner_var, &runner);
        } else {
            // Relative to the directory holding `.cargo`, as cargo reads them.
            std::fs::create_dir_all(config.parent().unwrap()).unwrap();
            std::fs::write(
                &config,
                format!(
                    "[build]\nrustc-wrapper = \"tools/sccache\"\n\n[target.{host}]\nrunner = [\"tools/runner\"]\n"
                ),
            )
            .unwrap();
        }
        run_ok(&mut cmd);
        let events = events(&file);
        // The user's wrapper stays, the recording goes: nothing is rebuilt.
        let mut plain = ws.cargo(&["test", "--no-run"], &target);
        if how == "environment" {
            plain
                .env("RUSTC_WRAPPER", &sccache)
                .env(&runner_var, &runner);
        }
        let out = run_ok(&mut plain);
        assert_eq!(compiling(&out.stderr), Vec::<String>::new(), "{how}");
        let _ = std::fs::remove_file(&config);

        // Every unit went through the user's wrapper, and every test binary through their
        // runner.
        let wrapped_text = std::fs::read_to_string(&wrapped).unwrap();
        for unit in of_kind(&events, "compile") {
            let crate_name = tag(unit, "crate").as_str().unwrap().replace('-', "_");
            let name = match tag(unit, "target").as_str().unwrap() {
                "build-script" => "build_script_build".to_owned(),
                "test" | "bench" | "bin" => tag(unit, "target_name").as_str().unwrap().to_owned(),
                _ => crate_name,
            };
            assert!(
                wrapped_text.contains(&format!("--crate-name {name} ")),
                "{how}: {name} not through the wrapper:\n{wrapped_text}"
            );
        }
        let binaries: Vec<&Value> = of_kind(&events, "test_binary")
            .into_iter()
            .filter(|e| tag(e, "target") != "doctest")
            .collect();
        let ran_text = std::fs::read_to_string(&ran).unwrap();
        let ran_binaries = ran_text.lines().filter(|l| l.contains("/deps/")).count();
        assert_eq!(ran_binaries, binaries.len(), "{how}:\n{ran_text}");
        assert_eq!(binaries.len(), 5, "{how}: {binaries:#?}");
        // Cargo hands rustdoc the runner for doctests: theirs still gets them.
        assert!(ran_text.contains("rustdoctest"), "{how}:\n{ran_text}");
        // The code under test sees the user's settings, not ours.
        let env_seen = std::fs::read_to_string(&seen).unwrap();
        if how == "environment" {
            assert!(
                env_seen.contains(&format!("RUSTC_WRAPPER={}", sccache.display())),
                "{env_seen}"
            );
            assert!(
                env_seen.contains(&format!("{runner_var}={}", runner.display())),
                "{env_seen}"
            );
        } else {
            assert!(!env_seen.contains("RUSTC_WRAPPER="), "{env_seen}");
            assert!(!env_seen.contains(&runner_var), "{env_seen}");
        }
        assert!(!env_seen.contains("trunk-cargo-"), "{env_seen}");
        // libtest's counts, read on the way through.
        let smoke = events
            .iter()
            .find(|e| e["sequence"]["kind"] == "test_binary" && e["sequence"]["name"] == "smoke")
            .unwrap();
        assert_eq!(metric(smoke, "passed"), Some(3.0), "{smoke:#}");
        assert_eq!(metric(smoke, "failed"), Some(0.0));
        let doc = one(
            &events,
            "test_binary",
            &[("target", "doctest"), ("crate", "units-base")],
        );
        assert_eq!(metric(doc, "passed"), Some(1.0), "{doc:#}");
        let base = events
            .iter()
            .find(|e| {
                e["sequence"]["kind"] == "test_binary" && e["sequence"]["name"] == "units_base"
            })
            .unwrap();
        assert_eq!(metric(base, "ignored"), Some(1.0), "{base:#}");
    }
}

#[test]
fn a_failing_compile_and_a_failing_test_binary_fail_under_their_step() {
    let ws = workspace("cargo-failing");
    let (target, file) = (ws.target("t"), ws.dir().join("compile.jsonl"));
    let out = run(&mut ws.exec(&["build", "--features", "units-app/broken"], &target, &file));
    assert_eq!(out.status.code(), Some(101), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("units-app is broken on purpose"));
    let compiled = events(&file);
    let build = step(&compiled);
    all_under(&compiled, build);
    assert_eq!(build["conclusion"], "FAILURE");
    let bin = one(
        &compiled,
        "compile",
        &[("crate", "units-app"), ("target", "bin")],
    );
    assert_eq!(bin["conclusion"], "FAILURE");
    let lib = one(&compiled, "compile", &[("crate", "units-base")]);
    assert_eq!(lib["conclusion"], "SUCCESS");

    let file = ws.dir().join("test.jsonl");
    let mut cmd = ws.exec(&["test", "--test", "smoke"], &target, &file);
    let out = run(cmd.env("UNITS_FAIL", "1"));
    assert_eq!(out.status.code(), Some(101), "{}", text(&out.stderr));
    let events = events(&file);
    let step = step(&events);
    all_under(&events, step);
    assert_eq!(step["conclusion"], "FAILURE");
    let smoke = named(&events, "smoke");
    assert_eq!(smoke["sequence"]["kind"], "test_binary");
    assert_eq!(smoke["conclusion"], "FAILURE");
    assert_eq!(tag(smoke, "crate"), "units-app");
    assert_eq!(tag(smoke, "target"), "test");
    assert_eq!(metric(smoke, "failed"), Some(1.0), "{smoke:#}");
    assert_eq!(metric(smoke, "passed"), Some(2.0), "{smoke:#}");
}

#[test]
fn sigterm_to_exec_cancels_the_step_and_the_unit_being_compiled() {
    let ws = workspace("cargo-cancel");
    let (target, file) = (ws.target("t"), ws.dir().join("events.jsonl"));
    let marker = ws.dir().join("expanding");
    let mut cmd = ws.exec(&["build"], &target, &file);
    // The derive units-app uses hangs once it has written the marker: units-app is then
    // being compiled.
    let child = units::start(cmd.env("UNITS_SLOW_DERIVE", &marker));
    let until = Instant::now() + units::LIMIT;
    while !marker.exists() {
        assert!(Instant::now() < until, "the derive never ran");
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = i32::try_from(child.id()).unwrap();
    // SAFETY: kill has no memory-safety preconditions; `pid` is our unreaped child.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let out = units::finish(child);
    assert_eq!(
        out.status.code(),
        Some(128 + libc::SIGTERM),
        "{}",
        text(&out.stderr)
    );
    let events = events(&file);
    let step = step(&events);
    all_under(&events, step);
    assert_eq!(step["conclusion"], "CANCELLED");
    let app = one(
        &events,
        "compile",
        &[("crate", "units-app"), ("target", "bin")],
    );
    assert_eq!(app["conclusion"], "CANCELLED", "{app:#}");
    let derive = one(&events, "compile", &[("crate", "units-derive")]);
    assert_eq!(derive["conclusion"], "SUCCESS");
    assert!(app["finishedAt"].as_u64() <= step["finishedAt"].as_u64());
}

#[test]
fn nextest_runs_are_recorded_test_by_test() {
    let ws = workspace("cargo-nextest");
    let probe = run(&mut ws.cargo(&["nextest", "--version"], &ws.target("probe")));
    if !require("cargo-nextest", probe.status.success()) {
        return;
    }
    let (target, file) = (ws.target("t"), ws.dir().join("events.jsonl"));
    run_ok(&mut ws.exec(&["nextest", "run", "--no-fail-fast"], &target, &file));
    let events = events(&file);
    let step = step(&events);
    all_under(&events, step);
    assert_eq!(step["conclusion"], "SUCCESS");
    // One process per test, each a test_binary event naming its test.
    let runs: Vec<&Value> = of_kind(&events, "test_binary")
        .into_iter()
        .filter(|e| !tag(e, "test").is_null())
        .collect();
    let tests: Vec<&str> = runs
        .iter()
        .map(|e| tag(e, "test").as_str().unwrap())
        .collect();
    for test in ["answers", "fails_on_demand", "tests::adds"] {
        assert!(tests.contains(&test), "{test} in {tests:?}");
    }
    for run in &runs {
        assert_eq!(run["conclusion"], "SUCCESS");
        assert_eq!(metric(run, "passed"), Some(1.0), "{run:#}");
    }
    assert!(!of_kind(&events, "compile").is_empty());
}

#[test]
fn no_cargo_records_the_step_alone() {
    let ws = workspace("cargo-off");
    let (target, file) = (ws.target("t"), ws.dir().join("events.jsonl"));
    let out = run_ok(&mut ws.exec_with(&["--no-cargo"], &["build"], &target, &file));
    assert!(compiling(&out.stderr).len() >= 4, "{}", text(&out.stderr));
    let events = events(&file);
    assert_eq!(events.len(), 1, "the step alone: {events:#?}");
    assert_eq!(metric(&events[0], "compiled_units"), None);
}
