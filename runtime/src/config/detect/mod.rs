//! CI platform, repository and default tags, detected from the environment.
//!
//! Everything is read through a `get` closure instead of the process environment, so a test
//! describes a CI job as a map and never mutates (or races on) the real environment.

pub(crate) mod process_info;
mod providers;
mod repo;

pub use repo::parse_repo;

use crate::model::wire::{Repo, TagValue};
use providers::Provider;

/// What the environment says about where we run.
///
/// ```
/// use trunk_ci_analytics::detect::detect;
///
/// let (detected, warnings) = detect(&|_| None, &|| None);
/// assert_eq!(detected.platform, "local");
/// assert!(detected.repo.is_none() && warnings.is_empty());
/// ```
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
///
/// The repository comes from `TRUNK_REPO`, then `GITHUB_REPOSITORY`, then the CI provider's
/// repository URL variable, then `git_remote`. The returned messages (at most one) say why
/// no repository was found when a source named one that cannot be used (on another host than
/// github.com, or not `owner/name`); finding none at all is not an error here.
///
/// ```
/// use std::collections::HashMap;
/// use trunk_ci_analytics::detect::detect;
///
/// let env = HashMap::from([
///     ("BUILDKITE", "true"),
///     ("BUILDKITE_BRANCH", "main"),
///     ("BUILDKITE_REPO", "git@github.com:acme/app.git"),
/// ]);
/// let (detected, _) = detect(&|name| env.get(name).map(|v| v.to_string()), &|| None);
/// assert_eq!(detected.platform, "buildkite");
/// assert_eq!(detected.repo.map(|r| r.name).as_deref(), Some("app"));
/// ```
pub fn detect(
    get: &dyn Fn(&str) -> Option<String>,
    git_remote: &dyn Fn() -> Option<String>,
) -> (Detected, Vec<String>) {
    let env = Env(get);
    let provider = Provider::from_env(&env);
    let mut tags = provider.tags(&env);
    tags.push(("os".into(), TagValue::Str(std::env::consts::OS.into())));
    tags.push(("arch".into(), TagValue::Str(std::env::consts::ARCH.into())));
    let (repo, problem) = repo::detect_repo(&env, provider.repo_vars(), git_remote);
    (
        Detected {
            platform: provider.platform().into(),
            repo,
            tags,
        },
        problem.into_iter().collect(),
    )
}

/// `git remote get-url origin` in the current directory, if git is there and answers: the
/// last source [`detect`] tries for the repository.
///
/// ```no_run
/// use trunk_ci_analytics::detect::{detect, git_remote_origin};
///
/// let (detected, _) = detect(&|name| std::env::var(name).ok(), &git_remote_origin);
/// println!("{:?}", detected.repo);
/// ```
pub fn git_remote_origin() -> Option<String> {
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

/// The environment as detection reads it: a variable set to blanks counts as unset, since CI
/// templates often export empty values for what does not apply to a run.
struct Env<'a>(&'a dyn Fn(&str) -> Option<String>);

impl Env<'_> {
    fn var(&self, name: &str) -> Option<String> {
        (self.0)(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// The first of `names` that is set.
    fn first(&self, names: &[&str]) -> Option<String> {
        names.iter().find_map(|n| self.var(n))
    }

    /// Providers set their marker to `true` (Azure: `True`); anything but an explicit
    /// false counts, so a hand-set `1` works too.
    fn flag(&self, name: &str) -> bool {
        self.var(name)
            .is_some_and(|v| !v.eq_ignore_ascii_case("false") && v != "0")
    }
}
