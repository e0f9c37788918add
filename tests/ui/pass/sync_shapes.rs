//! Every synchronous function shape `#[track_event]` must keep compiling, warning-free.
#![deny(warnings)]

use std::fmt::Display;
use std::pin::Pin;

use trunk_ci_analytics::{Conclusion, track_event};

// Visibility, qualifiers and ABI.
#[track_event]
pub fn public() {}

#[track_event]
pub(crate) fn crate_visible() -> u8 {
    1
}

/// # Safety
/// `p` must be valid for reads.
#[track_event]
pub unsafe fn read(p: *const u8) -> u8 {
    unsafe { *p }
}

#[track_event]
pub extern "C" fn c_abi(x: i32) -> i32 {
    x + 1
}

/// # Safety
/// `p` must be valid for reads.
#[track_event]
pub unsafe extern "C" fn unsafe_c_abi(p: *const i32) -> i32 {
    unsafe { *p }
}

// Generics, lifetimes, where clauses.
#[track_event]
fn longest<'a, 'b: 'a, T>(a: &'a T, b: &'b T) -> &'a T
where
    T: PartialOrd + ?Sized,
{
    if a > b { a } else { b }
}

#[track_event]
fn elided(s: &str) -> &str {
    s.trim()
}

#[track_event]
fn boxed_iter(v: &[u8]) -> Box<dyn Iterator<Item = &u8> + '_> {
    Box::new(v.iter())
}

#[track_event]
fn capturing_iter<'a>(v: &'a [u8], min: &u8) -> impl Iterator<Item = &'a u8> + use<'a> {
    let min = *min;
    v.iter().filter(move |x| **x >= min)
}

#[track_event]
fn cow<'a>(s: &'a str) -> std::borrow::Cow<'a, str> {
    if s.is_empty() { "empty".into() } else { s.into() }
}

#[track_event]
fn const_generic<const N: usize>(xs: [u8; N]) -> usize {
    xs.len() + N
}

// impl Trait arguments and returns, including nested in a Result.
#[track_event]
fn sum(xs: impl IntoIterator<Item = u32>) -> u32 {
    xs.into_iter().sum()
}

#[track_event]
fn evens(n: u32) -> impl Iterator<Item = u32> + Clone {
    (0..n).filter(|x| x % 2 == 0)
}

#[track_event]
fn parsed(s: &str) -> Result<impl Iterator<Item = u32>, std::num::ParseIntError> {
    let n: u32 = s.parse()?;
    Ok(0..n)
}

#[track_event]
fn shown(x: impl Display) -> Box<dyn Display> {
    Box::new(x.to_string())
}

// `?`, early return, never.
#[track_event]
fn early(x: i32) -> Result<i32, String> {
    if x < 0 {
        return Err("negative".into());
    }
    let y: i32 = "5".parse().map_err(|_| "nan".to_string())?;
    Ok(x + y)
}

#[track_event]
fn boxed_error() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    std::fs::metadata("/definitely/not/here")?;
    Ok(())
}

#[track_event]
fn option_question(v: &[u8]) -> Option<u8> {
    let first = v.first()?;
    Some(*first)
}

#[track_event]
fn never() -> ! {
    panic!("never returns")
}

// Destructured and mutable arguments; #[cfg] on arguments.
struct Point {
    x: i32,
    y: i32,
}

#[track_event]
fn destructured((a, b): (i32, i32), Point { x, y }: Point, &(c, d): &(i32, i32), mut m: i32) -> i32 {
    m += 1;
    a + b + x + y + c + d + m
}

#[track_event]
fn cfg_args(#[cfg(unix)] os: &str, #[cfg(not(unix))] os: u32, _ignored: u8) -> String {
    os.to_string()
}

// Inner attributes, doc comments, must_use, inline, expect.
#[track_event]
fn inner_attributes() {
    #![allow(unused_variables)]
    //! Inner doc comment.
    let unused = 1;
}

/// Documented.
#[must_use = "the answer matters"]
#[inline]
#[track_event]
#[expect(unused_mut, reason = "checks that #[expect] is kept")]
fn attributes_kept(mut x: u32) -> u32 {
    x + 42
}

#[track_event]
#[inline(always)]
#[doc = "doc attribute after ours"]
#[expect(unused_variables)]
fn expect_after(x: u8) {}

// Receivers, trait default methods, generic impls.
trait Named {
    fn name(&self) -> String;

    #[track_event]
    fn greeting(&self) -> String {
        format!("hello {}", self.name())
    }

    #[track_event]
    fn consume(self) -> String
    where
        Self: Sized,
    {
        self.name()
    }
}

struct Counter {
    n: u64,
    items: Vec<u8>,
}

impl Named for Counter {
    #[track_event]
    fn name(&self) -> String {
        format!("counter {}", self.n)
    }
}

impl Counter {
    #[track_event]
    fn by_value(self) -> u64 {
        self.n
    }

    #[track_event]
    fn by_ref(&self) -> &u64 {
        &self.n
    }

    #[track_event]
    fn by_mut(&mut self) -> &mut Vec<u8> {
        self.n += 1;
        &mut self.items
    }

    #[track_event]
    fn boxed(self: Box<Self>) -> u64 {
        self.n
    }

    #[track_event]
    fn pinned(self: Pin<&mut Self>) -> u64 {
        self.get_mut().n
    }

    #[track_event]
    fn associated() -> Self {
        Counter { n: 0, items: Vec::new() }
    }

    #[track_event]
    fn mut_binding(mut self, by: u64) -> Self {
        self.n += by;
        self
    }
}

struct Wrapper<T>(Vec<T>);

impl<T: Clone + Default> Wrapper<T> {
    #[track_event]
    fn first_or_default(&self) -> T {
        self.0.first().cloned().unwrap_or_default()
    }

    #[track_event]
    fn map<U, F>(self, f: F) -> Wrapper<U>
    where
        F: FnMut(T) -> U,
    {
        Wrapper(self.0.into_iter().map(f).collect())
    }
}

// Every argument at once, and bare flags with values.
fn by_status(ok: &bool) -> Conclusion {
    Conclusion::from_success(*ok)
}

#[track_event(
    name = "everything",
    key = "ui::sync::everything",
    kind = "step",
    platform = "github_actions",
    tags(target = target, shard = 3, "with space" = "x", r#type = 1.5),
    metrics(crates = 10u32, ratio = 0.5),
    sequence_tags(team = "build"),
    conclusion = by_status,
    root,
    flush = false,
    crate = ::trunk_ci_analytics
)]
fn everything(target: &str) -> bool {
    !target.is_empty()
}

#[track_event(sequence_tags(only = 1), root = false, flush)]
fn only_sequence_tags() {}

fn main() {
    public();
    let _ = crate_visible();
    let _ = unsafe { read(&7) };
    let _ = c_abi(1) + unsafe { unsafe_c_abi(&2) };
    let _ = longest("a", "b");
    let _ = elided(" x ");
    let _ = const_generic([1, 2]);
    let _ = boxed_iter(&[1]).count() + capturing_iter(&[1, 2], &2).count();
    let _ = cow("");
    let _ = sum([1, 2]) + evens(4).count() as u32;
    let _ = parsed("3").map(|i| i.count());
    let _ = shown(1);
    let _ = early(1);
    let _ = boxed_error();
    let _ = option_question(&[1]);
    let _ = never as fn() -> !;
    let _ = destructured((1, 2), Point { x: 1, y: 2 }, &(3, 4), 5);
    let _ = cfg_args("os", 0);
    inner_attributes();
    let _ = attributes_kept(0);
    expect_after(1);
    let mut c = Counter::associated();
    let _ = c.greeting();
    let _ = c.by_ref();
    c.by_mut().push(1);
    let _ = std::pin::pin!(Counter::associated()).as_mut().pinned();
    let _ = Box::new(Counter::associated()).boxed();
    let _ = c.mut_binding(2).by_value();
    let _ = Counter::associated().consume();
    let w = Wrapper(vec![1u8]);
    let _ = w.first_or_default();
    let _ = w.map(u16::from);
    let _ = everything("x86_64");
    only_sequence_tags();
}
