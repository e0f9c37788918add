//! Checks that turn mistakes the API would reject at run time into compile errors, each at
//! the offending token.

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::{Item, LitStr};

use crate::args::{Args, Entry};
use crate::item::{Body, FnItem};

use trunk_ci_analytics_rules::{MAX_KEY_CHARS, is_snake_case};

/// Every problem with the arguments' values.
pub(crate) fn args(args: &Args) -> Vec<syn::Error> {
    let mut errors = Vec::new();
    if let Some(name) = &args.name {
        not_blank(name, "name", &mut errors);
    }
    if let Some(key) = &args.key {
        let chars = key.value().chars().count();
        if chars > MAX_KEY_CHARS {
            errors.push(syn::Error::new(
                key.span(),
                format!(
                    "`key` must be shorter than {} characters (the API's limit); \
                     this one has {chars}",
                    MAX_KEY_CHARS + 1
                ),
            ));
        } else {
            not_blank(key, "key", &mut errors);
        }
    }
    if let Some(kind) = &args.kind {
        not_blank(kind, "kind", &mut errors);
    }
    if let Some(platform) = &args.platform {
        let value = platform.value();
        if !is_snake_case(&value) {
            let hint = to_snake_case(&value);
            let hint = if hint.is_empty() {
                String::new()
            } else {
                format!("; did you mean `{hint}`?")
            };
            errors.push(syn::Error::new(
                platform.span(),
                format!(
                    "`platform` must be snake_case, like `github_actions` or `local`: \
                     `{value}` is not{hint}"
                ),
            ));
        }
    }
    for (list, entries) in [
        ("tags", &args.tags),
        ("metrics", &args.metrics),
        ("sequence_tags", &args.sequence_tags),
    ] {
        if let Some(entries) = entries {
            keys(list, entries, &mut errors);
        }
    }
    errors
}

fn not_blank(lit: &LitStr, what: &str, errors: &mut Vec<syn::Error>) {
    if lit.value().trim().is_empty() {
        errors.push(syn::Error::new(
            lit.span(),
            format!("`{what}` must not be empty"),
        ));
    }
}

fn keys(list: &str, entries: &[Entry], errors: &mut Vec<syn::Error>) {
    for (i, e) in entries.iter().enumerate() {
        if e.key.trim().is_empty() {
            errors.push(syn::Error::new(
                e.key_span,
                format!("a key in `{list}(..)` must not be empty"),
            ));
        } else if entries[..i].iter().any(|prev| prev.key == e.key) {
            errors.push(syn::Error::new(
                e.key_span,
                format!("duplicate key `{}` in `{list}(..)`", e.key),
            ));
        } else if list == "metrics" && e.key == "duration_ms" {
            errors.push(syn::Error::new(
                e.key_span,
                "`duration_ms` is recorded for every event; choose another metric name",
            ));
        }
    }
}

/// A suggestion for a value that is not snake_case: `GitHub Actions` → `github_actions`.
fn to_snake_case(s: &str) -> String {
    let mut out = String::new();
    let mut gap = false;
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            if gap && !out.is_empty() {
                out.push('_');
            }
            gap = false;
            out.push(c.to_ascii_lowercase());
        } else {
            gap = true;
        }
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.clear();
    }
    out
}

/// Problems with the function itself.
pub(crate) fn function(item: &FnItem) -> Vec<syn::Error> {
    let mut errors = Vec::new();
    if let Some(constness) = &item.sig.constness {
        errors.push(syn::Error::new(
            constness.span,
            "`#[track_event]` cannot be applied to a `const fn`: events are recorded at run \
             time, which a `const fn` cannot do",
        ));
    }
    if let Body::Missing(semi) = &item.body {
        errors.push(syn::Error::new_spanned(
            semi,
            "`#[track_event]` needs a function body: this declaration has none; put the \
             attribute on the implementations (or give the trait method a default body)",
        ));
    }
    errors
}

/// The error for an item that is not a function, spanned at its keyword and name.
pub(crate) fn not_a_function(item: &TokenStream) -> syn::Error {
    let described = syn::parse2::<Item>(item.clone()).ok().map(|item| {
        let (what, head): (&str, TokenStream) = match &item {
            Item::Struct(i) => ("a struct", pair(&i.struct_token, &i.ident)),
            Item::Enum(i) => ("an enum", pair(&i.enum_token, &i.ident)),
            Item::Union(i) => ("a union", pair(&i.union_token, &i.ident)),
            Item::Trait(i) => ("a trait", pair(&i.trait_token, &i.ident)),
            Item::Impl(i) => ("an impl block", pair(&i.impl_token, &i.self_ty)),
            Item::Mod(i) => ("a module", pair(&i.mod_token, &i.ident)),
            Item::Static(i) => ("a static", pair(&i.static_token, &i.ident)),
            Item::Const(i) => ("a constant", pair(&i.const_token, &i.ident)),
            Item::Type(i) => ("a type alias", pair(&i.type_token, &i.ident)),
            Item::Use(i) => ("a `use` declaration", i.use_token.into_token_stream()),
            Item::ForeignMod(i) => ("an `extern` block", i.abi.to_token_stream()),
            other => ("this item", other.to_token_stream()),
        };
        let hint = if matches!(item, Item::Impl(_) | Item::Trait(_)) {
            "; put it on the methods instead"
        } else {
            ""
        };
        syn::Error::new_spanned(
            head,
            format!("`#[track_event]` can only be applied to functions, not to {what}{hint}"),
        )
    });
    described.unwrap_or_else(|| {
        syn::Error::new_spanned(item, "`#[track_event]` can only be applied to functions")
    })
}

fn pair(a: &impl ToTokens, b: &impl ToTokens) -> TokenStream {
    let mut t = a.to_token_stream();
    b.to_tokens(&mut t);
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_are_snake_case() {
        assert_eq!(to_snake_case("GitHub Actions"), "github_actions");
        assert_eq!(to_snake_case("Jenkins"), "jenkins");
        assert_eq!(to_snake_case("azure-pipelines"), "azure_pipelines");
        assert_eq!(to_snake_case("--"), "");
        assert_eq!(to_snake_case("9lives"), "");
        for s in ["GitHub Actions", "a--b", "X"] {
            assert!(is_snake_case(&to_snake_case(s)));
        }
    }
}
