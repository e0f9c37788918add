//! Compile-time behaviour of `#[track_event]`: every supported function shape compiles
//! warning-free (`ui/pass`, whose binaries trybuild also runs), and every misuse is a clear
//! error at the offending token (`ui/fail`, with `.stderr` snapshots; regenerate with
//! `TRYBUILD=overwrite` and read the diff).

#[test]
fn ui() {
    // The pass binaries run with analytics on, and trybuild starts cargo and them with this
    // process's environment: leave it nothing but what the toolchain needs (and trybuild's
    // own switch), so no token, file, context, OTLP endpoint or CI variable of whatever runs
    // the tests reaches them, and keep their summaries off the output.
    // SAFETY: this binary's only test; nothing else reads the environment concurrently.
    unsafe {
        trunk_ci_analytics_testkit::reduce_own_env(&["TRYBUILD"]);
        std::env::set_var("TRUNK_CI_ANALYTICS_LOG", "off");
    }
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}
