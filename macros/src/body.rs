//! Recognizes bodies that are a future in disguise: what `#[async_trait]` turns an
//! `async fn` into (`Box::pin(async move { .. })` returning `Pin<Box<dyn Future>>`), and a
//! function returning `impl Future` whose body is one `async move` block. Timing such a
//! function's synchronous call would measure only the creation of the future, so the event
//! wraps the async block instead.

use syn::{Expr, ExprAsync, ExprCall, ReturnType, Stmt, Type};

use crate::signature;

/// Where the async block sits in the body.
pub(crate) enum Shape<'a> {
    /// `Box::pin(async move { .. })`: the call and its argument.
    BoxPinned(&'a ExprCall, &'a ExprAsync),
    /// `async move { .. }`.
    Bare(&'a ExprAsync),
}

/// The future-returning shape of a non-`async` function's body, with the future's output
/// type when the signature names it.
pub(crate) fn future_body<'a>(
    stmts: &'a [Stmt],
    output: &ReturnType,
) -> Option<(Shape<'a>, Option<Type>)> {
    let [Stmt::Expr(expr, None)] = stmts else {
        return None;
    };
    let future_output = signature::future_output(output);
    let returns_impl_future =
        matches!(output, ReturnType::Type(_, ty) if matches!(**ty, Type::ImplTrait(_)));
    let shape = match expr {
        Expr::Async(a) if a.capture.is_some() && returns_impl_future => Shape::Bare(a),
        Expr::Call(call) if call.args.len() == 1 && is_box_pin(&call.func) => {
            match call.args.first() {
                Some(Expr::Async(a)) if a.capture.is_some() => Shape::BoxPinned(call, a),
                _ => return None,
            }
        }
        _ => return None,
    };
    if matches!(shape, Shape::BoxPinned(..)) && future_output.is_none() {
        // A `Box::pin` that is not returned as a boxed future (e.g. `Pin<Box<impl ..>>`
        // built by hand) is left as an ordinary synchronous body.
        return None;
    }
    Some((shape, future_output))
}

/// `Box::pin`, `std::boxed::Box::pin`, `::alloc::boxed::Box::pin`, …
fn is_box_pin(func: &Expr) -> bool {
    let Expr::Path(p) = func else {
        return false;
    };
    let segs: Vec<_> = p.path.segments.iter().map(|s| &s.ident).collect();
    matches!(segs.as_slice(), [.., b, pin] if *b == "Box" && *pin == "pin")
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    fn shape(body: syn::Block, output: ReturnType) -> &'static str {
        match future_body(&body.stmts, &output) {
            Some((Shape::BoxPinned(..), Some(_))) => "boxed+output",
            Some((Shape::BoxPinned(..), None)) => "boxed",
            Some((Shape::Bare(_), Some(_))) => "bare+output",
            Some((Shape::Bare(_), None)) => "bare",
            None => "none",
        }
    }

    #[test]
    fn recognizes_async_trait_and_impl_future_bodies() {
        let boxed: ReturnType = parse_quote!(-> ::core::pin::Pin<Box<dyn ::core::future::Future<Output = u8> + Send + 'async_trait>>);
        assert_eq!(
            shape(parse_quote!({ Box::pin(async move { 1 }) }), boxed.clone()),
            "boxed+output"
        );
        assert_eq!(
            shape(
                parse_quote!({ ::std::boxed::Box::pin(async move { 1 }) }),
                boxed.clone()
            ),
            "boxed+output"
        );
        // Not the whole body, or not `move`: left alone.
        assert_eq!(
            shape(
                parse_quote!({
                    let x = 1;
                    Box::pin(async move { x })
                }),
                boxed.clone()
            ),
            "none"
        );
        assert_eq!(
            shape(parse_quote!({ Box::pin(async { 1 }) }), boxed),
            "none"
        );
        assert_eq!(
            shape(
                parse_quote!({ async move { 1 } }),
                parse_quote!(-> impl Future<Output = u8>)
            ),
            "bare+output"
        );
        assert_eq!(
            shape(parse_quote!({ async move { 1 } }), parse_quote!(-> u8)),
            "none"
        );
    }
}
