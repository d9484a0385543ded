//! `#[contract]` for an `impl` block of a chaincode contract: every method
//! marked `#[transaction]` becomes a transaction, routed by name, with its
//! arguments decoded and its result encoded as Fabric's contract API does.
//!
//! ```text
//! #[contract]
//! impl AssetContract {
//!     #[transaction]                  // "CreateAsset", submitted
//!     pub fn create_asset(&self, ctx: &mut Context, id: String, value: u64) -> Result<(), ContractError> { .. }
//!     #[transaction(evaluate)]        // "ReadAsset", evaluated
//!     pub fn read_asset(&self, ctx: &mut Context, id: String) -> Result<Asset, ContractError> { .. }
//!     #[transaction(name = "Legacy")] // an explicit name
//!     pub fn legacy(&self, ctx: &mut Context) -> Result<String, ContractError> { .. }
//! }
//! ```
//! Transaction methods take `&self`, then `ctx: &mut Context`, then their
//! arguments, and return `Result<T, ContractError>` with `T: Serialize`.

use proc_macro::TokenStream;
use quote::{format_ident, quote};
use syn::{FnArg, ImplItem, ItemImpl, Pat, ReturnType, Type, parse_macro_input};

/// Turns a snake_case method name into Fabric's PascalCase transaction name.
fn pascal(name: &str) -> String {
    name.split('_')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            match c.next() {
                Some(f) => f.to_uppercase().chain(c).collect::<String>(),
                None => String::new(),
            }
        })
        .collect()
}

struct TxAttr {
    name: Option<String>,
    evaluate: bool,
}

fn parse_tx_attr(attr: &syn::Attribute) -> syn::Result<TxAttr> {
    let mut out = TxAttr {
        name: None,
        evaluate: false,
    };
    if matches!(attr.meta, syn::Meta::Path(_)) {
        return Ok(out);
    }
    attr.parse_nested_meta(|meta| {
        if meta.path.is_ident("evaluate") {
            out.evaluate = true;
            Ok(())
        } else if meta.path.is_ident("submit") {
            out.evaluate = false;
            Ok(())
        } else if meta.path.is_ident("name") {
            let s: syn::LitStr = meta.value()?.parse()?;
            out.name = Some(s.value());
            Ok(())
        } else {
            Err(meta.error("expected `evaluate`, `submit` or `name = \"...\"`"))
        }
    })?;
    Ok(out)
}

fn type_name(ty: &Type) -> String {
    quote!(#ty).to_string().replace(' ', "")
}

/// Makes the methods marked `#[transaction]` of an impl block callable as transactions.
#[proc_macro_attribute]
pub fn contract(args: TokenStream, input: TokenStream) -> TokenStream {
    let mut item = parse_macro_input!(input as ItemImpl);
    let contract_name = if args.is_empty() {
        let ty = &item.self_ty;
        quote!(#ty).to_string().replace(' ', "")
    } else {
        let lit = parse_macro_input!(args as syn::LitStr);
        lit.value()
    };
    let self_ty = item.self_ty.clone();
    let mut arms = Vec::new();
    let mut infos = Vec::new();
    for it in &mut item.items {
        let ImplItem::Fn(f) = it else { continue };
        let Some(pos) = f
            .attrs
            .iter()
            .position(|a| a.path().is_ident("transaction"))
        else {
            continue;
        };
        let attr = f.attrs.remove(pos);
        let tx = match parse_tx_attr(&attr) {
            Ok(t) => t,
            Err(e) => return e.to_compile_error().into(),
        };
        let method = &f.sig.ident;
        let tx_name = tx.name.unwrap_or_else(|| pascal(&method.to_string()));
        let mut inputs = f.sig.inputs.iter();
        match inputs.next() {
            Some(FnArg::Receiver(_)) => {}
            _ => {
                return syn::Error::new_spanned(&f.sig, "a transaction takes `&self` first")
                    .to_compile_error()
                    .into();
            }
        }
        if inputs.next().is_none() {
            return syn::Error::new_spanned(
                &f.sig,
                "a transaction takes `ctx: &mut Context` after `&self`",
            )
            .to_compile_error()
            .into();
        }
        let mut decodes = Vec::new();
        let mut call_args = Vec::new();
        let mut params = Vec::new();
        for (i, arg) in inputs.enumerate() {
            let FnArg::Typed(pt) = arg else { continue };
            let name = match &*pt.pat {
                Pat::Ident(id) => id.ident.to_string(),
                _ => format!("arg{i}"),
            };
            let ty = &pt.ty;
            let var = format_ident!("__arg{}", i);
            decodes.push(quote! {
                let #var: #ty = ::weft_chaincode_sdk::codec::decode_arg(&args[#i], #tx_name, #name)?;
            });
            call_args.push(quote!(#var));
            let tn = type_name(ty);
            params.push(quote!((#name, #tn)));
        }
        let n = call_args.len();
        let returns = match &f.sig.output {
            ReturnType::Type(_, ty) => type_name(ty),
            ReturnType::Default => "()".into(),
        };
        let evaluate = tx.evaluate;
        arms.push(quote! {
            #tx_name => {
                if args.len() != #n {
                    return Err(::weft_chaincode_sdk::ContractError::wrong_arg_count(#tx_name, #n, args.len()));
                }
                #(#decodes)*
                let result = self.#method(ctx, #(#call_args),*)?;
                ::weft_chaincode_sdk::codec::encode_result(&result)
            }
        });
        infos.push(quote! {
            ::weft_chaincode_sdk::TransactionInfo { name: #tx_name, evaluate: #evaluate, params: &[#(#params),*], returns: #returns }
        });
    }
    let expanded = quote! {
        #item

        impl ::weft_chaincode_sdk::Contract for #self_ty {
            fn name(&self) -> &'static str {
                #contract_name
            }

            fn transactions(&self) -> &'static [::weft_chaincode_sdk::TransactionInfo] {
                &[#(#infos),*]
            }

            fn dispatch(
                &self,
                ctx: &mut ::weft_chaincode_sdk::Context<'_>,
                function: &str,
                args: &[::std::vec::Vec<u8>],
            ) -> ::std::result::Result<::std::vec::Vec<u8>, ::weft_chaincode_sdk::ContractError> {
                match function {
                    #(#arms)*
                    other => Err(::weft_chaincode_sdk::ContractError::unknown_function(#contract_name, other)),
                }
            }
        }
    };
    expanded.into()
}

/// Marks a method of a `#[contract]` impl as a transaction (see [`contract`]).
#[proc_macro_attribute]
pub fn transaction(_args: TokenStream, input: TokenStream) -> TokenStream {
    input
}
