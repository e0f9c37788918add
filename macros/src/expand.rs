//! Code generation: the function as written, with its body run under an event.
//!
//! The user's body is emitted exactly once, with its own spans, so errors in it point at the
//! user's lines. Generated locals use mixed-site hygiene (the body cannot see or shadow
//! them); every path is absolute, so a crate that shadows `Option`, `Some` or has its own
//! `trunk_ci_analytics` module still compiles.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Block, ExprAsync, Ident, Stmt, Type};

use crate::args::{Args, Entry};
use crate::body::{self, Shape};
use crate::item::{Body, FnItem};
use crate::signature;

/// The whole output for a valid function and valid arguments.
pub(crate) fn function(args: &Args, item: &FnItem) -> TokenStream {
    let Body::Block { brace, stmts, .. } = &item.body else {
        // `validate` reports a missing body before expansion.
        return item_tokens(item, quote!(;));
    };
    let cg = Gen::new(args, item);
    let block = |stmts: Vec<Stmt>| -> TokenStream {
        Block {
            brace_token: *brace,
            stmts,
        }
        .into_token_stream()
    };
    let body = if item.sig.asyncness.is_some() {
        let pin = signature::inferable(&item.sig.output);
        let inner = cg.pinned_async_block(block(stmts.clone()), pin.as_ref());
        cg.async_body(&inner)
    } else if let Some((shape, output)) = body::future_body(stmts, &item.sig.output) {
        match shape {
            Shape::BoxPinned(call, fut) => {
                let inner = cg.reopened_async_block(fut, output.as_ref());
                let outer = cg.async_block(&inner);
                let func = &call.func;
                let paren = call.paren_token;
                let mut call_tokens = func.to_token_stream();
                paren.surround(&mut call_tokens, |t| t.extend(outer));
                call_tokens
            }
            Shape::Bare(fut) => {
                let inner = cg.reopened_async_block(fut, output.as_ref());
                cg.async_block(&inner)
            }
        }
    } else {
        cg.sync_body(block(stmts.clone()))
    };
    // A program's `main` first does the job of a cargo helper, if cargo started it as one
    // (`CommandExt::record_cargo` runs the program that records as its rustc wrapper).
    let starts = is_main(&item.sig).then(|| {
        let p = &cg.krate;
        quote!(#p::__private::main_starts();)
    });
    let body = quote_spanned!(brace.span.join()=> { #starts #body });
    item_tokens(item, body)
}

/// Attributes (inner ones hoisted), visibility and signature, followed by `body`.
fn item_tokens(item: &FnItem, body: TokenStream) -> TokenStream {
    let attrs = item.hoisted_attrs();
    let vis = &item.vis;
    let sig = &item.sig;
    quote!(#attrs #vis #sig #body)
}

/// Names and pieces shared by the sync and async expansions.
struct Gen<'a> {
    args: &'a Args,
    item: &'a FnItem,
    krate: TokenStream,
    ret: Ident,
}

fn local(name: &str) -> Ident {
    Ident::new(name, Span::mixed_site())
}

impl<'a> Gen<'a> {
    fn new(args: &'a Args, item: &'a FnItem) -> Self {
        let krate = match &args.krate {
            Some(path) => path.to_token_stream(),
            None => quote!(::trunk_ci_analytics),
        };
        Gen {
            args,
            item,
            krate,
            ret: local("__trunk_ret"),
        }
    }

    /// `&'static Site` of this function, declared in a block so the body cannot name it.
    fn site(&self) -> TokenStream {
        let p = &self.krate;
        let a = self.args;
        let ident = &self.item.sig.ident;
        let fn_name = syn::ext::IdentExt::unraw(ident).to_string();
        let name = match &a.name {
            Some(n) => n.to_token_stream(),
            None => fn_name.to_token_stream(),
        };
        let some = |lit: &Option<syn::LitStr>| match lit {
            Some(l) => quote!(::core::option::Option::Some(#l)),
            None => quote!(::core::option::Option::None),
        };
        let key = some(&a.key);
        let platform = some(&a.platform);
        let kind = match &a.kind {
            Some(k) => k.to_token_stream(),
            None => quote!("function"),
        };
        let root = a.root.unwrap_or(false);
        let flush = a.flush.unwrap_or_else(|| is_main(&self.item.sig));
        let site = local("__TRUNK_SITE");
        quote! {
            {
                static #site: #p::__private::Site = #p::__private::Site::new(
                    #name,
                    #key,
                    ::core::option_env!("CARGO_PKG_NAME"),
                    ::core::concat!(::core::module_path!(), "::", #fn_name),
                    #kind,
                    #platform,
                    #root,
                    #flush,
                );
                &#site
            }
        }
    }

    /// Whether any tag, metric or sequence tag was declared.
    fn declares_extras(&self) -> bool {
        let a = self.args;
        [&a.tags, &a.metrics, &a.sequence_tags]
            .iter()
            .any(|list| list.as_ref().is_some_and(|l| !l.is_empty()))
    }

    /// The declared tags and metrics, evaluated now; `None` when none were declared.
    fn extras(&self) -> TokenStream {
        let p = &self.krate;
        let a = self.args;
        let entries =
            |list: &'a Option<Vec<Entry>>| -> &'a [Entry] { list.as_deref().unwrap_or_default() };
        let (tags, metrics, seq) = (
            entries(&a.tags),
            entries(&a.metrics),
            entries(&a.sequence_tags),
        );
        if tags.is_empty() && metrics.is_empty() && seq.is_empty() {
            return quote!(::core::option::Option::None);
        }
        let tag = |method: &str, e: &Entry| {
            let method = Ident::new(method, Span::call_site());
            let (k, v) = (&e.key, &e.value);
            quote_spanned!(v.span()=>
                .#method(#k, (&#p::__private::TagProbe(&(#v))).__trunk_tag_value())
            )
        };
        let tags = tags.iter().map(|e| tag("tag", e));
        let seq = seq.iter().map(|e| tag("sequence_tag", e));
        let metrics = metrics.iter().map(|e| {
            let (k, v) = (&e.key, &e.value);
            quote_spanned!(v.span()=> .metric(#k, #p::__private::metric_value(&(#v))))
        });
        quote! {
            {
                #[allow(unused_imports)]
                use #p::__private::{ViaDisplay as _, ViaNumber as _};
                #p::__private::Extras::new() #(#tags)* #(#metrics)* #(#seq)* .boxed()
            }
        }
    }

    /// The conclusion of `__trunk_ret`, which holds the return value, or (`by_ref`) a
    /// reference to it.
    fn conclusion(&self, by_ref: bool) -> TokenStream {
        let p = &self.krate;
        let amp = (!by_ref).then(|| quote!(&));
        match &self.args.conclusion {
            Some(path) => {
                // Located at the path, so a signature mismatch is reported there.
                let span = path.span();
                let ret = Ident::new("__trunk_ret", Span::mixed_site().located_at(span));
                quote_spanned!(span=> #path(#amp #ret))
            }
            None => {
                let ret = &self.ret;
                quote! {
                    {
                        #[allow(unused_imports)]
                        use #p::__private::{ViaFallback as _, ViaIntoConclusion as _};
                        (&#p::__private::Probe(#amp #ret)).__trunk_conclusion()
                    }
                }
            }
        }
    }

    /// Sync: the body runs as a `FnOnce` closure, so `return` and `?` yield the value the
    /// conclusion is taken from, and borrows of `&mut self` may be returned. With analytics
    /// off the closure is called right here, after one load and compare; otherwise
    /// `__private::run` runs it under a guard. The body is emitted once, called from two
    /// places: the disabled path then needs no stack frame of its own (a tail shared with
    /// the guard would make every call save registers).
    fn sync_body(&self, block: TokenStream) -> TokenStream {
        let p = &self.krate;
        let (site, extras) = (self.site(), self.extras());
        let output = &self.item.sig.output;
        if signature::is_never(output) {
            // Never returns: the guard records the panic, or nothing if the process exits.
            let guard = local("__trunk_guard");
            return quote! {
                let #guard = if #p::__private::off() {
                    ::core::option::Option::None
                } else {
                    #p::__private::enter(#site, #extras)
                };
                (move || #output #block)()
            };
        }
        let ret_ty = match signature::inferable(output) {
            Some(ty) => quote!(-> #ty),
            None => quote!(),
        };
        let (body, x) = (local("__trunk_body"), local("__trunk_extras"));
        // Evaluated before the body captures the arguments it may read, and only when
        // analytics is on (`enabled` sets the runtime up on the first call to know).
        let extras = if self.declares_extras() {
            quote! {
                let #x = if #p::__private::enabled() {
                    #extras
                } else {
                    ::core::option::Option::None
                };
            }
        } else {
            quote!(let #x = ::core::option::Option::None;)
        };
        let ret = &self.ret;
        let conclusion = self.conclusion(true);
        let run = match self.error(true) {
            Some(error) => quote! {
                #p::__private::run_err(#site, #x, #body, |#ret| #conclusion, |#ret| #error)
            },
            None => quote!(#p::__private::run(#site, #x, #body, |#ret| #conclusion)),
        };
        quote! {
            #extras
            let #body = #p::__private::once(move || #ret_ty #block);
            if #p::__private::off() {
                #body()
            } else {
                #run
            }
        }
    }

    /// With `err`: the error text of `__trunk_ret` (the return value, or (`by_ref`) a
    /// reference to it). Spanned at `err`, so a return type that is not a `Result` of a
    /// displayable error is reported there.
    fn error(&self, by_ref: bool) -> Option<TokenStream> {
        let span = self.args.records_error()?;
        let p = &self.krate;
        let located = |name: &str| Ident::new(name, Span::mixed_site().located_at(span));
        let ret = located("__trunk_ret");
        if by_ref {
            return Some(quote_spanned!(span=> #p::__private::error_text(#ret)));
        }
        // The argument is one identifier: `&ret` would join spans of two hygiene contexts,
        // which the compiler reports at the whole attribute instead of at `err`.
        let ret_ref = located("__trunk_ret_ref");
        Some(quote_spanned!(span=> {
            let #ret_ref = &#ret;
            #p::__private::error_text(#ret_ref)
        }))
    }

    /// Async: the event starts at the first poll (this code runs then), the body runs as an
    /// inner future that enters the event on every poll.
    fn async_body(&self, inner: &TokenStream) -> TokenStream {
        let p = &self.krate;
        let (site, extras) = (self.site(), self.extras());
        let (on, event, fin, ret) = (
            local("__trunk_on"),
            local("__trunk_event"),
            local("__trunk_fin"),
            &self.ret,
        );
        let conclusion = self.conclusion(false);
        let finish = match self.error(false) {
            Some(error) => quote!(#fin.finish_with_error(#conclusion, #error);),
            None => quote!(#fin.finish(#conclusion);),
        };
        quote! {
            let #on = #p::__private::enabled();
            let #event = if #on {
                #p::__private::AsyncEvent::start(#site, #extras)
            } else {
                ::core::option::Option::None
            };
            let (#ret, #fin) = #p::__private::instrument(#event, #inner).await;
            if #on {
                #finish
            }
            #ret
        }
    }

    /// `async move { <async_body> }`, for bodies that return a future.
    fn async_block(&self, inner: &TokenStream) -> TokenStream {
        let body = self.async_body(inner);
        quote!(async move { #body })
    }

    /// `async move { <pin> <stmts> }` keeping the block's own braces.
    fn pinned_async_block(&self, block: TokenStream, pin: Option<&Type>) -> TokenStream {
        let pin = pin.map(|ty| self.pin(ty));
        quote!(async move { #pin #block })
    }

    /// The user's async block, with the type pin added inside it.
    fn reopened_async_block(&self, fut: &ExprAsync, pin: Option<&Type>) -> TokenStream {
        let ExprAsync {
            attrs,
            async_token,
            capture,
            block,
        } = fut;
        let pin = pin.map(|ty| self.pin(ty));
        let stmts = &block.stmts;
        let mut tokens = quote!(#(#attrs)* #async_token #capture);
        block.brace_token.surround(&mut tokens, |t| {
            t.extend(quote!(#pin #(#stmts)*));
        });
        tokens
    }

    /// Fixes an async block's output type so `?` and `return` inside it infer, as the
    /// `async fn` signature did (what `tracing-attributes` does too).
    fn pin(&self, ty: &Type) -> TokenStream {
        let pinned = local("__trunk_pinned");
        quote! {
            #[allow(
                unknown_lints,
                unreachable_code,
                clippy::diverging_sub_expression,
                clippy::empty_loop,
                clippy::let_unit_value,
                clippy::let_with_type_underscore,
                clippy::needless_return,
                clippy::unreachable
            )]
            if false {
                let #pinned: #ty = loop {};
                return #pinned;
            }
        }
    }
}

/// A program's `fn main`: it flushes at its end by default and first does a cargo helper's
/// job when cargo started the program as one.
fn is_main(sig: &syn::Signature) -> bool {
    syn::ext::IdentExt::unraw(&sig.ident) == "main" && sig.inputs.is_empty()
}
