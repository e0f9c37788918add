//! The command line's grammar: one variant of [`Command`] per subcommand, each with its own
//! argument struct, so a new subcommand is a new variant and a new module.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// See where your CI time goes: tools for Trunk CI Analytics events.
#[derive(Debug, Parser)]
#[command(name = "trunk-ci-analytics", version, about)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Draw the events of a run (a TRUNK_EVENTS_FILE) as a self-contained HTML waterfall.
    Report(ReportArgs),
    /// Run a command as an event: its exit status, stdio untouched, the context passed on.
    Exec(crate::exec::ExecArgs),
    /// A CI job as one event: `job start` in its first step, `job finish` in its last.
    Job(crate::job::JobArgs),
    /// Upload the events waiting in the spool now (e.g. in a final `if: always()` step).
    Flush(crate::flush::FlushArgs),
    /// Explain what is configured and detected, and whether the endpoint answers.
    Doctor(crate::doctor::DoctorArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    /// The events file: one JSON event per line, as TRUNK_EVENTS_FILE writes it.
    #[arg(value_name = "EVENTS.jsonl")]
    pub(crate) events: PathBuf,
    /// Where to write the HTML page (overwritten if it exists).
    #[arg(long, value_name = "OUT.html", required_unless_present = "trace")]
    pub(crate) html: Option<PathBuf>,
    /// Where to write the run as a Chrome trace (ui.perfetto.dev, chrome://tracing).
    #[arg(long, value_name = "OUT.json")]
    pub(crate) trace: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_grammar_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn report_takes_a_file_and_an_output() {
        let cli = Cli::try_parse_from([
            "trunk-ci-analytics",
            "report",
            "e.jsonl",
            "--html",
            "o.html",
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        let Command::Report(args) = cli.command else {
            panic!("not parsed as report");
        };
        assert_eq!(args.events, PathBuf::from("e.jsonl"));
        assert_eq!(args.html, Some(PathBuf::from("o.html")));
        assert_eq!(args.trace, None);
    }

    #[test]
    fn report_takes_a_trace_output_alone() {
        let cli = Cli::try_parse_from([
            "trunk-ci-analytics",
            "report",
            "e.jsonl",
            "--trace",
            "t.json",
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        let Command::Report(args) = cli.command else {
            panic!("not parsed as report");
        };
        assert_eq!(
            (args.html, args.trace),
            (None, Some(PathBuf::from("t.json")))
        );
    }

    #[test]
    fn report_without_html_is_a_usage_error() {
        let error = Cli::try_parse_from(["trunk-ci-analytics", "report", "e.jsonl"])
            .err()
            .map(|e| e.kind());
        assert_eq!(error, Some(clap::error::ErrorKind::MissingRequiredArgument));
    }
}
