//! The async CI runner example uploading to the server: every job arrives under `pipeline`
//! with the conclusion its fate gives it, and so does the step each job ran.

use serde_json::Value;
use trunk_ci_analytics_testkit::Scratch;
use trunk_ci_analytics_testserver::TestServer;

use crate::harness::{self, QUICK_LIMIT};
use crate::support::{Events, conclusion, id, name, parent_id, tag_of};

/// Job, its conclusion, and the conclusion of the step it ran (`None`: it ran none).
const JOBS: [(&str, &str, Option<&str>); 5] = [
    ("lint", "SUCCESS", Some("SUCCESS")),
    ("unit-tests", "FAILURE", Some("FAILURE")),
    // Over its deadline: the timeout drops the step's future unfinished.
    ("integration-tests", "TIMED_OUT", Some("CANCELLED")),
    // Aborted by fail-fast, its step with it.
    ("package", "CANCELLED", Some("CANCELLED")),
    ("docs", "SKIPPED", None),
];

#[test]
fn ci_runner_sends_each_job_with_its_conclusion_under_the_pipeline() {
    // Not for the fixture: its deadlines are tens of milliseconds apart, so it runs while no
    // other test of this binary keeps both cores busy compiling.
    let _turn = crate::fixture::fixture();
    let server = TestServer::start();
    let spool = Scratch::new("e2e-runner-spool");
    let mut cmd = harness::example("ci_runner");
    harness::upload_to(&mut cmd, &server, spool.path()).env("TRUNK_REPO", harness::REPO);
    let out = harness::run(&mut cmd, QUICK_LIMIT);
    let log = harness::stderr(&out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a job failed, so the runner does:\n{log}"
    );

    // It flushed before exiting: everything is there, and its report says so.
    let events = Events::settled(server.events());
    let expected = 1 + JOBS.len() + JOBS.iter().filter(|j| j.2.is_some()).count();
    assert_eq!(events.len(), expected, "{:?}", events.names());
    assert!(
        log.contains(&format!(
            "runner: {expected} delivered, 0 spooled, 0 dropped, 0 rejected\n"
        )),
        "{log}"
    );
    assert!(
        server.duplicate_ids().is_empty(),
        "{:?}",
        server.duplicate_ids()
    );

    let pipeline = events.one("pipeline");
    assert_eq!(pipeline["chainId"], pipeline["id"]);
    assert!(pipeline.get("parent").is_none(), "{pipeline:#}");
    assert_eq!(
        conclusion(pipeline),
        "FAILURE",
        "the pipeline returns false"
    );
    for (job, job_conclusion, step_conclusion) in JOBS {
        let e = events.one(job);
        assert_eq!(
            parent_id(e),
            Some(id(pipeline)),
            "{job} under pipeline: {e:#}"
        );
        assert_eq!(e["parent"]["sequenceKey"], pipeline["sequence"]["key"]);
        assert_eq!(e["chainId"], pipeline["id"]);
        assert_eq!(e["sequence"]["kind"], "job");
        assert_eq!(conclusion(e), job_conclusion, "{job}: {e:#}");
        assert!(tag_of(e, "deadline_ms").is_some_and(Value::is_u64), "{e:#}");

        let steps: Vec<&Value> = events
            .0
            .iter()
            .filter(|s| parent_id(s) == Some(id(e)))
            .collect();
        match (step_conclusion, steps.as_slice()) {
            (None, []) => {}
            (Some(expected), [step]) => {
                assert_eq!(name(step), "step");
                assert_eq!(step["chainId"], pipeline["id"]);
                assert_eq!(conclusion(step), expected, "{job}'s step: {step:#}");
            }
            _ => panic!("{job} ran steps {steps:#?}"),
        }
    }
}
