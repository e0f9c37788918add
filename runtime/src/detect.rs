//! CI platform, repository and default tags, detected from the environment.
//! (Stub: replaced by the full detection.)

use crate::wire::{Repo, TagValue};

/// What the environment says about where we run.
#[derive(Clone, Debug, PartialEq)]
pub struct Detected {
    /// snake_case platform name, `local` outside CI.
    pub platform: String,
    /// The repository, when known.
    pub repo: Option<Repo>,
    /// Default event tags (`branch`, `sha`, `runner`, `run_url`, `os`, `arch`).
    pub tags: Vec<(String, TagValue)>,
}

/// Detects platform, repo and tags from `get` (the environment) and `git_remote` (the
/// output of `git remote get-url origin`, called only when the environment names no repo).
pub fn detect(
    get: &dyn Fn(&str) -> Option<String>,
    git_remote: &dyn Fn() -> Option<String>,
) -> (Detected, Vec<String>) {
    let _ = get;
    let repo = git_remote().and_then(|u| parse_repo(&u).ok());
    (
        Detected {
            platform: "local".into(),
            repo,
            tags: vec![
                ("os".into(), TagValue::Str(std::env::consts::OS.into())),
                ("arch".into(), TagValue::Str(std::env::consts::ARCH.into())),
            ],
        },
        Vec::new(),
    )
}

/// Parses `owner/name` or a git URL into a github.com repo.
pub fn parse_repo(s: &str) -> Result<Repo, String> {
    let s = s.trim().trim_end_matches('/').trim_end_matches(".git");
    let tail = s
        .rsplit_once("github.com")
        .map_or(s, |(_, t)| t.trim_start_matches([':', '/']));
    match tail.split_once('/') {
        Some((o, n)) if !o.is_empty() && !n.is_empty() && !n.contains('/') => Ok(Repo {
            host: "github.com".into(),
            owner: o.into(),
            name: n.into(),
        }),
        _ => Err(format!("`{s}` is not owner/name or a github.com URL")),
    }
}

/// `git remote get-url origin` in the current directory, if git is there and answers.
pub(crate) fn git_remote_origin() -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["remote", "get-url", "origin"])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}
