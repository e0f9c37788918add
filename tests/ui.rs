//! Compile-time behaviour of `#[track_event]`: every supported function shape compiles
//! (`ui/pass`), and every misuse is a clear error at the offending token (`ui/fail`, with
//! `.stderr` snapshots; regenerate with `TRYBUILD=overwrite` and read the diff).

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}
