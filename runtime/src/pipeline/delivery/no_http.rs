//! Without the `upload` feature there is no HTTP client: no uploader ever has one, so every
//! batch goes to the spool (or to the run's uploader, through it). This uninhabited type
//! stands in for the client, so that the uploader's logic is one and the same in both builds
//! and the compiler proves the sending paths unreachable here.

use std::future::Future;
use std::pin::Pin;

use super::body::Body;

use super::protocol::Outcome;

/// A request in flight; never made in this build.
pub(crate) type Request = Pin<Box<dyn Future<Output = Outcome>>>;

/// No value of this type exists in a build without `upload`.
#[derive(Debug)]
pub(crate) enum Http {}

impl Http {
    pub(crate) fn post(&self, _body: Body) -> Request {
        match *self {}
    }
}
