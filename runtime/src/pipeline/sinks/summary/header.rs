//! The first line of a summary: what ran, how it ended, how many events from how many
//! processes, and what became of uploading.

use super::node::Node;
use super::tree::{self, plural, thousands};
use crate::Conclusion;
use crate::pipeline::upload_status::{Upload, UploadStatus};
use crate::platform::sort;

/// `trunk-ci-analytics: ci ✔ 4.21 s (5 events, local mode: not uploaded)`, or for several
/// roots their count and conclusions.
pub(crate) fn header(nodes: &[Node], overflow: usize, mode: &str) -> String {
    let roots: Vec<&Node> = nodes.iter().filter(|n| n.parent.is_none()).collect();
    let events = nodes.len() + overflow;
    let mut pids: Vec<u32> = nodes.iter().map(|n| n.pid).collect();
    sort::sort_by(&mut pids, u32::cmp);
    pids.dedup();
    let processes = if pids.len() > 1 {
        format!(" in {} processes", thousands(pids.len()))
    } else {
        String::new()
    };
    let what = match roots[..] {
        [root] => format!(
            "{} {} {}",
            tree::short(&root.name),
            root.conclusion.symbol(),
            tree::fmt_duration(root.duration_ms)
        ),
        _ => {
            let failed = roots
                .iter()
                .filter(|r| r.conclusion == Conclusion::Failure)
                .count();
            let total: f64 = roots.iter().map(|r| r.duration_ms).sum();
            format!(
                "{} top-level events ✔ {} ✘ {}, {} in all",
                thousands(roots.len()),
                thousands(roots.len() - failed),
                thousands(failed),
                tree::fmt_duration(total)
            )
        }
    };
    format!(
        "trunk-ci-analytics: {what} ({} event{}{processes}, {mode})\n",
        thousands(events),
        plural(events)
    )
}

/// What became of uploading, as the header says it: from what happened, so never "spooled"
/// for events the spool could not take.
pub(crate) fn upload_text(status: &UploadStatus) -> String {
    let (spooled, dropped) = status.counts();
    let lost = || {
        format!(
            "{} event{} dropped (the spool could not take them)",
            thousands(dropped as usize),
            plural(dropped as usize)
        )
    };
    // What the spool took, else what was lost.
    let kept = |spooled_text: &str, lost_head: &str| match (spooled > 0 || dropped == 0, dropped) {
        (true, 0) => spooled_text.to_owned(),
        (true, _) => format!("{spooled_text}, {}", lost()),
        (false, _) => format!("{lost_head}, {}", lost()),
    };
    match status.get() {
        Upload::Local => "local mode: not uploaded".into(),
        Upload::Uploading if dropped == 0 => "uploading to Trunk".into(),
        Upload::Uploading => format!("uploading to Trunk, {}", lost()),
        Upload::Spooling => kept(
            "not uploaded yet: Trunk unreachable, events spooled for a later run",
            "not uploaded: Trunk unreachable",
        ),
        Upload::Stopped => kept(
            "not uploaded: uploading stopped (see the error above), events spooled",
            "not uploaded: uploading stopped (see the error above)",
        ),
        Upload::NoRepository => "not uploaded: no repository (set TRUNK_REPO)".into(),
        Upload::Exporting => "exported over OTLP, not uploaded to Trunk".into(),
        // Handing over is writing to the spool, so what it could not take is lost the same way.
        Upload::ThroughUploader => kept(
            "handed to the run's uploader",
            "not handed to the run's uploader",
        ),
        Upload::Spooled => kept(
            "spooled for the next uploading process or `trunk-ci-analytics flush` (no `upload` \
             feature)",
            "not uploaded (no `upload` feature)",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_says_spooled_only_for_what_the_spool_took() {
        let s = UploadStatus::new(Upload::Spooling);
        assert_eq!(
            upload_text(&s),
            "not uploaded yet: Trunk unreachable, events spooled for a later run"
        );
        s.set_counts(0, 20_000);
        assert_eq!(
            upload_text(&s),
            "not uploaded: Trunk unreachable, 20,000 events dropped (the spool could not take them)"
        );
        s.set_counts(5, 1);
        assert!(
            upload_text(&s).ends_with(
                "spooled for a later run, 1 event dropped (the spool could not take them)"
            )
        );
        s.set(Upload::Uploading);
        assert!(upload_text(&s).starts_with("uploading to Trunk, 1 event dropped"));
    }
}
