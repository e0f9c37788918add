//! Every asynchronous function shape `#[track_event]` must keep compiling, warning-free,
//! with futures that stay `Send` where the body's are.
#![deny(warnings)]

use std::future::Future;
use std::pin::Pin;

use trunk_ci_analytics::track_event;

fn assert_send<T: Send>(t: T) -> T {
    t
}

#[track_event]
pub async fn public() {}

#[track_event]
pub(crate) async fn crate_visible(x: u8) -> u8 {
    tokio::task::yield_now().await;
    x
}

/// # Safety
/// `p` must be valid for reads.
#[track_event]
async unsafe fn read(p: *const u8) -> u8 {
    unsafe { *p }
}

#[track_event]
async fn generic<'a, T>(items: &'a [T], pick: impl Fn(&T) -> bool) -> Option<&'a T>
where
    T: std::fmt::Debug + Sync,
{
    items.iter().find(|t| pick(t))
}

#[track_event]
async fn question(s: &str) -> Result<u32, Box<dyn std::error::Error + Send + Sync>> {
    if s.is_empty() {
        return Err("empty".into());
    }
    let n: u32 = s.parse()?;
    tokio::task::yield_now().await;
    Ok(n)
}

#[track_event]
async fn impl_in_result(n: u32) -> Result<impl Iterator<Item = u32>, std::io::Error> {
    std::fs::metadata(".")?;
    Ok(0..n)
}

#[track_event]
async fn impl_return() -> impl std::fmt::Display {
    7
}

#[track_event]
async fn destructured((a, b): (u8, u8), &(c, d): &(u8, u8), mut m: u8) -> u8 {
    m += 1;
    a + b + c + d + m
}

#[track_event]
async fn inner_attributes(#[cfg(unix)] os: &str, #[cfg(not(unix))] os: u8) {
    #![allow(unused_variables)]
    let unused = os;
}

/// Documented.
#[must_use]
#[track_event]
#[expect(unused_mut)]
async fn attributes_kept(mut x: u8) -> u8 {
    x
}

struct Store {
    items: Vec<String>,
}

impl Store {
    #[track_event]
    async fn by_ref(&self) -> &str {
        &self.items[0]
    }

    #[track_event]
    async fn by_mut(&mut self) -> &mut Vec<String> {
        &mut self.items
    }

    #[track_event]
    async fn by_value(self) -> usize {
        self.items.len()
    }

    #[track_event]
    async fn boxed(self: Box<Self>) -> usize {
        self.items.len()
    }

    #[track_event]
    async fn pinned(self: Pin<&mut Self>) -> usize {
        self.items.len()
    }
}

// Native async fn in traits: default methods and implementations.
trait Step {
    async fn run(&self) -> Result<u32, String>;

    #[track_event]
    async fn run_twice(&self) -> Result<u32, String> {
        let a = self.run().await?;
        Ok(a + self.run().await?)
    }
}

struct Build;

impl Step for Build {
    #[track_event(kind = "step")]
    async fn run(&self) -> Result<u32, String> {
        Ok(1)
    }
}

// `async-trait`: the trait attribute expands first, ours sees `Box::pin(async move {..})`.
#[async_trait::async_trait]
trait Job: Sync {
    async fn name(&self) -> String;

    #[track_event]
    async fn describe(&self, prefix: &str) -> Result<String, std::fmt::Error> {
        let name = self.name().await;
        if name.is_empty() {
            return Err(std::fmt::Error);
        }
        Ok(format!("{prefix}{name}"))
    }
}

struct Lint;

#[async_trait::async_trait]
impl Job for Lint {
    #[track_event(tags(job = "lint"))]
    async fn name(&self) -> String {
        "lint".to_owned()
    }
}

#[async_trait::async_trait(?Send)]
trait LocalJob {
    async fn local(&mut self, (a, b): (u8, u8)) -> u8;
}

#[async_trait::async_trait(?Send)]
impl LocalJob for Build {
    #[track_event]
    async fn local(&mut self, (a, b): (u8, u8)) -> u8 {
        a + b
    }
}

// Hand-written future-returning bodies.
#[track_event]
fn boxed_future(x: u32) -> Pin<Box<dyn Future<Output = Result<u32, String>> + Send>> {
    Box::pin(async move {
        let y: u32 = "1".parse().map_err(|_| "nan".to_string())?;
        Ok(x + y)
    })
}

#[track_event]
#[allow(clippy::manual_async_fn)]
fn impl_future(x: u32) -> impl Future<Output = Result<u32, std::num::ParseIntError>> + Send {
    async move {
        let y: u32 = "2".parse()?;
        Ok(x + y)
    }
}

// With `#[tokio::main]` on either side of ours (it also works on functions not named main).
#[track_event]
#[tokio::main(flavor = "current_thread")]
async fn ours_outside() -> u8 {
    crate_visible(3).await
}

#[tokio::main(flavor = "current_thread")]
#[track_event]
async fn ours_inside() -> Result<u32, Box<dyn std::error::Error + Send + Sync>> {
    question("4").await
}

// With `#[tokio::test]` on either side. A pass file is not built in test mode, so the test
// attribute drops these functions after the macros ran; `tests/macro_tree.rs` compiles and
// runs the same shapes as tests.
#[tokio::test]
#[track_event]
async fn tokio_test_outside_ours() {
    public().await;
}

#[track_event]
#[tokio::test]
async fn ours_outside_tokio_test() -> Result<(), String> {
    let n: u32 = "1".parse().map_err(|_| "nan".to_string())?;
    assert_eq!(n, 1);
    Ok(())
}

#[track_event]
#[tokio::main]
async fn main() {
    public().await;
    assert_send(crate_visible(1)).await;
    let _ = unsafe { read(&1) }.await;
    let _ = assert_send(generic(&[1, 2], |x| *x > 1)).await;
    let _ = assert_send(question("1")).await;
    let _ = impl_in_result(2).await.map(|i| i.count());
    let _ = impl_return().await;
    let _ = destructured((1, 2), &(3, 4), 5).await;
    inner_attributes("os").await;
    let _ = attributes_kept(1).await;
    let mut store = Store { items: vec!["a".into()] };
    let _ = store.by_ref().await;
    store.by_mut().await.push("b".into());
    let _ = std::pin::pin!(Store { items: Vec::new() }).as_mut().pinned().await;
    let _ = Box::new(Store { items: Vec::new() }).boxed().await;
    let _ = assert_send(store.by_value()).await;
    let _ = assert_send(Build.run_twice()).await;
    let _ = assert_send(Lint.describe("> ")).await;
    let _ = Build.local((1, 2)).await;
    let _ = assert_send(boxed_future(1)).await;
    let _ = assert_send(impl_future(1)).await;
    let _ = tokio::task::spawn_blocking(|| (ours_outside(), ours_inside().is_ok())).await;
}
