//! Parsing of `#[track_event(..)]`'s arguments. Only syntax is checked here; what the values
//! mean (key length, snake_case platform, …) is `validate`'s job.
//!
//! Parsing keeps going after a bad argument (it skips to the next top-level comma), so one
//! compile shows every mistake at once.

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::{Expr, ExprPath, Ident, LitBool, LitStr, Path, Token};

/// Every argument, in the order the error message lists them.
pub(crate) const VALID: &str = "`name`, `key`, `kind`, `platform`, `tags(..)`, `metrics(..)`, \
     `sequence_tags(..)`, `conclusion`, `root`, `flush`, `err`, `crate`";

/// What the attribute asked for. `None` means "not given": the default applies.
#[derive(Default)]
pub(crate) struct Args {
    pub(crate) name: Option<LitStr>,
    pub(crate) key: Option<LitStr>,
    pub(crate) kind: Option<LitStr>,
    pub(crate) platform: Option<LitStr>,
    pub(crate) tags: Option<Vec<Entry>>,
    pub(crate) metrics: Option<Vec<Entry>>,
    pub(crate) sequence_tags: Option<Vec<Entry>>,
    pub(crate) conclusion: Option<ExprPath>,
    pub(crate) root: Option<bool>,
    pub(crate) flush: Option<bool>,
    /// Whether to record a returned `Err`'s text, and where `err` was written (compile
    /// errors about it point there).
    pub(crate) err: Option<(bool, Span)>,
    pub(crate) krate: Option<Path>,
}

impl Args {
    /// The span of `err` when the error text is to be recorded.
    pub(crate) fn records_error(&self) -> Option<Span> {
        match self.err {
            Some((true, span)) => Some(span),
            _ => None,
        }
    }
}

/// One `k = expr` of `tags(..)`, `metrics(..)` or `sequence_tags(..)`.
pub(crate) struct Entry {
    /// The key as sent (raw identifiers unprefixed).
    pub(crate) key: String,
    pub(crate) key_span: Span,
    pub(crate) value: Expr,
}

/// Parses the attribute's arguments; returns what could be understood and every error.
pub(crate) fn parse(tokens: TokenStream) -> (Args, Vec<syn::Error>) {
    let parser = |input: ParseStream<'_>| {
        let mut args = Args::default();
        let mut errors = Vec::new();
        while !input.is_empty() {
            if let Err(e) = parse_one(input, &mut args) {
                errors.push(e);
                skip_to_comma(input);
            }
            if input.is_empty() {
                break;
            }
            if let Err(e) = input.parse::<Token![,]>() {
                errors.push(e);
                skip_to_comma(input);
                let _ = input.parse::<Option<Token![,]>>();
            }
        }
        Ok((args, errors))
    };
    match parser.parse2(tokens) {
        Ok(parsed) => parsed,
        Err(e) => (Args::default(), vec![e]),
    }
}

fn parse_one(input: ParseStream<'_>, args: &mut Args) -> syn::Result<()> {
    if !input.peek(Ident::peek_any) {
        return Err(input.error(format!(
            "expected an argument such as `name = \"...\"`; valid arguments are {VALID}"
        )));
    }
    let ident = input.call(Ident::parse_any)?;
    let name = ident.to_string();
    match name.as_str() {
        "name" => set(&ident, &mut args.name, string_value(&ident, input)?),
        "key" => set(&ident, &mut args.key, string_value(&ident, input)?),
        "kind" => set(&ident, &mut args.kind, string_value(&ident, input)?),
        "platform" => set(&ident, &mut args.platform, string_value(&ident, input)?),
        "tags" => set(&ident, &mut args.tags, entries(&ident, input)?),
        "metrics" => set(&ident, &mut args.metrics, entries(&ident, input)?),
        "sequence_tags" => set(&ident, &mut args.sequence_tags, entries(&ident, input)?),
        "conclusion" => {
            eq(&ident, input, "conclusion = path::to::function")?;
            let path = input.parse::<ExprPath>().map_err(|e| {
                syn::Error::new(
                    e.span(),
                    "expected a path to a function `fn(&ReturnType) -> Conclusion`",
                )
            })?;
            set(&ident, &mut args.conclusion, path)
        }
        "root" => set(&ident, &mut args.root, flag(input)?),
        "flush" => set(&ident, &mut args.flush, flag(input)?),
        "err" => set(&ident, &mut args.err, (flag(input)?, ident.span())),
        "crate" => {
            eq(&ident, input, "crate = path::to::trunk_ci_analytics")?;
            set(&ident, &mut args.krate, input.call(Path::parse_mod_style)?)
        }
        _ => Err(syn::Error::new(
            ident.span(),
            format!("unknown argument `{name}`; valid arguments are {VALID}"),
        )),
    }
}

/// Stores an argument's value, unless it was given before.
fn set<T>(ident: &Ident, slot: &mut Option<T>, value: T) -> syn::Result<()> {
    if slot.is_some() {
        return Err(syn::Error::new(
            ident.span(),
            format!("duplicate argument `{ident}`: each argument may appear once"),
        ));
    }
    *slot = Some(value);
    Ok(())
}

fn eq(ident: &Ident, input: ParseStream<'_>, usage: &str) -> syn::Result<()> {
    input
        .parse::<Token![=]>()
        .map(drop)
        .map_err(|_| syn::Error::new(ident.span(), format!("expected `{usage}`")))
}

/// `= "literal"`.
fn string_value(ident: &Ident, input: ParseStream<'_>) -> syn::Result<LitStr> {
    eq(ident, input, &format!("{ident} = \"...\""))?;
    input.parse::<LitStr>().map_err(|e| {
        syn::Error::new(
            e.span(),
            format!("`{ident}` takes a string literal: `{ident} = \"...\"`"),
        )
    })
}

/// A bare flag (`root`), or `root = true` / `root = false`.
fn flag(input: ParseStream<'_>) -> syn::Result<bool> {
    if input.parse::<Option<Token![=]>>()?.is_none() {
        return Ok(true);
    }
    Ok(input.parse::<LitBool>()?.value)
}

/// `(k = expr, "k" = expr, ..)`.
fn entries(ident: &Ident, input: ParseStream<'_>) -> syn::Result<Vec<Entry>> {
    if !input.peek(syn::token::Paren) {
        return Err(syn::Error::new(
            ident.span(),
            format!("expected `{ident}(key = value, ...)`"),
        ));
    }
    let content;
    syn::parenthesized!(content in input);
    let mut entries = Vec::new();
    let mut errors: Option<syn::Error> = None;
    let mut push_error = |e: syn::Error| match errors.as_mut() {
        Some(all) => all.combine(e),
        None => errors = Some(e),
    };
    while !content.is_empty() {
        match entry(ident, &content) {
            Ok(e) => entries.push(e),
            Err(e) => {
                push_error(e);
                skip_to_comma(&content);
            }
        }
        if content.is_empty() {
            break;
        }
        if let Err(e) = content.parse::<Token![,]>() {
            push_error(e);
            break;
        }
    }
    match errors {
        Some(e) => Err(e),
        None => Ok(entries),
    }
}

fn entry(list: &Ident, input: ParseStream<'_>) -> syn::Result<Entry> {
    let (key, key_span) = if input.peek(LitStr) {
        let lit = input.parse::<LitStr>()?;
        (lit.value(), lit.span())
    } else if input.peek(Ident::peek_any) {
        let ident = input.call(Ident::parse_any)?;
        (ident.unraw().to_string(), ident.span())
    } else {
        let span = input.cursor().span();
        return Err(syn::Error::new(
            span,
            format!(
                "a key in `{list}(..)` must be an identifier or a string literal: \
                 `{list}(key = value)` or `{list}(\"key\" = value)`"
            ),
        ));
    };
    if !input.peek(Token![=]) {
        // `a.b = 1`, `a::b = 1`: report the whole would-be key.
        let mut rest = TokenStream::new();
        while !input.is_empty() && !input.peek(Token![=]) && !input.peek(Token![,]) {
            rest.extend([input.parse::<proc_macro2::TokenTree>()?]);
        }
        let mut whole = Ident::new("key", key_span).into_token_stream();
        whole.extend(rest);
        return Err(syn::Error::new_spanned(
            whole,
            format!(
                "a key in `{list}(..)` must be an identifier or a string literal: \
                 `{list}(key = value)` or `{list}(\"key\" = value)`"
            ),
        ));
    }
    input.parse::<Token![=]>()?;
    let value = input.parse::<Expr>()?;
    Ok(Entry {
        key,
        key_span,
        value,
    })
}

/// Skips the rest of a bad argument, up to (not including) the next top-level comma.
fn skip_to_comma(input: ParseStream<'_>) {
    while !input.is_empty() && !input.peek(Token![,]) {
        if input.parse::<proc_macro2::TokenTree>().is_err() {
            break;
        }
    }
}
