//! An async CI runner that runs jobs concurrently under deadlines and tracks each job with
//! the manual event builder: a job over its deadline is `TIMED_OUT`, one cancelled by
//! fail-fast is `CANCELLED`, a failing one `FAILURE`, one whose condition is false
//! `SKIPPED`.
//!
//! ```sh
//! cargo run --example ci_runner
//! ```

use std::time::Duration;

use tokio::task::JoinSet;
use trunk_ci_analytics::{Conclusion, EventBuilder, EventContext, track_event};

/// What a job does: succeed or fail after some time.
#[derive(Clone, Copy, Debug)]
enum Work {
    Pass(u64),
    Fail(u64),
}

struct Job {
    name: &'static str,
    deadline: Duration,
    work: Work,
    /// Jobs that do not run on this change.
    run_if: bool,
}

const JOBS: &[Job] = &[
    Job {
        name: "lint",
        deadline: Duration::from_secs(5),
        work: Work::Pass(30),
        run_if: true,
    },
    Job {
        name: "unit-tests",
        deadline: Duration::from_secs(5),
        work: Work::Fail(400),
        run_if: true,
    },
    Job {
        name: "integration-tests",
        deadline: Duration::from_millis(60),
        work: Work::Pass(10_000),
        run_if: true,
    },
    Job {
        name: "package",
        deadline: Duration::from_secs(5),
        work: Work::Pass(10_000),
        run_if: true,
    },
    Job {
        name: "docs",
        deadline: Duration::from_secs(5),
        work: Work::Pass(10),
        run_if: false,
    },
];

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> std::process::ExitCode {
    let ok = pipeline().await;
    // The runner is not one function call, so flush explicitly before leaving.
    let report = trunk_ci_analytics::flush(Duration::from_secs(2));
    eprintln!("runner: {report}");
    if ok {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}

/// Runs every job; the first failure cancels the jobs still running (fail-fast). A job
/// over its deadline is reported but does not stop the others.
#[track_event(name = "pipeline", kind = "workflow")]
async fn pipeline() -> bool {
    let parent = trunk_ci_analytics::current_context();
    let mut running = JoinSet::new();
    let mut handles = Vec::new();
    for job in JOBS {
        let mut builder = EventBuilder::new(job.name)
            .kind("job")
            .tag("deadline_ms", job.deadline.as_millis() as u64);
        if let Some(p) = &parent {
            builder = builder.parent(p);
        }
        let event = builder.start();
        if !job.run_if {
            event.finish(Conclusion::Skipped);
            continue;
        }
        let ctx = event.context();
        let (work, deadline) = (job.work, job.deadline);
        handles.push(running.spawn(async move {
            let outcome = tokio::time::timeout(deadline, run(work, ctx)).await;
            let conclusion = match outcome {
                Ok(true) => Conclusion::Success,
                Ok(false) => Conclusion::Failure,
                Err(_) => Conclusion::TimedOut,
            };
            event.finish(conclusion);
            conclusion
        }));
    }
    let mut all_ok = true;
    while let Some(done) = running.join_next().await {
        match done {
            Ok(Conclusion::Success) => {}
            Ok(Conclusion::Failure) => {
                all_ok = false;
                // Fail fast: the events of aborted jobs are dropped unfinished → CANCELLED.
                running.abort_all();
            }
            Ok(_) => all_ok = false,
            Err(e) if e.is_cancelled() => {}
            Err(_) => all_ok = false,
        }
    }
    all_ok
}

/// One job's work, with its steps as children of the job's event.
async fn run(work: Work, ctx: Option<EventContext>) -> bool {
    let steps = async move {
        match work {
            Work::Pass(ms) => step(ms, true).await,
            Work::Fail(ms) => step(ms, false).await,
        }
    };
    match ctx {
        Some(ctx) => ctx.instrument(steps).await,
        None => steps.await,
    }
}

#[track_event(kind = "step", tags(ms = ms))]
async fn step(ms: u64, pass: bool) -> bool {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    pass
}
