//! `job start` / `job finish`: a CI job as one event whose children are every step recorded
//! in between, though each step is a process of its own. `job start` opens the event, sends
//! it at once as a started event (a job whose runner dies still shows) and hands it over in
//! the environment of the later steps: appended to `$GITHUB_ENV` on GitHub Actions, printed
//! as `export` lines for `eval` elsewhere. `job finish` records it with the same id and start
//! time, as the root of the job's tree (its summary is the whole job's).

mod environment;

use clap::{Args, Subcommand, ValueEnum};
use trunk_ci_analytics_runtime::{Conclusion, Config, EventBuilder, HandOver};

use crate::exec::parse_tag;
use environment::{CONTEXT, Exports, HANDED_OVER};

#[derive(Debug, Args)]
pub(crate) struct JobArgs {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// Open the job's event; every later step of the job becomes its child.
    Start(StartArgs),
    /// Record the job's event, from the time `job start` ran (run it with `if: always()`).
    Finish(FinishArgs),
}

#[derive(Debug, Args)]
struct StartArgs {
    /// The job's name [default: "$GITHUB_WORKFLOW / $GITHUB_JOB" on GitHub Actions, else
    /// "job"].
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// The job's sequence key, unique in the repository [default: the name].
    #[arg(long, value_name = "KEY")]
    key: Option<String>,
    /// A tag of the job's event (repeatable).
    #[arg(long = "tag", value_name = "KEY=VALUE", value_parser = parse_tag)]
    tags: Vec<(String, String)>,
}

#[derive(Debug, Args)]
struct FinishArgs {
    /// How the job ended (GitHub: `${{ job.status }}`) [default: failure if a step recorded
    /// in the job failed or timed out, cancelled if one was cancelled, else success].
    #[arg(long, value_name = "CONCLUSION", ignore_case = true)]
    conclusion: Option<JobConclusion>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum JobConclusion {
    Success,
    Failure,
    Cancelled,
    Skipped,
    TimedOut,
}

impl From<JobConclusion> for Conclusion {
    fn from(c: JobConclusion) -> Conclusion {
        match c {
            JobConclusion::Success => Conclusion::Success,
            JobConclusion::Failure => Conclusion::Failure,
            JobConclusion::Cancelled => Conclusion::Cancelled,
            JobConclusion::Skipped => Conclusion::Skipped,
            JobConclusion::TimedOut => Conclusion::TimedOut,
        }
    }
}

pub(crate) fn run(args: &JobArgs) -> ! {
    match &args.action {
        Action::Start(start_args) => start(start_args),
        Action::Finish(finish_args) => finish(finish_args),
    }
}

fn start(args: &StartArgs) -> ! {
    let name = args.name.clone().unwrap_or_else(default_name);
    let mut builder = EventBuilder::new(name).kind("job");
    if let Some(key) = &args.key {
        builder = builder.key(key.clone());
    }
    for (key, value) in &args.tags {
        builder = builder.tag(key.clone(), value.clone());
    }
    let job = builder.start();
    let context = job.context();
    let Some(handed) = job.hand_over() else {
        // Analytics is off: nothing to open, and the steps run as they would anyway.
        trunk_ci_analytics_runtime::exit(0);
    };
    let mut exports = Exports::new();
    if let Some(context) = context {
        // The context alone: this process is no uploader of the later steps (it ends now),
        // so its `TRUNK_UPLOADER` must not reach them.
        for (name, value) in context.env_vars() {
            if CONTEXT.contains(&name) {
                exports.set(name, value);
            }
        }
    }
    exports.set(HANDED_OVER, handed.to_string());
    if let Err(e) = exports.publish() {
        eprintln!("trunk-ci-analytics job start: {e}; the steps will not join the job");
    }
    // Sends the started event before the process ends.
    trunk_ci_analytics_runtime::exit(0)
}

fn finish(args: &FinishArgs) -> ! {
    let handed = match std::env::var(HANDED_OVER) {
        Ok(text) if !text.trim().is_empty() => text.parse::<HandOver>(),
        _ => {
            eprintln!(
                "trunk-ci-analytics job finish: no job to finish ({HANDED_OVER} is not set: run \
                 `trunk-ci-analytics job start` in an earlier step of the job, or the job was \
                 finished already)"
            );
            std::process::exit(0);
        }
    };
    let handed = match handed {
        Ok(handed) => handed,
        Err(e) => {
            eprintln!("trunk-ci-analytics job finish: {HANDED_OVER}: {e}");
            std::process::exit(0);
        }
    };
    // The root of the job's tree again, not a child of the job whose context the steps'
    // environment carries: this process draws the whole job's summary.
    let _guard =
        trunk_ci_analytics_runtime::init(Config::from_env().parent(handed.parent_context()));
    let conclusion = match args.conclusion {
        Some(given) => given.into(),
        None => match handed.conclusion_of_children() {
            Some(Conclusion::Failure | Conclusion::TimedOut) => Conclusion::Failure,
            Some(Conclusion::Cancelled) => Conclusion::Cancelled,
            _ => Conclusion::Success,
        },
    };
    handed.finish(conclusion);
    // Later steps (and a second `job finish`) are no longer under the job.
    let mut exports = Exports::new();
    for name in CONTEXT {
        exports.set(name, String::new());
    }
    exports.set(HANDED_OVER, String::new());
    if environment::on_github() {
        if let Err(e) = exports.publish() {
            eprintln!("trunk-ci-analytics job finish: {e}");
        }
    }
    trunk_ci_analytics_runtime::exit(0)
}

/// `$GITHUB_WORKFLOW / $GITHUB_JOB` on GitHub Actions, else `job`.
fn default_name() -> String {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    match (var("GITHUB_WORKFLOW"), var("GITHUB_JOB")) {
        (Some(workflow), Some(job)) => format!("{workflow} / {job}"),
        (None, Some(job)) => job,
        (Some(workflow), None) => workflow,
        (None, None) => "job".to_owned(),
    }
}
