//! Each function shape of `tests/ui/pass` run for real: the call returns what the body
//! returns and records one event, under the caller, with the right conclusion.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails by panicking

mod support;

use std::future::Future;
use std::pin::Pin;

use support::conclusion;
use trunk_ci_analytics::track_event;

#[track_event]
pub(crate) fn crate_visible() -> u8 {
    1
}

/// # Safety
/// `p` must be valid for reads.
#[track_event]
unsafe fn unsafe_read(p: *const u8) -> u8 {
    unsafe { *p }
}

#[track_event]
extern "C" fn c_abi(x: i32) -> i32 {
    x + 1
}

#[track_event]
fn longest<'a, T>(a: &'a T, b: &'a T) -> &'a T
where
    T: PartialOrd + ?Sized,
{
    if a > b { a } else { b }
}

#[track_event]
fn impl_trait_args(xs: impl IntoIterator<Item = u32>) -> impl Iterator<Item = u32> {
    xs.into_iter().map(|x| x * 2)
}

#[track_event]
fn impl_iterator_in_result(s: &str) -> Result<impl Iterator<Item = u32>, std::num::ParseIntError> {
    let n: u32 = s.parse()?;
    Ok(0..n)
}

struct Point {
    x: i32,
    y: i32,
}

#[track_event]
fn destructured(
    (a, b): (i32, i32),
    Point { x, y }: Point,
    &(c, d): &(i32, i32),
    mut m: i32,
) -> i32 {
    m *= 10;
    a + b + x + y + c + d + m
}

#[track_event]
fn cfg_args(#[cfg(unix)] os: &str, #[cfg(not(unix))] os: &str) -> usize {
    #![allow(clippy::needless_return)]
    return os.len();
}

/// Kept docs.
#[must_use]
#[inline]
#[track_event]
fn attributes_kept() -> bool {
    false
}

trait Describe {
    fn id(&self) -> u32;

    #[track_event]
    fn describe(&self) -> String {
        format!("#{}", self.id())
    }
}

struct Item {
    id: u32,
    log: Vec<String>,
}

impl Describe for Item {
    fn id(&self) -> u32 {
        self.id
    }
}

impl Item {
    #[track_event]
    fn by_value(self) -> u32 {
        self.id
    }

    #[track_event]
    fn by_mut(&mut self) -> &mut Vec<String> {
        &mut self.log
    }

    #[track_event]
    fn boxed(self: Box<Self>) -> u32 {
        self.id
    }

    #[track_event]
    fn pinned(self: Pin<&mut Self>) -> u32 {
        self.id
    }
}

struct Generic<T>(T);

impl<T: Clone + Into<u64>> Generic<T> {
    #[track_event]
    fn widened(&self) -> u64 {
        self.0.clone().into()
    }
}

#[track_event]
fn sync_shapes() {
    assert_eq!(crate_visible(), 1);
    assert_eq!(unsafe { unsafe_read(&9) }, 9);
    assert_eq!(c_abi(1), 2);
    assert_eq!(longest("a", "b"), "b");
    assert_eq!(impl_trait_args([1, 2]).sum::<u32>(), 6);
    assert!(impl_iterator_in_result("x").is_err());
    assert_eq!(destructured((1, 2), Point { x: 3, y: 4 }, &(5, 6), 7), 91);
    assert_eq!(cfg_args("os"), 2);
    assert!(!attributes_kept());
    let mut item = Item {
        id: 4,
        log: Vec::new(),
    };
    assert_eq!(item.describe(), "#4");
    item.by_mut().push("pushed".into());
    assert_eq!(item.log, ["pushed"]);
    assert_eq!(
        std::pin::pin!(Item {
            id: 5,
            log: Vec::new()
        })
        .as_mut()
        .pinned(),
        5
    );
    assert_eq!(
        Box::new(Item {
            id: 6,
            log: Vec::new()
        })
        .boxed(),
        6
    );
    assert_eq!(item.by_value(), 4);
    assert_eq!(Generic(3u8).widened(), 3);
}

#[test]
fn sync_shapes_record_one_event_each() {
    support::init();
    sync_shapes();
    let events = support::tree("sync_shapes");
    let expected = [
        ("crate_visible", "SUCCESS"),
        ("unsafe_read", "SUCCESS"),
        ("c_abi", "SUCCESS"),
        ("longest", "SUCCESS"),
        ("impl_trait_args", "SUCCESS"),
        ("impl_iterator_in_result", "FAILURE"),
        ("destructured", "SUCCESS"),
        ("cfg_args", "SUCCESS"),
        ("attributes_kept", "FAILURE"),
        ("describe", "SUCCESS"),
        ("by_mut", "SUCCESS"),
        ("pinned", "SUCCESS"),
        ("boxed", "SUCCESS"),
        ("by_value", "SUCCESS"),
        ("widened", "SUCCESS"),
    ];
    for (name, want) in expected {
        events.assert_child(name, "sync_shapes");
        assert_eq!(conclusion(events.one(name)), want, "{name}");
    }
    assert_eq!(events.len(), expected.len() + 1, "{:?}", events.names());
}

#[track_event]
async fn async_question(s: &str) -> Result<u32, Box<dyn std::error::Error + Send + Sync>> {
    if s.is_empty() {
        return Err("empty".into());
    }
    tokio::task::yield_now().await;
    Ok(s.parse::<u32>()?)
}

#[track_event]
async fn async_generic<'a, T: PartialEq + Sync>(items: &'a [T], want: &T) -> Option<&'a T> {
    tokio::task::yield_now().await;
    items.iter().find(|t| *t == want)
}

impl Item {
    #[track_event]
    async fn async_by_mut(&mut self) -> &mut Vec<String> {
        tokio::task::yield_now().await;
        &mut self.log
    }
}

trait Native {
    async fn base(&self) -> u32;

    #[track_event]
    async fn doubled(&self) -> Result<u32, String> {
        Ok(self.base().await * 2)
    }
}

impl Native for Item {
    #[track_event]
    async fn base(&self) -> u32 {
        self.id
    }
}

#[async_trait::async_trait]
trait Job {
    async fn run(&self, input: &str) -> Result<usize, String>;
}

#[async_trait::async_trait]
impl Job for Item {
    #[track_event(kind = "job")]
    async fn run(&self, input: &str) -> Result<usize, String> {
        tokio::task::yield_now().await;
        async_inner_of_async_trait().await;
        if input.is_empty() {
            return Err("no input".into());
        }
        Ok(input.len())
    }
}

#[track_event]
async fn async_inner_of_async_trait() {}

#[track_event]
fn boxed_future(x: u32) -> Pin<Box<dyn Future<Output = Result<u32, String>> + Send>> {
    Box::pin(async move {
        tokio::task::yield_now().await;
        let y: u32 = "x".parse().map_err(|_| "not a number".to_string())?;
        Ok(x + y)
    })
}

#[track_event]
#[allow(clippy::manual_async_fn)]
fn impl_future(x: u32) -> impl Future<Output = u32> + Send {
    async move {
        tokio::task::yield_now().await;
        x + 1
    }
}

#[track_event]
async fn async_shapes() {
    assert_eq!(async_question("7").await.unwrap(), 7);
    assert!(async_question("").await.is_err());
    assert_eq!(async_generic(&[1, 2], &2).await, Some(&2));
    let mut item = Item {
        id: 3,
        log: Vec::new(),
    };
    item.async_by_mut().await.push("x".into());
    assert_eq!(item.doubled().await, Ok(6));
    assert_eq!(item.run("abc").await, Ok(3));
    assert!(boxed_future(1).await.is_err());
    let fut = impl_future(1);
    assert_eq!(fut.await, 2);
}

#[test]
fn async_shapes_record_one_event_each() {
    support::init();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async_shapes());
    let events = support::tree("async_shapes");
    assert_eq!(events.all("async_question").len(), 2);
    let mut question: Vec<_> = events
        .all("async_question")
        .into_iter()
        .map(conclusion)
        .collect();
    question.sort();
    assert_eq!(question, ["FAILURE", "SUCCESS"]);
    let expected = [
        ("async_generic", "SUCCESS"),
        ("async_by_mut", "SUCCESS"),
        ("doubled", "SUCCESS"),
        ("run", "SUCCESS"),
        ("boxed_future", "FAILURE"),
        ("impl_future", "SUCCESS"),
    ];
    for (name, want) in expected {
        events.assert_child(name, "async_shapes");
        assert_eq!(conclusion(events.one(name)), want, "{name}");
    }
    events.assert_child("base", "doubled");
    events.assert_child("async_inner_of_async_trait", "run");
    assert_eq!(events.one("run")["sequence"]["kind"], "job");
    assert_eq!(events.len(), expected.len() + 5, "{:?}", events.names());
}
