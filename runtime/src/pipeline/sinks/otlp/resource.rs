//! What every span of this process shares: the resource (`service.name`, the SDK, the
//! user's `OTEL_RESOURCE_ATTRIBUTES`) and the CI/CD and VCS semantic-convention attributes
//! of the run, from the detected CI tags and the provider's variables.

use crate::config::detect::process_info::ProcessInfo;
use crate::config::otlp::Otlp;
use crate::model::wire::{Repo, TagValue};

/// `telemetry.sdk.name`, and the instrumentation scope's name.
pub(crate) const SDK_NAME: &str = "trunk-ci-analytics";
/// `telemetry.sdk.version` and the scope's version.
pub(crate) const SDK_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The resource attributes, `service.name` first.
pub(crate) fn resource(otlp: &Otlp, get: &dyn Fn(&str) -> Option<String>) -> Vec<(String, String)> {
    let from_list = otlp
        .resource
        .iter()
        .find(|(k, _)| k == "service.name")
        .map(|(_, v)| v.clone());
    let service = otlp
        .service_name
        .clone()
        .or(from_list)
        .unwrap_or_else(|| default_service_name(get));
    let mut out = vec![("service.name".to_owned(), service)];
    out.extend(
        otlp.resource
            .iter()
            .filter(|(k, _)| k != "service.name" && !k.starts_with("telemetry.sdk."))
            .cloned(),
    );
    out.push(("telemetry.sdk.name".into(), SDK_NAME.into()));
    out.push(("telemetry.sdk.language".into(), "rust".into()));
    out.push(("telemetry.sdk.version".into(), SDK_VERSION.into()));
    out
}

/// The program's file name; for a build script (all named `build-script-build`) the name of
/// the crate cargo builds it for.
fn default_service_name(get: &dyn Fn(&str) -> Option<String>) -> String {
    let exe = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().and_then(|s| s.to_str()).map(str::to_owned));
    let package = get("CARGO_PKG_NAME");
    match exe {
        Some(exe) if exe.starts_with("build-script-") || exe.starts_with("build_script_") => {
            package.unwrap_or(exe)
        }
        Some(exe) => exe,
        None => package.unwrap_or_else(|| "unknown_service".into()),
    }
}

/// The run's semantic-convention attributes that are known.
pub(crate) fn run_attributes(
    info: &ProcessInfo,
    repo: Option<&Repo>,
    get: &dyn Fn(&str) -> Option<String>,
) -> Vec<(&'static str, String)> {
    let tag = |k: &str| {
        info.tags.iter().find_map(|(key, v)| match v {
            TagValue::Str(s) if key == k && !s.is_empty() => Some(s.clone()),
            _ => None,
        })
    };
    let first = |names: &[&str]| names.iter().find_map(|n| get(n).filter(|v| !v.is_empty()));
    let (name, run): (&[&str], &[&str]) = match info.platform.as_str() {
        "github_actions" => (&["GITHUB_WORKFLOW"], &["GITHUB_RUN_ID"]),
        "gitlab_ci" => (
            &["CI_PIPELINE_NAME", "CI_PROJECT_PATH"],
            &["CI_PIPELINE_ID"],
        ),
        "buildkite" => (&["BUILDKITE_PIPELINE_SLUG"], &["BUILDKITE_BUILD_ID"]),
        "circleci" => (
            &["CIRCLE_WORKFLOW_NAME", "CIRCLE_JOB"],
            &["CIRCLE_WORKFLOW_ID"],
        ),
        "azure_pipelines" => (&["BUILD_DEFINITIONNAME"], &["BUILD_BUILDID"]),
        "jenkins" => (&["JOB_NAME"], &["BUILD_TAG", "BUILD_NUMBER"]),
        _ => (&[], &[]),
    };
    let mut out = Vec::new();
    let mut put = |k: &'static str, v: Option<String>| {
        if let Some(v) = v {
            out.push((k, v));
        }
    };
    put("cicd.pipeline.name", first(name));
    put("cicd.pipeline.run.id", first(run));
    put("cicd.pipeline.run.url.full", tag("run_url"));
    put(
        "vcs.repository.url.full",
        repo.map(|r| format!("https://{}/{}/{}", r.host, r.owner, r.name)),
    );
    put("vcs.ref.head.name", tag("branch"));
    put("vcs.ref.head.revision", tag("sha"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_name_comes_from_the_settings_first() {
        let mut otlp = Otlp::new();
        otlp.resource = vec![
            ("service.name".into(), "from-list".into()),
            ("team".into(), "build".into()),
        ];
        let none = |_: &str| None;
        let r = resource(&otlp, &none);
        assert_eq!(r[0], ("service.name".into(), "from-list".into()));
        assert_eq!(r[1], ("team".into(), "build".into()));
        otlp.service_name = Some("xtask".into());
        assert_eq!(resource(&otlp, &none)[0].1, "xtask");
        assert!(resource(&otlp, &none).contains(&("telemetry.sdk.language".into(), "rust".into())));
    }

    #[test]
    fn github_runs_are_named() {
        let info = ProcessInfo {
            platform: "github_actions".into(),
            tags: vec![
                ("branch".into(), TagValue::Str("main".into())),
                ("sha".into(), TagValue::Str("abc123".into())),
            ],
        };
        let repo = Repo {
            host: "github.com".into(),
            owner: "acme".into(),
            name: "app".into(),
        };
        let env = |n: &str| match n {
            "GITHUB_WORKFLOW" => Some("CI".to_owned()),
            "GITHUB_RUN_ID" => Some("42".to_owned()),
            _ => None,
        };
        let attrs = run_attributes(&info, Some(&repo), &env);
        assert_eq!(
            attrs,
            [
                ("cicd.pipeline.name", "CI".to_owned()),
                ("cicd.pipeline.run.id", "42".to_owned()),
                (
                    "vcs.repository.url.full",
                    "https://github.com/acme/app".to_owned()
                ),
                ("vcs.ref.head.name", "main".to_owned()),
                ("vcs.ref.head.revision", "abc123".to_owned()),
            ]
        );
    }
}
