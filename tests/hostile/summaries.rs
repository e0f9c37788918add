//! Hostile names in the summaries (issue 26, findings 7 and 8): the stderr tree prints every
//! name without control characters, and the GitHub job summary stays well-formed Markdown
//! however long a kind is, with `$` shown as itself.

use trunk_ci_analytics::{Conclusion, Config, EventBuilder};

use trunk_ci_analytics_testkit::Scratch;

use crate::hostile_support::{child_command, run};

/// A run whose events have names with a newline, escape sequences and math, and kinds far
/// longer than any line.
pub fn hostile_names_child() {
    let guard = trunk_ci_analytics::init(Config::from_env());
    let root = EventBuilder::new("ci").start();
    for i in 0..30 {
        EventBuilder::new(format!("price $x^2$ {i}"))
            .kind(format!("kind{i}-{}", "k".repeat(3_000)))
            .start()
            .finish(Conclusion::Failure);
    }
    EventBuilder::new("evil\ntrunk-ci-analytics: forged line")
        .start()
        .finish(Conclusion::Success);
    EventBuilder::new("esc\x1b[31mred\x07bell")
        .start()
        .finish(Conclusion::Success);
    root.finish(Conclusion::Failure);
    drop(guard);
}

#[test]
fn names_are_printed_as_text_and_the_job_summary_stays_well_formed() {
    let dir = Scratch::new("hostile-names");
    let summary = dir.join("step_summary.md");
    std::fs::write(&summary, "BEFORE\n").unwrap();
    let mut cmd = child_command("r2_hostile_names");
    cmd.env("TMPDIR", dir.path())
        .env("GITHUB_STEP_SUMMARY", &summary);
    let (out, stdout, stderr) = run(&mut cmd);
    assert!(out.status.success(), "{stdout}\n{stderr}");

    // The stderr tree: names without control characters, no forged line.
    assert!(stderr.contains("forged line"), "{stderr}");
    assert!(
        !stderr.contains(['\x1b', '\x07']),
        "a terminal escape reached stderr: {stderr:?}"
    );
    assert!(
        !stderr
            .lines()
            .any(|l| l.starts_with("trunk-ci-analytics: forged")),
        "a name forged a line: {stderr}"
    );

    // The job summary, then what the next step appends.
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&summary)
        .unwrap();
    std::io::Write::write_all(&mut file, b"AFTER\n").unwrap();
    let text = std::fs::read_to_string(&summary).unwrap();
    let section = text
        .strip_prefix("BEFORE\n")
        .and_then(|t| t.strip_suffix("AFTER\n"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(section.len() <= 64 * 1024, "{} bytes", section.len());
    assert!(
        section.lines().all(|l| l.len() < 1_000),
        "a line of {} bytes: a kind is not bounded",
        section.lines().map(str::len).max().unwrap_or(0)
    );
    assert_eq!(
        section.matches("<details>").count(),
        section.matches("</details>").count(),
        "{section}"
    );
    let mut in_code = false;
    for line in section.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if !in_code {
            let unescaped = line
                .char_indices()
                .any(|(i, c)| c == '$' && !line[..i].ends_with('\\'));
            assert!(!unescaped, "`$` left for GitHub's math: {line}");
            assert!(!line.contains(['\x1b', '\x07']), "{line:?}");
        }
    }
    assert!(!in_code, "the code block is left open: {section}");
    assert!(section.contains(r"price \$x^2\$"), "{section}");
}
