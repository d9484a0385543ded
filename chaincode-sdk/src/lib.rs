//! Write weft chaincode in Rust.
//!
//! A contract is a type with an `impl` block marked [`contract`]; its methods
//! marked [`transaction`] are called by name (Fabric's `Contract:Function`
//! form routes to a named contract), with arguments decoded from strings or
//! JSON and results encoded back ([`codec`]). Each transaction gets a
//! [`Context`]: state, ranges, composite keys, history, transaction facts, the
//! client's identity, transient data, events, calls to other chaincodes, and
//! key-level endorsement policies ([`statebased`]).
//!
//! ```
//! use weft_chaincode_sdk::{contract, Context, ContractError};
//!
//! #[derive(Default)]
//! pub struct Counter;
//!
//! #[contract]
//! impl Counter {
//!     #[transaction]
//!     pub fn add(&self, ctx: &mut Context, key: String, n: u64) -> Result<u64, ContractError> {
//!         let now: u64 = ctx.get_json(&key)?.unwrap_or(0) + n;
//!         ctx.put_json(&key, &now)?;
//!         Ok(now)
//!     }
//! }
//!
//! weft_chaincode_sdk::register!(Counter);
//!
//! # fn main() {
//! let mut stub = weft_chaincode_sdk::mock::MockStub::new();
//! assert_eq!(stub.invoke(&router(), &["Add", "k", "2"]).payload, b"2");
//! assert_eq!(stub.invoke(&router(), &["Add", "k", "3"]).payload, b"5");
//! # }
//! ```
//! Build to WASM and package with `weft-peer lifecycle chaincode package --build`;
//! unit-test natively with [`mock::MockStub`].

#[cfg(target_arch = "wasm32")]
pub mod bump;
pub mod codec;
mod context;
mod error;
pub mod guest;
mod ledger;
pub mod mock;
mod query;
mod router;
pub mod statebased;

pub use context::{COMPOSITE_KEY_NAMESPACE, ClientIdentity, Context};

/// In WASM, chaincode allocates with [`bump::BumpAllocator`] unless the
/// `bump-alloc` feature is turned off.
#[cfg(all(target_arch = "wasm32", feature = "bump-alloc"))]
#[global_allocator]
static ALLOCATOR: bump::BumpAllocator = bump::BumpAllocator::new();
pub use error::ContractError;
pub use ledger::{KeyValues, Ledger, LedgerError, QueryResults};
pub use query::QueryBuilder;
pub use router::{Contract, METADATA_FUNCTION, Router, TransactionInfo};
pub use weft_chaincode_abi as abi;
pub use weft_chaincode_abi::{KeyModification, QueryMetadata, Response};
pub use weft_chaincode_macros::{contract, transaction};
