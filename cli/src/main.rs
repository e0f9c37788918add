//! `trunk-ci-analytics`: the command line of Trunk CI Analytics (see `cli/README.md`).

mod args;
mod detected;
mod doctor;
mod duration;
mod exec;
mod flush;
mod job;
mod report;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // `exec -- cargo …` has cargo run this binary as its rustc wrapper, target runner and
    // rustdoc: that job comes before any argument parsing.
    trunk_ci_analytics_runtime::serve_cargo_helper();
    let cli = args::Cli::parse();
    let result = match &cli.command {
        args::Command::Report(report_args) => report::run(report_args),
        args::Command::Exec(exec_args) => exec::run(exec_args),
        args::Command::Job(job_args) => job::run(job_args),
        args::Command::Flush(flush_args) => return flush::run(flush_args),
        args::Command::Doctor(doctor_args) => return doctor::run(doctor_args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("trunk-ci-analytics: error: {error}");
            ExitCode::FAILURE
        }
    }
}
