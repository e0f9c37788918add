//! Facade (docs to come).
#![deny(missing_docs)]

pub use trunk_ci_analytics_macros::track_event;
pub use trunk_ci_analytics_runtime::*;
