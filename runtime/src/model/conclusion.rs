//! How an event ended, and how a function's return value maps to it.

/// How an event ended: the `conclusion` field of the wire event.
///
/// A tracked function's conclusion comes from its return value (see [`IntoConclusion`]);
/// [`set_conclusion`](crate::set_conclusion) inside the body, or
/// [`ManualEvent::finish`](crate::ManualEvent::finish), sets it directly. In the tree
/// summary each has a symbol: ✔ success, ✘ failure, ⊘ cancelled, ⏱ timed out, ↷ skipped.
///
/// ```
/// use trunk_ci_analytics::Conclusion;
///
/// assert_eq!(Conclusion::TimedOut.as_str(), "TIMED_OUT");
/// assert_eq!(Conclusion::Skipped.to_string(), "SKIPPED");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Conclusion {
    /// The work succeeded.
    Success,
    /// The work failed (an `Err`, a non-zero exit, a panic).
    Failure,
    /// The work was stopped before it finished (a dropped future).
    Cancelled,
    /// The work ran past its deadline.
    TimedOut,
    /// The work was not run.
    Skipped,
}

impl Conclusion {
    /// The wire spelling: `SUCCESS`, `FAILURE`, `CANCELLED`, `TIMED_OUT` or `SKIPPED`.
    ///
    /// ```
    /// use trunk_ci_analytics::Conclusion;
    /// assert_eq!(Conclusion::Success.as_str(), "SUCCESS");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Conclusion::Success => "SUCCESS",
            Conclusion::Failure => "FAILURE",
            Conclusion::Cancelled => "CANCELLED",
            Conclusion::TimedOut => "TIMED_OUT",
            Conclusion::Skipped => "SKIPPED",
        }
    }

    /// `Success` when `ok` is true, else `Failure`.
    ///
    /// ```
    /// use trunk_ci_analytics::Conclusion;
    /// assert_eq!(Conclusion::from_success(false), Conclusion::Failure);
    /// ```
    pub const fn from_success(ok: bool) -> Self {
        if ok {
            Conclusion::Success
        } else {
            Conclusion::Failure
        }
    }

    pub(crate) const fn symbol(self) -> &'static str {
        match self {
            Conclusion::Success => "✔",
            Conclusion::Failure => "✘",
            Conclusion::Cancelled => "⊘",
            Conclusion::TimedOut => "⏱",
            Conclusion::Skipped => "↷",
        }
    }
}

/// Every conclusion, in the order of the wire's list.
const ALL: [Conclusion; 5] = [
    Conclusion::Success,
    Conclusion::Failure,
    Conclusion::Cancelled,
    Conclusion::TimedOut,
    Conclusion::Skipped,
];

/// As its wire spelling (`SUCCESS`…).
impl serde::Serialize for Conclusion {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// From its wire spelling; any other text is an error.
impl<'de> serde::Deserialize<'de> for Conclusion {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <String as serde::Deserialize>::deserialize(d)?;
        ALL.into_iter().find(|c| c.as_str() == text).ok_or_else(|| {
            serde::de::Error::unknown_variant(
                &text,
                &["SUCCESS", "FAILURE", "CANCELLED", "TIMED_OUT", "SKIPPED"],
            )
        })
    }
}

impl std::fmt::Display for Conclusion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Maps a tracked function's return value to its [`Conclusion`].
///
/// Implemented for `Result` (`Ok` → success, `Err` → failure, whatever the alias:
/// `io::Result`, `anyhow::Result`…), `()`, `bool`, `Option` (always success),
/// [`std::process::ExitStatus`] and [`std::process::Output`] (exit code 0 → success),
/// [`std::process::ExitCode`], [`Conclusion`] itself, and references and boxes of these. A
/// return type without an implementation concludes `Success` (no bound is needed to track a
/// function). Implement it for your own types to choose their mapping:
///
/// ```
/// use trunk_ci_analytics::{Conclusion, IntoConclusion, track_event};
/// # let _guard = trunk_ci_analytics::init(Default::default());
///
/// enum Step { Ran, NothingToDo }
///
/// impl IntoConclusion for Step {
///     fn conclusion(&self) -> Conclusion {
///         match self {
///             Step::Ran => Conclusion::Success,
///             Step::NothingToDo => Conclusion::Skipped,
///         }
///     }
/// }
///
/// #[track_event]
/// fn codegen(changed: bool) -> Step {          // recorded as SKIPPED when nothing changed
///     if changed { Step::Ran } else { Step::NothingToDo }
/// }
/// assert_eq!(codegen(false).conclusion(), Conclusion::Skipped);
/// ```
pub trait IntoConclusion {
    /// The conclusion this value stands for.
    ///
    /// ```
    /// use trunk_ci_analytics::{Conclusion, IntoConclusion};
    ///
    /// let status: Result<u32, String> = Err("3 tests failed".into());
    /// assert_eq!(status.conclusion(), Conclusion::Failure);
    /// assert_eq!(false.conclusion(), Conclusion::Failure);
    /// assert_eq!(None::<u8>.conclusion(), Conclusion::Success);
    /// ```
    fn conclusion(&self) -> Conclusion;
}

impl<T, E> IntoConclusion for Result<T, E> {
    fn conclusion(&self) -> Conclusion {
        Conclusion::from_success(self.is_ok())
    }
}

impl IntoConclusion for () {
    fn conclusion(&self) -> Conclusion {
        Conclusion::Success
    }
}

impl IntoConclusion for bool {
    fn conclusion(&self) -> Conclusion {
        Conclusion::from_success(*self)
    }
}

impl<T> IntoConclusion for Option<T> {
    fn conclusion(&self) -> Conclusion {
        Conclusion::Success
    }
}

impl IntoConclusion for std::process::ExitStatus {
    fn conclusion(&self) -> Conclusion {
        Conclusion::from_success(self.success())
    }
}

impl IntoConclusion for std::process::Output {
    fn conclusion(&self) -> Conclusion {
        self.status.conclusion()
    }
}

impl IntoConclusion for std::process::ExitCode {
    fn conclusion(&self) -> Conclusion {
        Conclusion::from_success(*self == std::process::ExitCode::SUCCESS)
    }
}

impl IntoConclusion for Conclusion {
    fn conclusion(&self) -> Conclusion {
        *self
    }
}

impl<T: IntoConclusion + ?Sized> IntoConclusion for &T {
    fn conclusion(&self) -> Conclusion {
        (**self).conclusion()
    }
}

impl<T: IntoConclusion + ?Sized> IntoConclusion for Box<T> {
    fn conclusion(&self) -> Conclusion {
        (**self).conclusion()
    }
}

/// Autoref specialization used by the macro (as `__private::Probe`):
/// `(&ConclusionProbe(&value)).__trunk_conclusion()` picks [`IntoConclusion`] when the type
/// implements it and `Success` otherwise, so any return type compiles without the user
/// writing a bound.
#[doc(hidden)]
#[derive(Debug)]
pub struct ConclusionProbe<'a, T: ?Sized>(pub &'a T);

#[doc(hidden)]
pub trait ViaIntoConclusion {
    fn __trunk_conclusion(&self) -> Conclusion;
}

impl<T: IntoConclusion + ?Sized> ViaIntoConclusion for ConclusionProbe<'_, T> {
    #[inline]
    fn __trunk_conclusion(&self) -> Conclusion {
        self.0.conclusion()
    }
}

#[doc(hidden)]
pub trait ViaFallback {
    fn __trunk_conclusion(&self) -> Conclusion;
}

impl<T: ?Sized> ViaFallback for &ConclusionProbe<'_, T> {
    #[inline]
    fn __trunk_conclusion(&self) -> Conclusion {
        Conclusion::Success
    }
}

#[cfg(test)]
// The explicit `&` is the autoref specialization under test, not a needless borrow.
#[allow(clippy::needless_borrow)]
mod tests {
    use super::*;
    #[allow(unused_imports)]
    use super::{ViaFallback as _, ViaIntoConclusion as _};

    struct Opaque;

    #[test]
    fn probe_prefers_the_trait_and_falls_back_to_success() {
        let err: Result<(), ()> = Err(());
        assert_eq!(
            (&ConclusionProbe(&err)).__trunk_conclusion(),
            Conclusion::Failure
        );
        assert_eq!(
            (&ConclusionProbe(&false)).__trunk_conclusion(),
            Conclusion::Failure
        );
        assert_eq!(
            (&ConclusionProbe(&Opaque)).__trunk_conclusion(),
            Conclusion::Success
        );
        assert_eq!(
            (&ConclusionProbe(&Some(3))).__trunk_conclusion(),
            Conclusion::Success
        );
    }

    #[test]
    fn exit_codes_map_by_success() {
        assert_eq!(
            std::process::ExitCode::FAILURE.conclusion(),
            Conclusion::Failure
        );
        assert_eq!(
            std::process::ExitCode::SUCCESS.conclusion(),
            Conclusion::Success
        );
    }

    #[test]
    fn serializes_as_documented() {
        for c in [
            Conclusion::Success,
            Conclusion::Failure,
            Conclusion::Cancelled,
            Conclusion::TimedOut,
            Conclusion::Skipped,
        ] {
            let json = serde_json::to_string(&c).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", c.as_str()));
            assert_eq!(serde_json::from_str::<Conclusion>(&json).ok(), Some(c));
        }
        assert!(serde_json::from_str::<Conclusion>("\"success\"").is_err());
    }
}
