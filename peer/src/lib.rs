//! The weft peer.
//!
//! Built so far: the WASM chaincode runtime ([`chaincode`]). Still to come
//! (issues: Peer ledger; Peer endorsement, Gateway): the ledger, validation and
//! commit, endorsement, the Gateway and the node itself.

pub mod admin;
pub mod chaincode;
pub mod channel;
pub mod config;
pub mod endorser;
pub mod error;
pub mod ledger;
pub mod lifecycle;
pub mod node;
pub mod operations;
pub mod package;
pub mod scc;
pub mod validation;

pub use error::PeerError;
