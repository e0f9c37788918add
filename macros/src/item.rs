//! The annotated item: a function with or without a body (free function, method, trait
//! method). Anything else is reported by `validate`.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};
use syn::parse::{Parse, ParseStream};
use syn::token::Brace;
use syn::{AttrStyle, Attribute, Block, Signature, Stmt, Token, Visibility};

/// A function as written, with its inner attributes (`#![..]` in the body) kept apart.
pub(crate) struct FnItem {
    pub(crate) attrs: Vec<Attribute>,
    pub(crate) vis: Visibility,
    pub(crate) sig: Signature,
    pub(crate) body: Body,
}

pub(crate) enum Body {
    Block {
        brace: Brace,
        inner_attrs: Vec<Attribute>,
        stmts: Vec<Stmt>,
    },
    /// A declaration ending in `;` (a trait method without default, a foreign function).
    Missing(Token![;]),
}

impl Parse for FnItem {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis = input.parse()?;
        let sig = input.parse()?;
        let body = if input.peek(Token![;]) {
            Body::Missing(input.parse()?)
        } else {
            let content;
            let brace = syn::braced!(content in input);
            Body::Block {
                brace,
                inner_attrs: content.call(Attribute::parse_inner)?,
                stmts: content.call(Block::parse_within)?,
            }
        };
        Ok(FnItem {
            attrs,
            vis,
            sig,
            body,
        })
    }
}

impl FnItem {
    /// The outer attributes followed by the body's inner ones turned outer: the body is
    /// moved into a closure or async block, where `#![..]` would no longer be allowed, and on
    /// the function they cover the same code.
    pub(crate) fn hoisted_attrs(&self) -> TokenStream {
        let inner = match &self.body {
            Body::Block { inner_attrs, .. } => inner_attrs.as_slice(),
            Body::Missing(_) => &[],
        };
        let inner = inner.iter().map(|a| {
            let mut a = a.clone();
            a.style = AttrStyle::Outer;
            a.into_token_stream()
        });
        let outer = &self.attrs;
        quote!(#(#outer)* #(#inner)*)
    }
}
