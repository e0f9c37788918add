//! `report` on a crafted events file whose parent links go round in many small circles
//! (issue 26, finding 10): every event is still drawn, in time linear in the events, not
//! quadratic (10,000 such events took 1.4 s, 40,000 took 23 s).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails by panicking

mod runs;

use std::io::Write;

use runs::{BIN, Bounded};
use trunk_ci_analytics_runtime::wire::{Event, Parent};
use trunk_ci_analytics_testkit::{Scratch, clean_command};

/// Events in two-event circles: each pair names the other as its parent.
const EVENTS: usize = 200_000;

fn event(i: usize) -> Event {
    let partner = i ^ 1;
    Event {
        id: format!("{i:016x}"),
        chain_id: "00000000000000aa".into(),
        parent: Some(Parent {
            event_id: format!("{partner:016x}"),
            sequence_key: "k".into(),
        }),
        created_at: 1_795_700_000_000 + i as u64,
        finished_at: Some(1_795_700_000_001 + i as u64),
        conclusion: None,
        payload: None,
        sequence: None,
    }
}

#[test]
fn parent_circles_are_drawn_in_linear_time() {
    let dir = Scratch::new("report-cycles");
    let events = dir.join("cycles.jsonl");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&events).unwrap());
    for i in 0..EVENTS {
        serde_json::to_writer(&mut file, &event(i)).unwrap();
        file.write_all(b"\n").unwrap();
    }
    file.flush().unwrap();
    drop(file);
    let html = dir.join("cycles.html");
    // The liveness bound of every run here (two minutes) is far above the linear time (a
    // few seconds in a debug build) and far below the quadratic one (hours): not a timing
    // assertion.
    let out = clean_command(BIN)
        .args([
            "report".as_ref(),
            events.as_os_str(),
            "--html".as_ref(),
            html.as_os_str(),
        ])
        .output_within();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains(&format!("{:016x}", EVENTS - 1)),
        "every event is drawn"
    );
}
