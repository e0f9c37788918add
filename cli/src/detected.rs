//! Where this process runs, as the runtime would detect it, and the repository uploads go to.

use trunk_ci_analytics_runtime::detect::{Detected, detect, git_remote_origin};
use trunk_ci_analytics_runtime::diagnose::Settings;
use trunk_ci_analytics_runtime::wire::Repo;

/// Platform, repository and tags from the environment and `git remote get-url origin`,
/// with the messages detection had.
pub(crate) fn here() -> (Detected, Vec<String>) {
    detect(&|name| std::env::var(name).ok(), &git_remote_origin)
}

/// The repository events are uploaded for: the configured one, else the detected one.
pub(crate) fn repo(settings: &Settings, detected: &Detected) -> Option<Repo> {
    settings.repo.clone().or_else(|| detected.repo.clone())
}

/// `owner/name` on its host, for messages.
pub(crate) fn show_repo(repo: &Repo) -> String {
    format!("{}/{}/{}", repo.host, repo.owner, repo.name)
}
