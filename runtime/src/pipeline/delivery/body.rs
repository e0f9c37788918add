//! Request bodies, shared without copying between a batch, its attempts and the spool.
//!
//! With `upload` a body is `bytes::Bytes`, which reqwest takes as it is. Without it nothing
//! sends, and the few operations the batches need are this `Arc` of the buffer: `bytes` would
//! be one more crate that a build-dependency compiles before ours can start (BENCHMARKS.md,
//! "Light in build scripts").

#[cfg(feature = "upload")]
pub(crate) use bytes::Bytes as Body;

/// The buffer of `body`, emptied, if nothing else holds it: the buffer of a later batch.
#[cfg(feature = "upload")]
pub(crate) fn take_back(body: Body) -> Option<Vec<u8>> {
    let mut body = body.try_into_mut().ok()?;
    // Emptied first: the conversion would move the bytes to the allocation's start.
    body.clear();
    Some(Vec::from(body))
}

#[cfg(not(feature = "upload"))]
pub(crate) use shared::{Body, take_back};

#[cfg(not(feature = "upload"))]
mod shared {
    use std::ops::{Deref, RangeFrom};
    use std::sync::Arc;

    /// A buffer's bytes from `start` on; clones share the buffer.
    #[derive(Clone, Debug, Default)]
    pub(crate) struct Body {
        buf: Arc<Vec<u8>>,
        start: usize,
    }

    impl Body {
        pub(crate) fn new() -> Body {
            Body::default()
        }

        pub(crate) fn from_static(bytes: &'static [u8]) -> Body {
            Body::from(bytes.to_vec())
        }

        /// The bytes from `range.start` on (relative to this body), sharing the buffer.
        pub(crate) fn slice(&self, range: RangeFrom<usize>) -> Body {
            let start = (self.start + range.start).min(self.buf.len());
            Body {
                buf: Arc::clone(&self.buf),
                start,
            }
        }
    }

    impl From<Vec<u8>> for Body {
        fn from(buf: Vec<u8>) -> Body {
            Body {
                buf: Arc::new(buf),
                start: 0,
            }
        }
    }

    impl From<String> for Body {
        fn from(text: String) -> Body {
            Body::from(text.into_bytes())
        }
    }

    impl Deref for Body {
        type Target = [u8];

        fn deref(&self) -> &[u8] {
            self.buf.get(self.start..).unwrap_or_default()
        }
    }

    /// The buffer of `body`, emptied, if nothing else holds it: the buffer of a later batch.
    pub(crate) fn take_back(body: Body) -> Option<Vec<u8>> {
        let mut buf = Arc::try_unwrap(body.buf).ok()?;
        buf.clear();
        Some(buf)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn a_slice_shares_the_buffer_and_keeps_its_own_start() {
            let body = Body::from(b"<5>abcde".to_vec());
            let tail = body.slice(3..);
            assert_eq!(&tail[..], b"abcde");
            assert_eq!(&tail.slice(2..)[..], b"cde");
            assert_eq!(&body.slice(99..)[..], b"");
            assert_eq!(tail.as_ptr(), body[3..].as_ptr());
        }

        #[test]
        fn the_buffer_comes_back_empty_once_nothing_else_holds_it() {
            let body = Body::from(String::from("abc"));
            let held = body.clone();
            assert!(take_back(body).is_none());
            let buf = take_back(held).unwrap_or_default();
            assert!(buf.is_empty() && buf.capacity() >= 3);
        }
    }
}
