//! `#[track_event(err)]` on every function shape that returns a `Result`, warning-free.
#![deny(warnings)]

use std::future::Future;
use std::pin::Pin;

use trunk_ci_analytics::{Conclusion, track_event};

#[track_event(err)]
fn io() -> std::io::Result<u8> {
    Ok(1)
}

#[track_event(err)]
fn boxed_error() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    Err("no".into())
}

#[track_event(err)]
fn opaque_ok(v: &[u8]) -> Result<impl Iterator<Item = &u8>, String> {
    if v.is_empty() {
        return Err("empty".into());
    }
    Ok(v.iter())
}

#[track_event(err)]
fn generic<E: std::fmt::Display>(e: E) -> Result<(), E> {
    Err(e)
}

struct Counter(u32);

impl Counter {
    #[track_event(err)]
    fn bump(&mut self) -> Result<&mut u32, String> {
        self.0 += 1;
        Ok(&mut self.0)
    }
}

fn failure(_: &Result<u8, String>) -> Conclusion {
    Conclusion::Failure
}

#[track_event(err, conclusion = failure, root, flush = false)]
fn with_other_arguments() -> Result<u8, String> {
    Ok(1)
}

#[track_event(err = true)]
async fn async_err() -> Result<u8, String> {
    Err("async".into())
}

#[track_event(err)]
fn boxed_future() -> Pin<Box<dyn Future<Output = Result<u8, String>> + Send>> {
    Box::pin(async move { Ok(1) })
}

#[track_event(err)]
fn impl_future() -> impl Future<Output = Result<u8, String>> {
    async move { Ok(1) }
}

fn main() {
    let _ = io();
    let _ = boxed_error();
    let _ = opaque_ok(&[1]).map(|i| i.count());
    let _ = generic("e");
    let mut c = Counter(0);
    let _ = c.bump();
    let _ = with_other_arguments();
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        let _ = async_err().await;
        let _ = boxed_future().await;
        let _ = impl_future().await;
    });
}
