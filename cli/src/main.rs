//! `trunk-ci-analytics`: the command line of Trunk CI Analytics (see `cli/README.md`).

mod args;
mod report;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    let result = match &cli.command {
        args::Command::Report(report_args) => report::run(report_args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("trunk-ci-analytics: error: {error}");
            ExitCode::FAILURE
        }
    }
}
