//! The weft peer.
//!
//! Built so far: the WASM chaincode runtime ([`chaincode`]). Still to come
//! (issues: Peer ledger; Peer endorsement, Gateway): the ledger, validation and
//! commit, endorsement, the Gateway and the node itself.

pub mod chaincode;
pub mod channel;
pub mod error;
pub mod ledger;
pub mod lifecycle;
pub mod package;
pub mod validation;

pub use error::PeerError;
