//! Two live processes replaying one spool at the same time deliver each spooled event exactly
//! once: each spool file is claimed by one of them (a rename only one can win), never sent by
//! both. Delivery is at-least-once only where a request is cut by a deadline; with a
//! responsive endpoint and time to spare, nothing is.

// Tests may unwrap: a failure here is a failed test.
#![allow(clippy::unwrap_used)]

mod upload_support;

use std::time::Duration;

use trunk_ci_analytics_testkit::Scratch;
use trunk_ci_analytics_testserver::{Fault, TestServer};
use upload_support::{Run, assert_all_delivered, secret_token, spooled_events};

#[test]
fn two_live_processes_claiming_one_spool_deliver_each_event_once() {
    let server = TestServer::start_with_token(&secret_token());
    let tmp = Scratch::new("claims-race");
    let spool = tmp.join("spool");
    // A refused token sends every batch of 100 to the spool: 40 files to share out.
    let earlier = Run::with_token(&server, &secret_token(), &spool)
        .events(1, 4000)
        .env("TCA_BATCH", 100)
        .run();
    assert_eq!(spooled_events(&spool), 4000);
    assert!(server.event_ids().is_empty());

    // Each replayed batch takes a while to answer, so the two replays overlap for their
    // whole length; both wait for one start signal.
    server.set_persistent(Some(Fault::Slow(Duration::from_millis(50))));
    let start = tmp.join("start");
    let replayers: Vec<_> = (0..2)
        .map(|_| {
            let run = Run::new(&server, &spool)
                .events(1, 1)
                .env("TCA_START_FILE", start.display())
                .env("TCA_MODE", "spool")
                .env("TRUNK_FLUSH_TIMEOUT_MS", 120_000);
            std::thread::spawn(move || run.run())
        })
        .collect();
    std::fs::write(&start, b"").unwrap();
    let replayers: Vec<_> = replayers.into_iter().map(|r| r.join().unwrap()).collect();

    let reports: Vec<_> = replayers.iter().map(|r| r.report()).collect();
    for r in &reports {
        assert!(!r.timed_out, "{reports:?}");
    }
    // Both replayed: the race this test is about did happen.
    assert!(
        reports.iter().all(|r| r.replayed > 0),
        "one process replayed everything alone: {reports:?}"
    );
    assert_eq!(
        reports.iter().map(|r| r.replayed).sum::<u64>(),
        4000,
        "{reports:?}"
    );
    let mut all = earlier.ids.clone();
    for r in &replayers {
        all.extend(r.ids.iter().cloned());
    }
    assert_eq!(
        assert_all_delivered(&server, &all),
        0,
        "an event was delivered twice: {:?}",
        server.duplicate_ids()
    );
    assert_eq!(server.event_count(), all.len(), "nothing else arrived");
    assert_eq!(spooled_events(&spool), 0);
}
