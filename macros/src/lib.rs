//! The `#[track_event]` attribute of [`trunk-ci-analytics`](https://docs.rs/trunk-ci-analytics).
//! Depend on the facade crate, which re-exports it with the runtime it expands to.
//!
//! Stages: `args` parses the attribute, `validate` checks it and the function, `expand`
//! generates the code (with `signature` and `body` analysing return types and bodies).

mod args;
mod body;
mod expand;
mod item;
mod signature;
mod validate;

use proc_macro::TokenStream;

/// Records each call of the function as a Trunk CI Analytics event: start and end time,
/// a conclusion taken from the return value, tags and metrics. Tracked calls made inside it
/// become its children, on this thread, in the futures it awaits, and (through
/// `EventContext` and `CommandExt`) in other threads, tasks and child processes.
///
/// ```
/// use std::process::Command;
/// use trunk_ci_analytics::{CommandExt, track_event};
///
/// #[track_event(kind = "step", tags(profile = profile))]
/// fn build(profile: &str) -> std::io::Result<std::process::ExitStatus> {
///     // `cargo` and the build scripts it runs join this event's chain.
///     Command::new("cargo").args(["--version"]).with_event_context().status()
/// }
///
/// #[track_event] // `main` flushes pending events when it returns, or panics
/// fn main() {
///     let _ = build("release");
/// }
/// ```
///
/// # Arguments
///
/// All optional, in any order, each at most once:
///
/// | argument | meaning | default |
/// |---|---|---|
/// | `name = "…"` | the sequence name | the function's name |
/// | `key = "…"` | the sequence key, shorter than 128 characters | `"{CARGO_PKG_NAME}::{module_path}::{fn}"`, `fn` being the function's own name (a `name` argument does not change it) |
/// | `kind = "…"` | the sequence kind | `"function"` |
/// | `platform = "…"` | the CI platform, snake_case | detected, else `"local"` |
/// | `tags(k = expr, …)` | event tags; numbers stay numbers, anything else goes through `Display` | the detected CI tags |
/// | `metrics(k = expr, …)` | event metrics (numbers, or a `Duration` in ms) | `duration_ms` |
/// | `sequence_tags(k = expr, …)` | tags of the sequence | none |
/// | `conclusion = path` | a `fn(&Return) -> Conclusion` that replaces the mapping below | |
/// | `root` | start a new chain even inside another event | off |
/// | `flush` | flush pending events when the call ends, also on panic | on for `main` only |
/// | `err` | on `Err`, record the error's `Display` (see [Error text](#error-text)) | off |
/// | `crate = path` | where the `trunk_ci_analytics` crate is, when it is re-exported | `::trunk_ci_analytics` |
///
/// Keys are identifiers or string literals. Tag and metric expressions are evaluated once,
/// when the call starts (before the body runs, while the arguments are still there), and
/// only when analytics is on.
///
/// ```
/// use std::time::Duration;
/// use trunk_ci_analytics::{Conclusion, track_event};
///
/// fn slow_is_timeout(took: &Duration) -> Conclusion {
///     if *took > Duration::from_secs(600) { Conclusion::TimedOut } else { Conclusion::Success }
/// }
///
/// #[track_event(
///     name = "integration tests",
///     key = "ci::integration",
///     kind = "job",
///     tags(shard = shard, "os family" = std::env::consts::FAMILY),
///     metrics(suites = suites.len()),
///     conclusion = slow_is_timeout,
/// )]
/// fn integration(shard: u32, suites: Vec<String>) -> Duration {
///     let start = std::time::Instant::now();
///     for suite in suites { /* run it */ let _ = suite; }
///     start.elapsed()
/// }
/// # integration(1, vec!["api".into()]);
/// ```
///
/// # Conclusions
///
/// By return type: `Result` (and aliases such as `io::Result`) `Ok` → `SUCCESS`, `Err` →
/// `FAILURE`; `bool`; `ExitStatus`, `Output` and `ExitCode` by exit code; `()`, `Option` and
/// any other type → `SUCCESS`; a type implementing `IntoConclusion` maps itself. A panic
/// records `FAILURE` and continues unchanged; an `async fn` whose future is dropped before
/// it completes records `CANCELLED`. `set_conclusion` inside the body wins over all of these.
/// The mapping is chosen from the concrete return type: in a generic function returning a
/// type parameter `T`, the value concludes `SUCCESS` (use `set_conclusion` or `conclusion`).
///
/// # Error text
///
/// With `err` (or `err = true`), a returned `Err`'s `Display` is recorded: as the event's
/// `error.message` tag, and as the status message of its OpenTelemetry span. It is cut to
/// 1024 characters (on a character boundary, ending in `… [truncated]`), and only formatted
/// when analytics is on and the call returned `Err`. The function must return a `Result`
/// (any alias) whose error type implements `Display`; anything else is a compile error at
/// `err`. It works on every shape below, `async` included.
///
/// **Off by default**: error messages often carry file paths, user data, command lines or
/// credentials pulled in by a failing request, and would be sent to every configured
/// destination. Turn it on per function, where the text is safe to send.
///
/// ```
/// use trunk_ci_analytics::track_event;
///
/// #[track_event(err)] // "error.message": "cannot parse `x`: invalid digit found in string"
/// fn shard_count(v: &str) -> Result<u32, String> {
///     v.parse().map_err(|e| format!("cannot parse `{v}`: {e}"))
/// }
/// # let _ = shard_count("x");
/// ```
///
/// # Function shapes
///
/// Free functions and methods (any receiver), trait default methods, `unsafe` and
/// `extern "C"` functions, generics, `impl Trait` arguments and returns, `async fn`
/// (the event starts at the first poll), `#[async_trait]` methods, and functions returning
/// `Pin<Box<dyn Future>>` or `impl Future` whose body is one `async move` block (the event
/// covers the future, not its creation). `#[tokio::main]` and `#[tokio::test]` go on either
/// side of it. Not allowed: `const fn`, and declarations without a body.
///
/// ```
/// use trunk_ci_analytics::track_event;
///
/// struct Cache { hits: u32 }
///
/// impl Cache {
///     #[track_event]
///     async fn warm(&mut self, keys: &[&str]) -> Result<u32, String> {
///         for key in keys {
///             if key.is_empty() {
///                 return Err("empty key".into());
///             }
///             self.hits += 1;
///         }
///         Ok(self.hits)
///     }
/// }
/// ```
///
/// With `TRUNK_CI_ANALYTICS=off` the function runs as if it were not annotated.
#[proc_macro_attribute]
pub fn track_event(args: TokenStream, item: TokenStream) -> TokenStream {
    expand_or_report(args.into(), item.into()).into()
}

/// On any error the function is emitted unchanged next to the errors, so the rest of the
/// crate still compiles and IDEs keep their completions.
fn expand_or_report(
    args: proc_macro2::TokenStream,
    item: proc_macro2::TokenStream,
) -> proc_macro2::TokenStream {
    let (args, mut errors) = args::parse(args);
    errors.extend(validate::args(&args));
    let expanded = match syn::parse2::<item::FnItem>(item.clone()) {
        Ok(function) => {
            errors.extend(validate::function(&function));
            errors.extend(validate::err(&args, &function));
            errors
                .is_empty()
                .then(|| expand::function(&args, &function))
        }
        Err(e) => {
            errors.push(if looks_like_fn(&item) {
                e
            } else {
                validate::not_a_function(&item)
            });
            None
        }
    };
    match expanded {
        Some(tokens) => tokens,
        None => {
            let errors = errors.iter().map(syn::Error::to_compile_error);
            quote::quote!(#item #(#errors)*)
        }
    }
}

/// Whether the item has `fn` before its first group: syntax `syn` does not know yet is
/// reported with syn's parse error, not as "not a function".
fn looks_like_fn(item: &proc_macro2::TokenStream) -> bool {
    use proc_macro2::TokenTree;
    item.clone()
        .into_iter()
        .take_while(
            |t| !matches!(t, TokenTree::Group(g) if g.delimiter() == proc_macro2::Delimiter::Brace),
        )
        .any(|t| matches!(t, TokenTree::Ident(i) if i == "fn"))
}
