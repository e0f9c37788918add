//! How this process's events leave it, decided once when the runtime is set up: sent over
//! the network by this process, handed to the run's uploader, or spooled for a later one.
//!
//! One uploader per run: a process under an ancestor that uploads (an xtask using the
//! library, `trunk-ci-analytics exec`) hands its events to it, whether or not it could send
//! them itself, and opens no connection. The hand-over goes through the spool: each batch
//! is written to its sink's partition under the root the uploader announced, atomically, as
//! any undeliverable batch is, and the uploader, which lists its spool often while it lives
//! and again at its exit flush, sends those files with its own batches. The spool's claims
//! and liveness locks make that exactly-once across racing processes and an uploader that
//! dies; what is left behind waits for the next uploading process or
//! `trunk-ci-analytics flush`, as the batches of a process built without `upload` do.

use std::path::PathBuf;

use crate::config::Config;
use crate::platform::ancestry;
use crate::platform::dirs::default_spool_root;
use crate::record::run_uploader::RunUploader;

/// How this process's remote sinks deliver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// Sends over HTTP, and is the uploader of the processes it starts.
    #[cfg(feature = "upload")]
    Send,
    /// Hands every batch to the run's uploader, an ancestor process, through its spool.
    ToUploader(RunUploader),
    /// Spools every batch for the next uploading process or `trunk-ci-analytics flush`
    /// (built without `upload`, and no uploading ancestor).
    #[cfg(not(feature = "upload"))]
    Spool,
}

impl Delivery {
    /// The delivery `config` calls for. An announced uploader counts only while it is an
    /// ancestor of this process (the walk up the process tree is a few small reads).
    pub(crate) fn decide(config: &Config) -> Delivery {
        let uploader = config
            .run_uploader
            .as_ref()
            .filter(|_| config.use_run_uploader)
            .filter(|u| u.pid != std::process::id() && ancestry::is_ancestor(u.pid));
        if let Some(uploader) = uploader {
            return Delivery::ToUploader(uploader.clone());
        }
        #[cfg(feature = "upload")]
        return Delivery::Send;
        #[cfg(not(feature = "upload"))]
        Delivery::Spool
    }

    /// Whether the remote sinks send over the network.
    pub(crate) fn sends(&self) -> bool {
        #[cfg(feature = "upload")]
        if *self == Delivery::Send {
            return true;
        }
        false
    }

    /// Where the remote sinks' spool partitions are: the uploader's spool when handing over,
    /// else the configured one.
    pub(crate) fn spool_root(&self, config: &Config) -> PathBuf {
        match self {
            Delivery::ToUploader(uploader) => uploader.spool_root.clone(),
            _ => config.spool_dir.clone().unwrap_or_else(default_spool_root),
        }
    }

    /// What this process tells the processes it starts (`TRUNK_UPLOADER`): itself, when it
    /// sends to an endpoint; the uploader it hands its events to, so that its children do
    /// too; nothing when it only spools.
    pub(crate) fn announcement(&self, config: &Config) -> Option<RunUploader> {
        match self {
            Delivery::ToUploader(uploader) => Some(uploader.clone()),
            _ if self.sends() && (config.token.is_some() || config.has_otlp()) => {
                Some(RunUploader::this_process(&self.spool_root(config)))
            }
            _ => None,
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    fn announced_by(pid: u32) -> Config {
        let mut config = Config::default().token("t");
        config.run_uploader = Some(RunUploader {
            pid,
            spool_root: PathBuf::from("/var/spool/x"),
        });
        config
    }

    #[test]
    fn an_uploading_ancestor_takes_the_events() {
        let parent = std::os::unix::process::parent_id();
        let delivery = Delivery::decide(&announced_by(parent));
        assert!(matches!(&delivery, Delivery::ToUploader(u) if u.pid == parent));
        assert!(!delivery.sends());
        assert_eq!(
            delivery.spool_root(&Config::default()),
            PathBuf::from("/var/spool/x")
        );
        // Grandchildren hand over to the same uploader.
        assert_eq!(
            delivery.announcement(&Config::default()).map(|u| u.pid),
            Some(parent)
        );
        let own = Delivery::decide(&announced_by(parent).use_run_uploader(false));
        assert!(
            !matches!(own, Delivery::ToUploader(_)),
            "use_run_uploader(false)"
        );
    }

    #[test]
    fn an_announcement_from_outside_the_ancestry_is_not_followed() {
        for pid in [std::process::id(), u32::MAX] {
            let delivery = Delivery::decide(&announced_by(pid));
            assert!(!matches!(delivery, Delivery::ToUploader(_)), "{pid}");
            assert_eq!(delivery.sends(), cfg!(feature = "upload"));
        }
    }

    #[test]
    fn a_sending_process_announces_itself_with_its_spool() {
        let config = Config::default().token("t").spool_dir("/var/spool/mine");
        let delivery = Delivery::decide(&config);
        let announced = delivery.announcement(&config);
        if cfg!(feature = "upload") {
            assert_eq!(
                announced,
                Some(RunUploader {
                    pid: std::process::id(),
                    spool_root: PathBuf::from("/var/spool/mine"),
                })
            );
        } else {
            assert_eq!(
                announced, None,
                "a process that only spools uploads nothing"
            );
        }
        // Nothing to send to: nothing to announce.
        assert_eq!(
            Delivery::decide(&Config::default()).announcement(&Config::default()),
            None
        );
    }
}
