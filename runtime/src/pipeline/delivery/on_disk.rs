//! A remote sink's own place on disk: its spool partition and its breaker marker, both in
//! the spool directory every process of a pipeline shares (the run's uploader's, when this
//! process hands its events to it).

use super::breaker::Breaker;
use super::retry::Jitter;
use super::spool::Spool;
use crate::config::Config;
use crate::config::delivery::Delivery;

/// The spool partition `partition` (`None`, said once on stderr, when it cannot be used) and
/// the breaker of `address`, under the spool root `delivery` names. A process that sends
/// looks for new files often: the processes under it hand their events over there.
pub(crate) fn open(
    config: &Config,
    delivery: &Delivery,
    partition: &str,
    address: &str,
) -> (Option<Spool>, Breaker) {
    let tuning = &config.tuning;
    let tag = format!("{:x}{:04x}", std::process::id(), Jitter::new().tag());
    let root = delivery.spool_root(config);
    let mut spool = Spool::new(root, partition, tuning.spool_bytes, tag.clone());
    if delivery.sends() {
        spool.watch_for_children();
    }
    let spool = match spool.ensure_dir() {
        Ok(()) => Some(spool),
        Err(e) => {
            crate::log_once!(
                Error,
                "cannot use the spool directory ({e}); events the network cannot take are \
                 dropped (set TRUNK_SPOOL_DIR to a writable directory)"
            );
            None
        }
    };
    let breaker = Breaker::new(
        spool.as_ref().and_then(Spool::root),
        address,
        tag,
        tuning.breaker_cooldown,
        tuning.request_timeout,
    );
    (spool, breaker)
}
