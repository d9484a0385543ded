//! Policies: who must sign for something to be allowed.
//!
//! - [`SignaturePolicy`]: `AND` / `OR` / `OutOf` over principals, written in
//!   Fabric's policy language (`AND('Org1MSP.peer', 'Org2MSP.peer')`), evaluated
//!   with Fabric's rule that each identity satisfies at most one principal.
//! - [`PolicyTree`]: a channel's policies by path, including implicit-meta
//!   policies (`ANY` / `ALL` / `MAJORITY` of a sub-policy over child groups).
//! - [`SignedData`] and [`verify_signers`]: turning (identity, data, signature)
//!   triples into the validated identities a policy is evaluated against.
//! - [`acl`]: Fabric's resource names and their default policies.
//! - [`inquire`]: the principal combinations that satisfy a policy (for service discovery).

pub mod acl;
pub mod defaults;
mod dsl;
pub mod inquire;
mod signature;
mod signed_data;
mod tree;

pub use dsl::parse as parse_signature_policy;
pub use signature::{Rule, SignaturePolicy};
pub use signed_data::{SignedData, Signers, verify_signers};
pub use tree::{ImplicitMetaRule, PolicyDef, PolicyTree};
