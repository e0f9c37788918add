//! `report`: draw the events of a run as one self-contained HTML page.

mod html;
mod load;
mod trace;
mod tree;

use std::path::Path;

use crate::args::ReportArgs;

/// Bad lines listed one by one before the rest are only counted: a file that is not an
/// events file at all should not flood the terminal.
const BAD_LINES_SHOWN: usize = 10;

pub(crate) fn run(args: &ReportArgs) -> Result<(), String> {
    let path = &args.events;
    let loaded =
        load::load_file(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    warn_bad_lines(path, &loaded.bad_lines);
    if loaded.events.is_empty() {
        return Err(format!("{}: no events to draw", path.display()));
    }
    let count = loaded.events.len();
    let runs = tree::build(loaded.events);
    let source = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let plural = if runs.len() == 1 { "" } else { "s" };
    let mut outputs = Vec::new();
    if let Some(html_path) = &args.html {
        let page = html::render(&runs, &source);
        std::fs::write(html_path, page)
            .map_err(|e| format!("cannot write {}: {e}", html_path.display()))?;
        outputs.push(html_path.display().to_string());
    }
    if let Some(trace_path) = &args.trace {
        std::fs::write(trace_path, trace::render(&runs))
            .map_err(|e| format!("cannot write {}: {e}", trace_path.display()))?;
        outputs.push(trace_path.display().to_string());
    }
    eprintln!(
        "trunk-ci-analytics: wrote {} ({count} events, {} run{plural})",
        outputs.join(" and "),
        runs.len()
    );
    Ok(())
}

fn warn_bad_lines(path: &Path, bad_lines: &[load::BadLine]) {
    for bad in bad_lines.iter().take(BAD_LINES_SHOWN) {
        eprintln!(
            "trunk-ci-analytics: warning: {}:{}:{}: not an event, skipped: {}",
            path.display(),
            bad.line,
            bad.column,
            bad.reason
        );
    }
    if bad_lines.len() > BAD_LINES_SHOWN {
        eprintln!(
            "trunk-ci-analytics: warning: {}: {} more lines skipped",
            path.display(),
            bad_lines.len() - BAD_LINES_SHOWN
        );
    }
}
