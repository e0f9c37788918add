//! Reading a `TRUNK_EVENTS_FILE`: one wire [`Event`] per line.
//!
//! A run that was killed, or a file edited by hand, can hold a broken line; it is reported
//! with its line number and the rest of the run still loads, because a partial picture of a
//! run is worth more than none.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;

use trunk_ci_analytics_runtime::wire::Event;

/// What a file held: its events (one per id) and the lines that were not events.
#[derive(Debug, Default)]
pub(crate) struct Loaded {
    pub(crate) events: Vec<Event>,
    pub(crate) bad_lines: Vec<BadLine>,
    /// Lines whose id an earlier line already had (a started event, then its end).
    pub(crate) replaced: usize,
}

/// A line that is not a wire event; line and column count from 1, as editors do.
#[derive(Debug, PartialEq)]
pub(crate) struct BadLine {
    pub(crate) line: usize,
    pub(crate) column: usize,
    pub(crate) reason: String,
}

pub(crate) fn load_file(path: &Path) -> io::Result<Loaded> {
    read_events(BufReader::new(File::open(path)?))
}

/// Reads lines as bytes so that invalid UTF-8 spoils only its own line.
pub(crate) fn read_events(mut reader: impl BufRead) -> io::Result<Loaded> {
    let mut loaded = Loaded::default();
    // The server upserts by id, so the last line for an id is the state it keeps: a
    // started event (no end) followed by its finished form shows as finished.
    let mut index_of: HashMap<String, usize> = HashMap::new();
    let mut line = Vec::new();
    let mut number = 0;
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        number += 1;
        let text = line.trim_ascii();
        if text.is_empty() {
            continue;
        }
        match serde_json::from_slice::<Event>(text) {
            Ok(event) => match index_of.get(&event.id) {
                Some(&at) => {
                    loaded.events[at] = event;
                    loaded.replaced += 1;
                }
                None => {
                    index_of.insert(event.id.clone(), loaded.events.len());
                    loaded.events.push(event);
                }
            },
            Err(error) => {
                // Each line is parsed on its own, so the parser's own "line 1" would
                // mislead: keep its message and column, and count lines here.
                let message = error.to_string();
                let location = format!(" at line {} column {}", error.line(), error.column());
                let reason = message
                    .strip_suffix(&location)
                    .unwrap_or(&message)
                    .to_owned();
                loaded.bad_lines.push(BadLine {
                    line: number,
                    column: error.column(),
                    reason,
                });
            }
        }
    }
    Ok(loaded)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test
mod tests {
    use trunk_ci_analytics_runtime::Conclusion;

    use super::*;

    fn line(id: &str, created: u64, finished: Option<u64>) -> String {
        let mut event = serde_json::json!({"id": id, "chainId": "c", "createdAt": created});
        if let Some(f) = finished {
            event["finishedAt"] = f.into();
            event["conclusion"] = "SUCCESS".into();
        }
        event.to_string()
    }

    #[test]
    fn reads_one_event_per_line_and_skips_blank_lines() {
        let text = format!("{}\n\n{}\n  \n", line("a", 1, Some(2)), line("b", 2, None));
        let loaded = read_events(text.as_bytes()).unwrap();
        let ids: Vec<_> = loaded.events.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
        assert!(loaded.bad_lines.is_empty());
    }

    #[test]
    fn a_bad_line_is_reported_by_number_and_the_rest_still_loads() {
        let text = format!(
            "{}\nnot json\n{}\n{{\"id\":\"x\"}}\n{}",
            line("a", 1, Some(2)),
            line("b", 2, Some(3)),
            line("c", 3, Some(4)) // no newline at the end: still read
        );
        let loaded = read_events(text.as_bytes()).unwrap();
        let ids: Vec<_> = loaded.events.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "c"]);
        let numbers: Vec<_> = loaded.bad_lines.iter().map(|b| b.line).collect();
        assert_eq!(numbers, [2, 4]);
        assert!(
            loaded.bad_lines[1].reason.contains("chainId"),
            "{:?}",
            loaded.bad_lines
        );
        assert!(
            !loaded.bad_lines[0].reason.contains("line 1"),
            "{:?}",
            loaded.bad_lines
        );
        assert_eq!(loaded.bad_lines[0].column, 2);
    }

    #[test]
    fn invalid_utf8_spoils_only_its_line() {
        let mut bytes = line("a", 1, Some(2)).into_bytes();
        bytes.extend_from_slice(b"\n{\"id\":\"\xff\"}\n");
        bytes.extend_from_slice(line("b", 2, Some(3)).as_bytes());
        let loaded = read_events(&bytes[..]).unwrap();
        assert_eq!(loaded.events.len(), 2);
        assert_eq!(loaded.bad_lines.len(), 1);
        assert_eq!(loaded.bad_lines[0].line, 2);
    }

    #[test]
    fn a_later_line_with_the_same_id_replaces_the_earlier_one() {
        let text = format!(
            "{}\n{}\n{}\n",
            line("a", 1, None),
            line("b", 1, Some(5)),
            line("a", 1, Some(9))
        );
        let loaded = read_events(text.as_bytes()).unwrap();
        assert_eq!(loaded.events.len(), 2);
        assert_eq!(loaded.replaced, 1);
        let a = loaded.events.iter().find(|e| e.id == "a").unwrap();
        assert_eq!(a.finished_at, Some(9));
        assert_eq!(a.conclusion, Some(Conclusion::Success));
    }
}
