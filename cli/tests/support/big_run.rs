//! A generated nightly run of exactly 10,000 events: a pipeline of 9 parallel jobs, each of
//! 10 sequential steps, each of 110 sequential test cases, a few of which fail.

use std::io::Write;
use std::path::Path;

use trunk_ci_analytics_runtime::Conclusion;
use trunk_ci_analytics_runtime::wire::{Event, Metric, Parent, Payload, Sequence, Tag};

pub const EVENTS: usize = 10_000;
/// (job, step, test) of the failing test cases.
pub const FAILING: [(usize, usize, usize); 3] = [(2, 4, 17), (2, 4, 90), (7, 1, 3)];
/// Every (job, step) with this test index is skipped.
const SKIPPED_TEST: usize = 50;

const T0: u64 = 1_795_700_000_000;

/// Deterministic durations, so every run of the test draws the same page.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % below
    }
}

fn event(id: String, parent: Option<(&str, &str)>, name: String, kind: &str, key: String) -> Event {
    Event {
        id,
        chain_id: "00000000000000aa".into(),
        parent: parent.map(|(event_id, sequence_key)| Parent {
            event_id: event_id.into(),
            sequence_key: sequence_key.into(),
        }),
        created_at: 0,
        finished_at: None,
        conclusion: None,
        payload: None,
        sequence: Some(Sequence {
            platform: "github_actions".into(),
            kind: kind.into(),
            key,
            name,
            payload: Payload::default(),
        }),
    }
}

fn finish(event: &mut Event, start: u64, end: u64, conclusion: Conclusion, tags: Vec<Tag>) {
    event.created_at = T0 + start;
    event.finished_at = Some(T0 + end);
    event.conclusion = Some(conclusion);
    event.payload = Some(Payload {
        metrics: vec![Metric {
            k: "duration_ms".into(),
            v: (end - start) as f64,
        }],
        tags,
    });
}

/// Writes the run, children before parents as a real events file has them.
pub fn write(path: &Path) {
    let mut rng = Lcg(42);
    let mut lines = Vec::with_capacity(EVENTS);
    let root_id = "00000000000000aa".to_owned();
    let root_key = "xtask::xtask::nightly".to_owned();
    let mut root = event(
        root_id.clone(),
        None,
        "nightly".into(),
        "pipeline",
        root_key.clone(),
    );
    let mut root_end = 0;
    let mut any_failed = false;
    for job in 0..9 {
        let job_id = format!("{:016x}", 0x1000 + job);
        let job_key = format!("ci::job{job}");
        let mut job_event = event(
            job_id.clone(),
            Some((&root_id, &root_key)),
            format!("job {job}: test shard {}/9", job + 1),
            "job",
            job_key.clone(),
        );
        let job_start = 500 + rng.next(20_000);
        let mut clock = job_start + 2_000;
        let mut job_failed = false;
        for step in 0..10 {
            let step_id = format!("{:016x}", 0x10_0000 + job * 100 + step);
            let step_key = format!("ci::job{job}::step{step}");
            let mut step_event = event(
                step_id.clone(),
                Some((&job_id, &job_key)),
                format!("cargo test -p crate_{step}"),
                "step",
                step_key.clone(),
            );
            let step_start = clock;
            clock += 300;
            let mut step_failed = false;
            for test in 0..110 {
                let failed = FAILING.contains(&(job, step, test));
                let mut test_event = event(
                    format!("{:016x}", 0x1000_0000 + job * 100_000 + step * 1_000 + test),
                    Some((&step_id, &step_key)),
                    format!("crate_{step}::tests::case_{test:03}"),
                    "test",
                    format!("crate_{step}::tests::case_{test:03}"),
                );
                let (length, conclusion) = if failed {
                    (rng.next(4_000) + 500, Conclusion::Failure)
                } else if test == SKIPPED_TEST {
                    (0, Conclusion::Skipped)
                } else {
                    (rng.next(900) + 5, Conclusion::Success)
                };
                let tags = vec![Tag {
                    k: "shard".into(),
                    v: (job + 1).into(),
                }];
                finish(&mut test_event, clock, clock + length, conclusion, tags);
                clock += length + rng.next(20);
                step_failed |= failed;
                lines.push(test_event);
            }
            clock += 200;
            let conclusion = Conclusion::from_success(!step_failed);
            finish(&mut step_event, step_start, clock, conclusion, Vec::new());
            job_failed |= step_failed;
            lines.push(step_event);
        }
        clock += 1_000;
        let conclusion = Conclusion::from_success(!job_failed);
        finish(&mut job_event, job_start, clock, conclusion, Vec::new());
        any_failed |= job_failed;
        root_end = root_end.max(clock);
        lines.push(job_event);
    }
    let run_url = Tag {
        k: "run_url".into(),
        v: "https://github.com/acme/app/actions/runs/13370002".into(),
    };
    let conclusion = Conclusion::from_success(!any_failed);
    finish(&mut root, 0, root_end + 500, conclusion, vec![run_url]);
    lines.push(root);
    assert_eq!(lines.len(), EVENTS);

    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for event in &lines {
        serde_json::to_writer(&mut file, event).unwrap();
        file.write_all(b"\n").unwrap();
    }
    file.flush().unwrap();
}
