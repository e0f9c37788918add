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

/// Records each call of the function as a Trunk CI Analytics event. Documented on the
/// facade crate's re-export.
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
            errors.is_empty().then(|| expand::function(&args, &function))
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
        .take_while(|t| !matches!(t, TokenTree::Group(g) if g.delimiter() == proc_macro2::Delimiter::Brace))
        .any(|t| matches!(t, TokenTree::Ident(i) if i == "fn"))
}
