//! What the generated code needs to know about a function's return type.

use syn::visit_mut::{self, VisitMut};
use syn::{GenericArgument, PathArguments, ReturnType, Type, TypeParamBound};

/// The return type as the wrapping closure or async block may spell it: every `impl Trait`
/// becomes `_` (an opaque type is only allowed in the signature itself), so
/// `Result<impl Iterator<Item = u8>, E>` becomes `Result<_, E>` and `?` still knows `E`.
/// `None` for `()` and for a type that is `_` as a whole (nothing to pin).
pub(crate) fn inferable(output: &ReturnType) -> Option<Type> {
    let ReturnType::Type(_, ty) = output else {
        return None;
    };
    let mut ty = (**ty).clone();
    ImplToInfer.visit_type_mut(&mut ty);
    match ty {
        Type::Infer(_) => None,
        ty => Some(ty),
    }
}

struct ImplToInfer;

impl VisitMut for ImplToInfer {
    fn visit_type_mut(&mut self, ty: &mut Type) {
        match ty {
            Type::ImplTrait(i) => {
                *ty = Type::Infer(syn::TypeInfer {
                    underscore_token: syn::Token![_](i.impl_token.span),
                });
            }
            Type::Paren(p) if matches!(*p.elem, Type::ImplTrait(_)) => {
                let mut inner = (*p.elem).clone();
                self.visit_type_mut(&mut inner);
                *ty = inner;
            }
            _ => visit_mut::visit_type_mut(self, ty),
        }
    }
}

/// Whether the function never returns (`-> !`).
pub(crate) fn is_never(output: &ReturnType) -> bool {
    matches!(output, ReturnType::Type(_, ty) if matches!(**ty, Type::Never(_)))
}

/// `T` of `Pin<Box<dyn Future<Output = T> + ..>>` (what `async-trait` returns) or of
/// `impl Future<Output = T>`.
pub(crate) fn future_output(output: &ReturnType) -> Option<Type> {
    let ReturnType::Type(_, ty) = output else {
        return None;
    };
    let bounds = match strip_parens(ty) {
        Type::ImplTrait(i) => &i.bounds,
        ty => {
            let boxed = single_arg(ty, "Pin")?;
            match strip_parens(single_arg(boxed, "Box")?) {
                Type::TraitObject(o) => &o.bounds,
                _ => return None,
            }
        }
    };
    bounds.iter().find_map(|b| {
        let TypeParamBound::Trait(t) = b else {
            return None;
        };
        let last = t.path.segments.last()?;
        if last.ident != "Future" {
            return None;
        }
        let PathArguments::AngleBracketed(args) = &last.arguments else {
            return None;
        };
        args.args.iter().find_map(|a| match a {
            GenericArgument::AssocType(at) if at.ident == "Output" => Some(at.ty.clone()),
            _ => None,
        })
    })
}

fn strip_parens(ty: &Type) -> &Type {
    match ty {
        Type::Paren(p) => strip_parens(&p.elem),
        Type::Group(g) => strip_parens(&g.elem),
        ty => ty,
    }
}

/// The type argument of `Name<T>` (any path ending in `Name`).
fn single_arg<'a>(ty: &'a Type, name: &str) -> Option<&'a Type> {
    let Type::Path(p) = strip_parens(ty) else {
        return None;
    };
    let last = p.path.segments.last()?;
    if last.ident != name {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first()? {
        GenericArgument::Type(t) if args.args.len() == 1 => Some(t),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::ToTokens;
    use syn::parse_quote;

    fn show(t: Option<Type>) -> String {
        t.map(|t| t.into_token_stream().to_string())
            .unwrap_or_default()
    }

    #[test]
    fn impl_trait_becomes_infer() {
        assert_eq!(
            show(inferable(
                &parse_quote!(-> Result<impl Iterator<Item = u8>, E>)
            )),
            "Result < _ , E >"
        );
        assert_eq!(show(inferable(&parse_quote!(-> impl Display))), "");
        assert_eq!(show(inferable(&parse_quote!())), "");
        assert_eq!(show(inferable(&parse_quote!(-> &'a str))), "& 'a str");
    }

    #[test]
    fn future_outputs_are_found() {
        assert_eq!(
            show(future_output(&parse_quote!(
                -> ::core::pin::Pin<Box<dyn ::core::future::Future<Output = u32> + ::core::marker::Send + 'async_trait>>
            ))),
            "u32"
        );
        assert_eq!(
            show(future_output(
                &parse_quote!(-> impl Future<Output = Result<(), E>> + Send)
            )),
            "Result < () , E >"
        );
        assert_eq!(show(future_output(&parse_quote!(-> Pin<Box<u8>>))), "");
        assert_eq!(show(future_output(&parse_quote!(-> u8))), "");
        assert!(is_never(&parse_quote!(-> !)));
        assert!(!is_never(&parse_quote!(-> u8)));
    }
}
