//! End to end: the examples and the build-script fixture as users run them, in real
//! processes, with real cargo, uploading to the loopback server.
//!
//! One test binary on purpose. The fixture's build scripts depend on this crate, so building
//! the fixture compiles our whole dependency tree; every test that runs cargo on it shares
//! one target dir (`<target>/xtask-fixture`, the xtask example's own, kept across runs) and
//! takes its turn through [`fixture::fixture`], so that tree is compiled once per CI run. Each
//! builds a copy of the fixture of its own, never the source tree. A test that needs the
//! build scripts to run again cleans only the two fixture crates.
//!
//! The examples are the binaries `cargo test` builds; after changing one, run the whole
//! `cargo test` (or `cargo build --examples`) before `cargo test --test e2e`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails by panicking

mod build_scripts;
mod fixture;
mod harness;
mod one_uploader;
mod otlp;
mod runner;
#[path = "../support/mod.rs"]
mod support;
mod xtask;
