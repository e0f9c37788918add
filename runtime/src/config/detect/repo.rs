//! The repository: from `TRUNK_REPO`, `GITHUB_REPOSITORY`, a provider's URL variable or the
//! git remote, in the forms git and CI providers write it.

use super::Env;
use crate::model::wire::Repo;

const GITHUB: &str = "github.com";

/// Parses `owner/name` or a git URL into a github.com repo.
///
/// Accepted: `owner/name`, `https://github.com/owner/name`, `git@github.com:owner/name`,
/// `ssh://git@github.com/owner/name`, each with or without `.git` and a trailing slash. A
/// URL on another host is an error naming the host: the API takes github.com repositories
/// only. Credentials in a URL never appear in the error.
///
/// ```
/// use trunk_ci_analytics::detect::parse_repo;
///
/// let repo = parse_repo("git@github.com:trunk-io/jenkins-plugin.git").unwrap();
/// assert_eq!((repo.owner.as_str(), repo.name.as_str()), ("trunk-io", "jenkins-plugin"));
/// assert!(parse_repo("https://gitlab.com/o/n").unwrap_err().contains("only github.com"));
/// ```
pub fn parse_repo(s: &str) -> Result<Repo, String> {
    let input = s.trim();
    if input.is_empty() {
        return Err("the repository is empty (expected owner/name or a github.com URL)".into());
    }
    // CI checkouts put job tokens in the user part (`https://gitlab-ci-token:…@gitlab.com/…`).
    let shown = crate::platform::redact::text(input);
    let (host, path) = locate(input);
    let host = host.unwrap_or(GITHUB);
    if !host.eq_ignore_ascii_case(GITHUB) && !host.eq_ignore_ascii_case("www.github.com") {
        return Err(format!(
            "`{shown}` is on {host}, but Trunk CI Analytics supports only github.com repositories"
        ));
    }
    let path = path.trim_matches('/');
    let path = path
        .strip_suffix(".git")
        .unwrap_or(path)
        .trim_end_matches('/');
    match path.split('/').collect::<Vec<_>>()[..] {
        [owner, name] if valid_part(owner) && valid_part(name) => Ok(Repo {
            host: GITHUB.into(),
            owner: owner.into(),
            name: name.into(),
        }),
        _ => Err(format!(
            "`{shown}` does not name a repository as owner/name or a github.com URL"
        )),
    }
}

/// Splits into (host, path); the host is `None` for the bare `owner/name` form.
fn locate(input: &str) -> (Option<&str>, &str) {
    let (scheme, rest) = split_scheme(input);
    let (_user, rest) = split_user(rest);
    if scheme.is_some() {
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let path = path.split(['?', '#']).next().unwrap_or_default();
        let host = authority.split(':').next().unwrap_or_default();
        return (Some(host), path);
    }
    // scp-like `[user@]host:path`: a colon before any slash.
    if let Some((host, path)) = rest.split_once(':')
        && !host.contains('/')
    {
        return (Some(host), path);
    }
    // `github.com/owner/name`, as people copy it from the address bar.
    if let Some((first, path)) = rest.split_once('/')
        && first.contains('.')
    {
        return (Some(first), path);
    }
    (None, rest)
}

/// GitHub owners and names hold letters, digits, `-`, `_` and `.` only.
fn valid_part(s: &str) -> bool {
    !s.is_empty()
        && s != "."
        && s != ".."
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

fn split_scheme(url: &str) -> (Option<&str>, &str) {
    match url.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, url),
    }
}

/// Splits `user[:password]@` off the front: an `@` before the first `/`.
fn split_user(rest: &str) -> (Option<&str>, &str) {
    let authority = &rest[..rest.find('/').unwrap_or(rest.len())];
    match authority.rfind('@') {
        Some(at) => (Some(&rest[..at]), &rest[at + 1..]),
        None => (None, rest),
    }
}

/// Finds the repository. Returns it, or a message when a source named a repository that
/// cannot be used and nothing later could (a malformed `TRUNK_REPO` is reported by the
/// configuration, so here it is only skipped).
pub(super) fn detect_repo(
    env: &Env<'_>,
    provider_vars: &[&str],
    git_remote: &dyn Fn() -> Option<String>,
) -> (Option<Repo>, Option<String>) {
    if let Some(repo) = env.var("TRUNK_REPO").and_then(|v| parse_repo(&v).ok()) {
        return (Some(repo), None);
    }
    let mut problem: Option<String> = None;
    let mut consider = |source: &str, value: String| match parse_repo(&value) {
        Ok(repo) => Some(repo),
        Err(e) => {
            problem.get_or_insert_with(|| format!("repository from {source}: {e}"));
            None
        }
    };

    if let Some(slug) = env.var("GITHUB_REPOSITORY") {
        // On GitHub Enterprise Server the slug alone would pass for a github.com repo.
        let value = match env.var("GITHUB_SERVER_URL") {
            Some(server) => format!("{}/{slug}", server.trim_end_matches('/')),
            None => slug,
        };
        if let Some(repo) = consider("GITHUB_REPOSITORY", value) {
            return (Some(repo), None);
        }
    }
    for name in provider_vars {
        if let Some(repo) = env.var(name).and_then(|v| consider(name, v)) {
            return (Some(repo), None);
        }
    }
    let remote = git_remote().filter(|u| !u.trim().is_empty());
    if let Some(repo) = remote.and_then(|u| consider("`git remote get-url origin`", u)) {
        return (Some(repo), None);
    }
    (
        None,
        problem.map(|p| format!("{p}; set TRUNK_REPO=owner/name to name the GitHub repository")),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    #[test]
    fn credentials_never_reach_the_message() {
        let cases = [
            "https://gitlab-ci-token:s3cr3t@gitlab.com/o/n.git",
            "https://s3cr3t@bitbucket.org/o/n",
            "ssh://s3cr3t@example.com:2222/o/n",
            "s3cr3t@example.com:o/n.git",
            "https://x-access-token:s3cr3t@github.com/o/n/extra",
            "tok:s3cr3t@gitlab.com/o/n",
        ];
        for url in cases {
            let e = parse_repo(url).unwrap_err();
            assert!(!e.contains("s3cr3t"), "{url} -> {e}");
        }
        let shown = |url: &str| parse_repo(url).unwrap_err();
        assert!(
            shown("https://gitlab-ci-token:s3cr3t@gitlab.com/o/n")
                .contains("`https://…@gitlab.com/o/n`")
        );
        assert!(shown("git@gitlab.com:o/n").contains("`git@gitlab.com:o/n`"));
        assert!(shown("ssh://git@host:22/o/n").contains("`ssh://git@host:22/o/n`"));
    }

    #[test]
    fn owner_and_name_use_githubs_characters() {
        assert!(valid_part("trunk-io"));
        assert!(valid_part("my_repo.rs"));
        assert!(!valid_part(""));
        assert!(!valid_part(".."));
        assert!(!valid_part("has space"));
    }
}
