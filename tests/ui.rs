//! Compile-time behaviour of `#[track_event]`: every supported function shape compiles
//! warning-free (`ui/pass`, whose binaries trybuild also runs), and every misuse is a clear
//! error at the offending token (`ui/fail`, with `.stderr` snapshots; regenerate with
//! `TRYBUILD=overwrite` and read the diff).

#[test]
fn ui() {
    // The pass binaries run with analytics on: never upload from them, never write into a
    // file or a chain of whatever runs the tests, and keep their summaries off the output.
    // SAFETY: this binary's only test; nothing else reads the environment concurrently.
    unsafe {
        for var in [
            "TRUNK_API_TOKEN",
            "TRUNK_EVENTS_FILE",
            "TRUNK_CHAIN_ID",
            "TRUNK_PARENT_EVENT_ID",
            "TRUNK_PARENT_SEQUENCE_KEY",
            "TRACEPARENT",
        ] {
            std::env::remove_var(var);
        }
        std::env::set_var("TRUNK_CI_ANALYTICS_LOG", "off");
    }
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}
