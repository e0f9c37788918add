#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use super::*;
use crate::api::cargo::message::now_ns;

fn start(id: u64, role: Role, at_ns: u64, args: &[&str], env: &[(&str, &str)]) -> String {
    let line = Line::Start {
        id,
        role,
        at_ns,
        args: args.iter().map(|a| (*a).to_owned()).collect(),
        env: env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect::<BTreeMap<_, _>>(),
    };
    String::from_utf8(line.to_bytes()).unwrap()
}

fn end(id: u64, at_ns: u64, code: i32, tests: Option<TestCounts>) -> String {
    let line = Line::End {
        id,
        at_ns,
        code: Some(code),
        signal: None,
        tests,
    };
    String::from_utf8(line.to_bytes()).unwrap()
}

fn rustc(name: &str, out: &str, hash: &str, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "/rust/bin/rustc",
        "--crate-name",
        name,
        "--edition=2024",
        "src/lib.rs",
        "-C",
        "metadata=ffff",
        "-C",
        &format!("extra-filename=-{hash}"),
        "--out-dir",
        out,
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    args
}

#[test]
fn units_tests_and_doctests_are_read_with_their_targets_and_edges() {
    let t0 = now_ns();
    let ms = 1_000_000;
    let base = rustc("base", "/t/debug/deps", "aaaa", &["--crate-type", "lib"]);
    let app = rustc(
        "app",
        "/t/debug/deps",
        "bbbb",
        &[
            "--crate-type",
            "bin",
            "--extern",
            "base=/t/debug/deps/libbase-aaaa.rlib",
            "--extern",
            "serde=/t/debug/deps/libserde-cccc.rmeta",
            "--extern",
            "proc_macro",
        ],
    );
    let app_test = rustc("app", "/t/debug/deps", "dddd", &["--test"]);
    let script = rustc(
        "build_script_build",
        "/t/debug/build/app-eeee",
        "eeee",
        &["--crate-type", "bin"],
    );
    let derive = rustc(
        "derive",
        "/t/debug/deps",
        "ffff",
        &["--crate-type", "proc-macro"],
    );
    fn s(v: &[String]) -> Vec<&str> {
        v.iter().map(String::as_str).collect()
    }
    let log = [
        start(
            1,
            Role::Rustc,
            t0,
            &s(&base),
            &[("CARGO_PKG_NAME", "base"), ("CARGO_PKG_VERSION", "1.0.0")],
        ),
        start(
            2,
            Role::Rustc,
            t0 + ms,
            &s(&script),
            &[("CARGO_PKG_NAME", "app")],
        ),
        end(1, t0 + 5 * ms, 0, None),
        end(2, t0 + 6 * ms, 0, None),
        start(
            3,
            Role::Rustc,
            t0 + 7 * ms,
            &s(&app),
            &[
                ("CARGO_PKG_NAME", "app"),
                ("OUT_DIR", "/t/debug/build/app-9999/out"),
            ],
        ),
        start(
            4,
            Role::Rustc,
            t0 + 7 * ms,
            &s(&app_test),
            &[("CARGO_PKG_NAME", "app")],
        ),
        start(
            5,
            Role::Rustc,
            t0 + 7 * ms,
            &s(&derive),
            &[("CARGO_PKG_NAME", "derive")],
        ),
        end(3, t0 + 9 * ms, 1, None),
        end(4, t0 + 9 * ms, 0, None),
        "{\"not\": \"a line we know\"}\n".to_owned(),
        start(
            6,
            Role::Runner,
            t0 + 10 * ms,
            &["/t/debug/deps/app-dddd", "--exact", "it_works"],
            &[("CARGO_PKG_NAME", "app")],
        ),
        end(
            6,
            t0 + 11 * ms,
            101,
            Some(TestCounts {
                passed: 1,
                failed: 1,
                ignored: 2,
            }),
        ),
        start(
            7,
            Role::Rustdoc,
            t0 + 12 * ms,
            &["--test", "src/lib.rs", "--crate-name", "base"],
            &[("CARGO_PKG_NAME", "base")],
        ),
        end(7, t0 + 13 * ms, 0, None),
    ]
    .concat();
    let work = read(&log, time_of(t0), "test", false);
    let by = |name: &str, target: &str| {
        work.compiles
            .iter()
            .find(|c| c.crate_name == name && c.target == target)
            .unwrap_or_else(|| panic!("{name} {target}: {:#?}", work.compiles))
    };
    let b = by("base", "lib");
    assert_eq!((b.package.as_str(), b.version.as_str()), ("base", "1.0.0"));
    assert_eq!(b.profile, "test");
    assert_eq!(b.hash.as_deref(), Some("aaaa"));
    assert_eq!(b.ended.unwrap().conclusion(), Conclusion::Success);
    assert_eq!(
        b.ended.unwrap().at.duration_since(b.start).unwrap(),
        Duration::from_millis(5)
    );
    let a = by("app", "bin");
    assert_eq!(a.deps, ["aaaa", "cccc"]);
    assert_eq!(a.ended.unwrap().conclusion(), Conclusion::Failure);
    assert_eq!(
        a.script_out.as_deref(),
        Some(Path::new("/t/debug/build/app-9999/out"))
    );
    assert_eq!(by("app", "test").target, "test");
    assert_eq!(by("build_script_build", "build-script").package, "app");
    let d = by("derive", "proc-macro");
    assert!(d.ended.is_none(), "never ended: cancelled");
    assert_eq!(work.compiles.len(), 5);

    let [test, doc] = &work.tests[..] else {
        panic!("{:#?}", work.tests)
    };
    assert_eq!((test.name.as_str(), test.package.as_str()), ("app", "app"));
    assert_eq!(test.target, "test", "the compiled unit's target");
    assert_eq!(test.test.as_deref(), Some("it_works"));
    assert_eq!(test.ended.unwrap().conclusion(), Conclusion::Failure);
    assert_eq!(
        test.tests,
        Some(TestCounts {
            passed: 1,
            failed: 1,
            ignored: 2
        })
    );
    assert_eq!(doc.name, "Doc-tests base");
    assert_eq!(doc.target, "doctest");
}

#[test]
fn build_script_runs_are_found_by_their_files_and_old_ones_left_out() {
    let t = std::env::temp_dir().join(format!("trunk-cargo-work-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&t);
    let build = t.join("debug/build");
    let old = build.join("old-1111");
    std::fs::create_dir_all(&old).unwrap();
    std::fs::write(old.join("invoked.timestamp"), "").unwrap();
    std::thread::sleep(FILE_CLOCK_LAG * 2);
    let since = SystemTime::now();
    let (ok, failed) = (build.join("gen-2222"), build.join("broken-3333"));
    for dir in [&ok, &failed] {
        std::fs::create_dir_all(dir.join("out")).unwrap();
        std::fs::write(dir.join("invoked.timestamp"), "").unwrap();
    }
    std::thread::sleep(Duration::from_millis(20));
    std::fs::write(ok.join("root-output"), "").unwrap();
    let gen_lib = Compile {
        package: "gen".into(),
        version: "0.3.0".into(),
        crate_name: "gen".into(),
        target: "lib",
        profile: "dev".into(),
        start: SystemTime::now(),
        ended: None,
        hash: Some("4444".into()),
        deps: vec![],
        out_dir: t.join("debug/deps"),
        script_out: Some(ok.join("out")),
    };
    let runs = script_runs(&[gen_lib], since);
    std::fs::remove_dir_all(&t).unwrap();
    let [first, second] = &runs[..] else {
        panic!("{runs:#?}")
    };
    let (gen_run, broken) = if first.package == "gen" {
        (first, second)
    } else {
        (second, first)
    };
    assert_eq!(gen_run.version.as_deref(), Some("0.3.0"));
    assert!(gen_run.end.is_some_and(|e| e > gen_run.start));
    assert_eq!(broken.package, "broken");
    assert_eq!(broken.end, None, "no root-output: it failed");
    assert_eq!(broken.profile, "dev");
}

#[test]
fn profiles_follow_the_directory_when_it_disagrees() {
    assert_eq!(unit_profile("test", Some(Path::new("/t/debug"))), "test");
    assert_eq!(
        unit_profile("test", Some(Path::new("/t/release"))),
        "release"
    );
    assert_eq!(unit_profile("release", Some(Path::new("/t/debug"))), "dev");
    assert_eq!(unit_profile("ci", Some(Path::new("/t/ci"))), "ci");
    assert_eq!(
        artifact_hash("serde=/t/libserde-0a1b.rmeta").as_deref(),
        Some("0a1b")
    );
    assert_eq!(artifact_hash("proc_macro"), None);
}
