//! Facts about this process that every event carries, detected once on the background
//! thread (detection may run `git`, which the recording threads must never wait for).

use crate::config::Config;
use crate::model::wire::{Repo, TagValue};

/// The CI platform and the tags every event of this process carries.
#[derive(Clone, Debug, Default)]
pub(crate) struct ProcessInfo {
    pub(crate) platform: String,
    pub(crate) tags: Vec<(String, TagValue)>,
}

/// Detects the platform, the tags and (when uploading needs it) the repository.
pub(crate) fn detect(config: &Config) -> (ProcessInfo, Option<Repo>) {
    let uploading = config.token.is_some();
    let no_git = || None;
    let git: &dyn Fn() -> Option<String> = if config.repo.is_some() || !uploading {
        &no_git
    } else {
        &crate::config::detect::git_remote_origin
    };
    let (detected, warnings) = crate::config::detect::detect(&|name| std::env::var(name).ok(), git);
    if uploading {
        for w in warnings {
            crate::log!(Warn, "{w}");
        }
    }
    let repo = config.repo.clone().or(detected.repo);
    let info = ProcessInfo {
        platform: detected.platform,
        tags: detected.tags,
    };
    (info, repo)
}
