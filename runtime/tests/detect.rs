//! CI detection from described environments: each test is a CI job written as a map, using
//! the variable names the providers document.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test

use std::cell::Cell;
use std::collections::HashMap;

use trunk_ci_analytics_runtime::detect::{Detected, detect, parse_repo};
use trunk_ci_analytics_runtime::wire::{Repo, TagValue};

struct Run {
    detected: Detected,
    warnings: Vec<String>,
    asked_git: bool,
}

fn run(vars: &[(&str, &str)], remote: Option<&str>) -> Run {
    let env: HashMap<&str, &str> = vars.iter().copied().collect();
    let asked = Cell::new(false);
    let (detected, warnings) = detect(&|name| env.get(name).map(|v| v.to_string()), &|| {
        asked.set(true);
        remote.map(str::to_owned)
    });
    Run {
        detected,
        warnings,
        asked_git: asked.get(),
    }
}

fn repo(owner: &str, name: &str) -> Repo {
    Repo {
        host: "github.com".into(),
        owner: owner.into(),
        name: name.into(),
    }
}

/// The CI tags in order, without `os` and `arch` (checked once, below).
fn ci_tags(d: &Detected) -> Vec<(&str, &str)> {
    d.tags
        .iter()
        .filter(|(k, _)| k != "os" && k != "arch")
        .map(|(k, v)| match v {
            TagValue::Str(s) => (k.as_str(), s.as_str()),
            other => panic!("tag {k} is not a string: {other:?}"),
        })
        .collect()
}

const GITHUB_COMMON: [(&str, &str); 8] = [
    ("CI", "true"),
    ("GITHUB_ACTIONS", "true"),
    ("GITHUB_REPOSITORY", "acme/app"),
    ("GITHUB_SERVER_URL", "https://github.com"),
    ("GITHUB_RUN_ID", "9876543210"),
    ("GITHUB_SHA", "88962a71bcfa92e5950670fc7e3f2b9f8d993b87"),
    ("RUNNER_NAME", "GitHub Actions 12"),
    ("RUNNER_OS", "Linux"),
];

#[test]
fn github_actions_push_uses_the_ref_name() {
    let mut vars = GITHUB_COMMON.to_vec();
    vars.extend([
        ("GITHUB_EVENT_NAME", "push"),
        ("GITHUB_REF", "refs/heads/main"),
        ("GITHUB_REF_NAME", "main"),
        ("GITHUB_REF_TYPE", "branch"),
        // GitHub exports the head ref empty outside pull requests.
        ("GITHUB_HEAD_REF", ""),
    ]);
    let r = run(&vars, Some("git@github.com:wrong/remote.git"));
    assert_eq!(r.detected.platform, "github_actions");
    assert_eq!(r.detected.repo, Some(repo("acme", "app")));
    assert_eq!(
        ci_tags(&r.detected),
        [
            ("branch", "main"),
            ("sha", "88962a71bcfa92e5950670fc7e3f2b9f8d993b87"),
            ("runner", "GitHub Actions 12"),
            (
                "run_url",
                "https://github.com/acme/app/actions/runs/9876543210"
            ),
        ]
    );
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    assert!(
        !r.asked_git,
        "git must not run when the environment names the repo"
    );
}

#[test]
fn github_actions_pull_request_uses_the_head_ref() {
    let mut vars = GITHUB_COMMON.to_vec();
    vars.extend([
        ("GITHUB_EVENT_NAME", "pull_request"),
        ("GITHUB_REF", "refs/pull/42/merge"),
        ("GITHUB_REF_NAME", "42/merge"),
        ("GITHUB_REF_TYPE", "branch"),
        ("GITHUB_HEAD_REF", "feature/faster-builds"),
        ("GITHUB_BASE_REF", "main"),
    ]);
    let r = run(&vars, None);
    assert_eq!(ci_tags(&r.detected)[0], ("branch", "feature/faster-builds"));

    // pull_request_target runs in the base repository's context but builds the same branch.
    vars.retain(|(k, _)| *k != "GITHUB_EVENT_NAME");
    vars.push(("GITHUB_EVENT_NAME", "pull_request_target"));
    let r = run(&vars, None);
    assert_eq!(ci_tags(&r.detected)[0], ("branch", "feature/faster-builds"));
}

#[test]
fn github_actions_tag_push_has_no_branch() {
    let mut vars = GITHUB_COMMON.to_vec();
    vars.extend([
        ("GITHUB_EVENT_NAME", "push"),
        ("GITHUB_REF_NAME", "v1.2.0"),
        ("GITHUB_REF_TYPE", "tag"),
    ]);
    let r = run(&vars, None);
    assert!(ci_tags(&r.detected).iter().all(|(k, _)| *k != "branch"));
    assert!(ci_tags(&r.detected).iter().any(|(k, _)| *k == "sha"));
}

#[test]
fn github_enterprise_server_is_not_mistaken_for_github_com() {
    let mut vars = GITHUB_COMMON.to_vec();
    vars.retain(|(k, _)| *k != "GITHUB_SERVER_URL");
    vars.push(("GITHUB_SERVER_URL", "https://ghe.acme.com"));
    let r = run(&vars, None);
    assert_eq!(r.detected.repo, None);
    assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
    let w = &r.warnings[0];
    assert!(w.contains("https://ghe.acme.com/acme/app"), "{w}");
    assert!(w.contains("only github.com"), "{w}");
    assert!(
        w.contains("GITHUB_REPOSITORY") && w.contains("TRUNK_REPO"),
        "{w}"
    );
    // The run URL points at the enterprise server.
    assert_eq!(
        ci_tags(&r.detected)[2],
        (
            "run_url",
            "https://ghe.acme.com/acme/app/actions/runs/9876543210"
        )
    );
}

#[test]
fn gitlab_ci_names_its_project_url_as_unsupported() {
    let vars = [
        ("GITLAB_CI", "true"),
        ("CI_COMMIT_BRANCH", "main"),
        ("CI_COMMIT_REF_NAME", "main"),
        ("CI_COMMIT_SHA", "1f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c"),
        ("CI_RUNNER_DESCRIPTION", "shared-runner-3"),
        ("CI_RUNNER_ID", "44"),
        (
            "CI_PIPELINE_URL",
            "https://gitlab.com/acme/app/-/pipelines/1234",
        ),
        ("CI_JOB_URL", "https://gitlab.com/acme/app/-/jobs/5678"),
        ("CI_PROJECT_URL", "https://gitlab.com/acme/app"),
    ];
    // The runner's checkout carries a job token in its remote URL.
    let r = run(
        &vars,
        Some("https://gitlab-ci-token:glcbt-SECRET@gitlab.com/acme/app.git"),
    );
    assert_eq!(r.detected.platform, "gitlab_ci");
    assert_eq!(
        ci_tags(&r.detected),
        [
            ("branch", "main"),
            ("sha", "1f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c"),
            ("runner", "shared-runner-3"),
            ("run_url", "https://gitlab.com/acme/app/-/pipelines/1234"),
        ]
    );
    assert_eq!(r.detected.repo, None);
    assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
    let w = &r.warnings[0];
    assert!(w.contains("`https://gitlab.com/acme/app`"), "{w}");
    assert!(
        w.contains("gitlab.com") && w.contains("only github.com"),
        "{w}"
    );
    assert!(!w.contains("SECRET"), "{w}");
}

#[test]
fn gitlab_merge_request_pipeline_uses_the_source_branch() {
    let vars = [
        ("GITLAB_CI", "true"),
        ("CI_COMMIT_REF_NAME", "feature/x"),
        ("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "feature/x"),
        ("CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "main"),
    ];
    // A GitLab project building a GitHub repository (CI/CD for external repositories).
    let r = run(&vars, Some("https://github.com/acme/app.git"));
    assert_eq!(ci_tags(&r.detected), [("branch", "feature/x")]);
    assert_eq!(r.detected.repo, Some(repo("acme", "app")));
    assert!(
        r.warnings.is_empty(),
        "a later source found the repo: {:?}",
        r.warnings
    );
}

#[test]
fn buildkite() {
    let vars = [
        ("BUILDKITE", "true"),
        ("CI", "true"),
        ("BUILDKITE_BRANCH", "main"),
        (
            "BUILDKITE_COMMIT",
            "a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2",
        ),
        ("BUILDKITE_AGENT_NAME", "ci-agent-7"),
        (
            "BUILDKITE_BUILD_URL",
            "https://buildkite.com/acme/app/builds/812",
        ),
        ("BUILDKITE_REPO", "git@github.com:acme/app.git"),
    ];
    let r = run(&vars, None);
    assert_eq!(r.detected.platform, "buildkite");
    assert_eq!(r.detected.repo, Some(repo("acme", "app")));
    assert_eq!(
        ci_tags(&r.detected),
        [
            ("branch", "main"),
            ("sha", "a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2"),
            ("runner", "ci-agent-7"),
            ("run_url", "https://buildkite.com/acme/app/builds/812"),
        ]
    );
    assert!(!r.asked_git);

    // A build created without a commit carries the literal HEAD, which is not a sha.
    let mut vars = vars.to_vec();
    vars[3] = ("BUILDKITE_COMMIT", "HEAD");
    let r = run(&vars, None);
    assert!(ci_tags(&r.detected).iter().all(|(k, _)| *k != "sha"));
}

#[test]
fn circleci() {
    let vars = [
        ("CIRCLECI", "true"),
        ("CI", "true"),
        ("CIRCLE_BRANCH", "release/2.0"),
        ("CIRCLE_SHA1", "0123456789abcdef0123456789abcdef01234567"),
        ("CIRCLE_BUILD_URL", "https://circleci.com/gh/acme/app/1001"),
        ("CIRCLE_REPOSITORY_URL", "git@github.com:acme/app.git"),
        ("CIRCLE_JOB", "test"),
    ];
    let r = run(&vars, None);
    assert_eq!(r.detected.platform, "circleci");
    assert_eq!(r.detected.repo, Some(repo("acme", "app")));
    assert_eq!(
        ci_tags(&r.detected),
        [
            ("branch", "release/2.0"),
            ("sha", "0123456789abcdef0123456789abcdef01234567"),
            ("run_url", "https://circleci.com/gh/acme/app/1001"),
        ]
    );
}

#[test]
fn jenkins_freestyle_with_the_git_plugin() {
    let vars = [
        ("JENKINS_URL", "https://jenkins.acme.com/"),
        ("BUILD_URL", "https://jenkins.acme.com/job/app/311/"),
        ("GIT_BRANCH", "origin/main"),
        ("GIT_COMMIT", "fedcba9876543210fedcba9876543210fedcba98"),
        ("GIT_URL", "https://github.com/acme/app.git"),
        ("NODE_NAME", "linux-agent-2"),
    ];
    let r = run(&vars, None);
    assert_eq!(r.detected.platform, "jenkins");
    assert_eq!(r.detected.repo, Some(repo("acme", "app")));
    assert_eq!(
        ci_tags(&r.detected),
        [
            ("branch", "main"),
            ("sha", "fedcba9876543210fedcba9876543210fedcba98"),
            ("runner", "linux-agent-2"),
            ("run_url", "https://jenkins.acme.com/job/app/311/"),
        ]
    );
}

#[test]
fn jenkins_multibranch_pull_request_uses_the_change_branch() {
    let vars = [
        ("JENKINS_URL", "https://jenkins.acme.com/"),
        ("BRANCH_NAME", "PR-12"),
        ("CHANGE_ID", "12"),
        ("CHANGE_BRANCH", "feature/y"),
        ("CHANGE_TARGET", "main"),
    ];
    let r = run(&vars, Some("ssh://git@github.com/acme/app.git"));
    assert_eq!(ci_tags(&r.detected), [("branch", "feature/y")]);
    assert_eq!(r.detected.repo, Some(repo("acme", "app")));
    assert!(r.asked_git, "no repo variable: git remote is the source");
}

#[test]
fn azure_pipelines() {
    let vars = [
        ("TF_BUILD", "True"),
        ("BUILD_REASON", "IndividualCI"),
        ("BUILD_SOURCEBRANCH", "refs/heads/feature/z"),
        ("BUILD_SOURCEBRANCHNAME", "z"),
        (
            "BUILD_SOURCEVERSION",
            "00112233445566778899aabbccddeeff00112233",
        ),
        ("AGENT_NAME", "Hosted Agent"),
        ("SYSTEM_COLLECTIONURI", "https://dev.azure.com/acme/"),
        ("SYSTEM_TEAMPROJECT", "Build Tools"),
        ("BUILD_BUILDID", "77"),
        ("BUILD_REPOSITORY_PROVIDER", "GitHub"),
        ("BUILD_REPOSITORY_URI", "https://github.com/acme/app"),
    ];
    let r = run(&vars, None);
    assert_eq!(r.detected.platform, "azure_pipelines");
    assert_eq!(r.detected.repo, Some(repo("acme", "app")));
    assert_eq!(
        ci_tags(&r.detected),
        [
            // The full branch, not BUILD_SOURCEBRANCHNAME's last segment.
            ("branch", "feature/z"),
            ("sha", "00112233445566778899aabbccddeeff00112233"),
            ("runner", "Hosted Agent"),
            (
                "run_url",
                "https://dev.azure.com/acme/Build%20Tools/_build/results?buildId=77"
            ),
        ]
    );
}

#[test]
fn azure_pipelines_pull_request_uses_the_source_branch() {
    let base = [
        ("TF_BUILD", "True"),
        ("BUILD_REASON", "PullRequest"),
        ("BUILD_SOURCEBRANCH", "refs/pull/5/merge"),
    ];
    for source in ["refs/heads/fix/login", "fix/login"] {
        let mut vars = base.to_vec();
        vars.push(("SYSTEM_PULLREQUEST_SOURCEBRANCH", source));
        let r = run(&vars, None);
        assert_eq!(ci_tags(&r.detected), [("branch", "fix/login")], "{source}");
    }
    // A tag build has no branch.
    let r = run(
        &[
            ("TF_BUILD", "True"),
            ("BUILD_SOURCEBRANCH", "refs/tags/v3"),
            ("BUILD_SOURCEBRANCHNAME", "v3"),
        ],
        None,
    );
    assert!(ci_tags(&r.detected).is_empty());
}

#[test]
fn local_reads_the_git_remote_and_tags_os_and_arch() {
    let r = run(&[], Some("git@github.com:acme/app.git\n"));
    assert_eq!(r.detected.platform, "local");
    assert_eq!(r.detected.repo, Some(repo("acme", "app")));
    assert!(r.asked_git);
    let tags: Vec<_> = r
        .detected
        .tags
        .iter()
        .map(|(k, v)| (k.as_str(), v))
        .collect();
    assert_eq!(
        tags,
        [
            ("os", &TagValue::Str(std::env::consts::OS.into())),
            ("arch", &TagValue::Str(std::env::consts::ARCH.into())),
        ]
    );
    assert!(r.warnings.is_empty());
}

#[test]
fn local_without_git_has_no_repo_and_nothing_to_complain_about() {
    let r = run(&[], None);
    assert_eq!(r.detected.repo, None);
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    let r = run(&[], Some("   "));
    assert_eq!(r.detected.repo, None);
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
}

#[test]
fn markers_set_to_false_or_blank_do_not_count() {
    for vars in [
        &[("GITHUB_ACTIONS", "false")][..],
        &[("CIRCLECI", "")][..],
        &[("BUILDKITE", "0")][..],
        &[("JENKINS_URL", "  ")][..],
    ] {
        assert_eq!(run(vars, None).detected.platform, "local", "{vars:?}");
    }
}

#[test]
fn trunk_repo_overrides_every_other_source() {
    let mut vars = GITHUB_COMMON.to_vec();
    vars.push(("TRUNK_REPO", "https://github.com/override/here.git"));
    let r = run(&vars, Some("git@github.com:remote/repo.git"));
    assert_eq!(r.detected.repo, Some(repo("override", "here")));
    assert!(!r.asked_git);

    // A malformed TRUNK_REPO is reported by the configuration; detection moves on quietly.
    vars.pop();
    vars.push(("TRUNK_REPO", "not a repo"));
    let r = run(&vars, None);
    assert_eq!(r.detected.repo, Some(repo("acme", "app")));
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
}

#[test]
fn every_url_form_with_and_without_dot_git_and_trailing_slash() {
    let forms = [
        "https://github.com/acme/app",
        "http://github.com/acme/app",
        "HTTPS://GitHub.com/acme/app",
        "https://x-access-token:ghs_abc@github.com/acme/app",
        "https://www.github.com/acme/app",
        "git@github.com:acme/app",
        "ssh://git@github.com/acme/app",
        "ssh://git@github.com:22/acme/app",
        "git://github.com/acme/app",
        "github.com/acme/app",
        "acme/app",
    ];
    for form in forms {
        for suffix in ["", ".git", "/", ".git/"] {
            let input = format!("{form}{suffix}");
            assert_eq!(
                parse_repo(&input),
                Ok(repo("acme", "app")),
                "parsing `{input}`"
            );
            assert_eq!(parse_repo(&format!("  {input}\n")), Ok(repo("acme", "app")));
        }
    }
    // Names with dots, underscores and digits survive; only the `.git` suffix goes.
    assert_eq!(
        parse_repo("https://github.com/trunk-io/analytics.rs_2.git"),
        Ok(repo("trunk-io", "analytics.rs_2"))
    );
}

#[test]
fn malformed_repositories_are_rejected_with_the_value() {
    for bad in [
        "acme",
        "acme/app/extra",
        "https://github.com/acme",
        "https://github.com/acme/app/tree/main",
        "git@github.com:acme",
        "/app",
        "acme/",
        "acme app/x",
    ] {
        let e = parse_repo(bad).expect_err(bad);
        assert!(e.contains("owner/name"), "{bad}: {e}");
        assert!(e.contains(bad.trim_end_matches('/')), "{bad}: {e}");
    }
    assert!(parse_repo("  ").unwrap_err().contains("empty"));
}

#[test]
fn other_hosts_are_named_as_unsupported() {
    for (url, host) in [
        ("https://gitlab.com/acme/app", "gitlab.com"),
        ("https://gitlab.com/acme/app.git", "gitlab.com"),
        ("git@gitlab.com:acme/app.git", "gitlab.com"),
        ("ssh://git@bitbucket.org/acme/app.git", "bitbucket.org"),
        ("https://dev.azure.com/acme/proj/_git/app", "dev.azure.com"),
        ("gitlab.com/acme/app", "gitlab.com"),
    ] {
        let e = parse_repo(url).expect_err(url);
        assert!(e.contains(&format!("`{url}`")), "{e}");
        assert!(e.contains(&format!("on {host}")), "{e}");
        assert!(e.contains("only github.com"), "{e}");
    }
}

#[test]
fn a_non_github_remote_gives_one_clear_message() {
    let r = run(&[], Some("git@gitlab.com:acme/app.git"));
    assert_eq!(r.detected.repo, None);
    assert_eq!(
        r.warnings,
        [
            "repository from `git remote get-url origin`: `git@gitlab.com:acme/app.git` is on \
             gitlab.com, but Trunk CI Analytics supports only github.com repositories; set \
             TRUNK_REPO=owner/name to name the GitHub repository"
        ]
    );
}
