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

/// `url` without credentials (`https://user:secret@host` → `https://…@host`).
pub(crate) fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..end].rsplit_once('@') {
        Some((_, host)) => format!("{scheme}://…@{host}{}", &rest[end..]),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_a_url_are_hidden() {
        assert_eq!(
            redact_url("https://me:s3cret@api.example.com/x?y"),
            "https://…@api.example.com/x?y"
        );
        assert_eq!(redact_url("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
    }
}
