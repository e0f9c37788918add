//! The CI providers we recognise: how each announces itself and where it keeps the branch,
//! commit, runner, run URL and repository URL. Variable names are the providers' documented
//! ones (GitHub Actions, GitLab CI/CD, Buildkite, CircleCI, Jenkins with the git plugin and
//! multibranch pipelines, Azure Pipelines).

use super::Env;
use crate::model::wire::TagValue;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Provider {
    GitHubActions,
    GitLabCi,
    Buildkite,
    CircleCi,
    AzurePipelines,
    Jenkins,
    Local,
}

impl Provider {
    /// Checked in this order. Jenkins is last: `JENKINS_URL` is an ordinary variable that a
    /// job may pass on to work that runs elsewhere, while the others are set by the runner.
    const ALL: [(Provider, &'static str); 6] = [
        (Provider::GitHubActions, "GITHUB_ACTIONS"),
        (Provider::GitLabCi, "GITLAB_CI"),
        (Provider::Buildkite, "BUILDKITE"),
        (Provider::CircleCi, "CIRCLECI"),
        (Provider::AzurePipelines, "TF_BUILD"),
        (Provider::Jenkins, "JENKINS_URL"),
    ];

    pub(super) fn from_env(env: &Env<'_>) -> Provider {
        Self::ALL
            .iter()
            .find(|(_, marker)| env.flag(marker))
            .map_or(Provider::Local, |(p, _)| *p)
    }

    /// The `sequence.platform` value (snake_case).
    pub(super) fn platform(self) -> &'static str {
        match self {
            Provider::GitHubActions => "github_actions",
            Provider::GitLabCi => "gitlab_ci",
            Provider::Buildkite => "buildkite",
            Provider::CircleCi => "circleci",
            Provider::AzurePipelines => "azure_pipelines",
            Provider::Jenkins => "jenkins",
            Provider::Local => "local",
        }
    }

    /// Variables holding the repository's clone URL, tried after `GITHUB_REPOSITORY`.
    pub(super) fn repo_vars(self) -> &'static [&'static str] {
        match self {
            Provider::GitHubActions | Provider::Local => &[],
            // The project's web URL: on gitlab.com or a self-hosted GitLab, which gives the
            // user the "only github.com" message instead of silence.
            Provider::GitLabCi => &["CI_PROJECT_URL"],
            Provider::Buildkite => &["BUILDKITE_REPO"],
            Provider::CircleCi => &["CIRCLE_REPOSITORY_URL"],
            Provider::AzurePipelines => &["BUILD_REPOSITORY_URI"],
            Provider::Jenkins => &["GIT_URL"],
        }
    }

    /// `branch`, `sha`, `runner` and `run_url`, each where the provider says.
    pub(super) fn tags(self, env: &Env<'_>) -> Vec<(String, TagValue)> {
        let found = [
            ("branch", self.branch(env)),
            ("sha", self.sha(env)),
            ("runner", self.runner(env)),
            ("run_url", self.run_url(env)),
        ];
        found
            .into_iter()
            .filter_map(|(k, v)| Some((k.to_owned(), TagValue::Str(v?))))
            .collect()
    }

    fn branch(self, env: &Env<'_>) -> Option<String> {
        match self {
            Provider::GitHubActions => {
                let event = env.var("GITHUB_EVENT_NAME").unwrap_or_default();
                if event.starts_with("pull_request") {
                    // GITHUB_REF_NAME is `<pr>/merge` here; the head ref is the PR's branch.
                    env.var("GITHUB_HEAD_REF")
                } else if env.var("GITHUB_REF_TYPE").as_deref() == Some("tag") {
                    None
                } else {
                    env.var("GITHUB_REF_NAME")
                }
            }
            // CI_COMMIT_BRANCH is unset in merge request pipelines and for tags.
            Provider::GitLabCi => {
                env.first(&["CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "CI_COMMIT_BRANCH"])
            }
            Provider::Buildkite => env.var("BUILDKITE_BRANCH"),
            Provider::CircleCi => env.var("CIRCLE_BRANCH"),
            Provider::AzurePipelines => {
                if env.var("BUILD_REASON").as_deref() == Some("PullRequest") {
                    // Documented as `refs/heads/x`, observed as plain `x`: accept both.
                    env.var("SYSTEM_PULLREQUEST_SOURCEBRANCH")
                        .map(|b| strip_heads(&b).to_owned())
                } else {
                    match env.var("BUILD_SOURCEBRANCH") {
                        Some(r) if r.starts_with("refs/") => {
                            r.strip_prefix("refs/heads/").map(str::to_owned)
                        }
                        Some(r) => Some(r),
                        None => env.var("BUILD_SOURCEBRANCHNAME"),
                    }
                }
            }
            // Multibranch: CHANGE_BRANCH is a PR's source branch, BRANCH_NAME is `PR-12` in
            // PR builds and the branch otherwise. Freestyle jobs with the git plugin have
            // GIT_LOCAL_BRANCH or GIT_BRANCH (`origin/main`).
            Provider::Jenkins => env
                .first(&["CHANGE_BRANCH", "BRANCH_NAME", "GIT_LOCAL_BRANCH"])
                .or_else(|| {
                    env.var("GIT_BRANCH").map(|b| {
                        let b = strip_heads(&b);
                        b.strip_prefix("origin/").unwrap_or(b).to_owned()
                    })
                }),
            Provider::Local => None,
        }
    }

    fn sha(self, env: &Env<'_>) -> Option<String> {
        let name = match self {
            Provider::GitHubActions => "GITHUB_SHA",
            Provider::GitLabCi => "CI_COMMIT_SHA",
            Provider::Buildkite => "BUILDKITE_COMMIT",
            Provider::CircleCi => "CIRCLE_SHA1",
            Provider::AzurePipelines => "BUILD_SOURCEVERSION",
            Provider::Jenkins => "GIT_COMMIT",
            Provider::Local => return None,
        };
        // Buildkite builds created without a commit carry the literal `HEAD`.
        env.var(name).filter(|s| s != "HEAD")
    }

    fn runner(self, env: &Env<'_>) -> Option<String> {
        match self {
            Provider::GitHubActions => env.var("RUNNER_NAME"),
            Provider::GitLabCi => env.first(&["CI_RUNNER_DESCRIPTION", "CI_RUNNER_ID"]),
            Provider::Buildkite => env.var("BUILDKITE_AGENT_NAME"),
            // CircleCI documents no variable that names the machine running the job.
            Provider::CircleCi => None,
            Provider::AzurePipelines => env.var("AGENT_NAME"),
            Provider::Jenkins => env.var("NODE_NAME"),
            Provider::Local => None,
        }
    }

    fn run_url(self, env: &Env<'_>) -> Option<String> {
        match self {
            Provider::GitHubActions => {
                let server = env
                    .var("GITHUB_SERVER_URL")
                    .unwrap_or_else(|| "https://github.com".into());
                let repo = env.var("GITHUB_REPOSITORY")?;
                let run = env.var("GITHUB_RUN_ID")?;
                Some(format!(
                    "{}/{repo}/actions/runs/{run}",
                    server.trim_end_matches('/')
                ))
            }
            Provider::GitLabCi => env.first(&["CI_PIPELINE_URL", "CI_JOB_URL"]),
            Provider::Buildkite => env.var("BUILDKITE_BUILD_URL"),
            Provider::CircleCi => env.var("CIRCLE_BUILD_URL"),
            Provider::AzurePipelines => {
                let collection = env.var("SYSTEM_COLLECTIONURI")?;
                let project = env.var("SYSTEM_TEAMPROJECT")?;
                let build = env.var("BUILD_BUILDID")?;
                Some(format!(
                    "{}/{}/_build/results?buildId={build}",
                    collection.trim_end_matches('/'),
                    percent_encode(&project)
                ))
            }
            Provider::Jenkins => env.var("BUILD_URL"),
            Provider::Local => None,
        }
    }
}

fn strip_heads(r: &str) -> &str {
    r.strip_prefix("refs/heads/").unwrap_or(r)
}

/// Azure project names may hold spaces and other characters a URL path cannot.
fn percent_encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
