//! The weft peer.
//!
//! The committing half: [`ledger`] (RocksDB), [`validation`] (Fabric's checks
//! and codes), [`channel`] (block verification, commit, delivery from
//! orderers), [`node`] (start, join, resume) and the admin system chaincodes
//! ([`scc`]) behind `weft-peer channel ...`. The WASM chaincode runtime is in
//! [`chaincode`]. Endorsement of application chaincode and the Gateway are
//! still to come.

pub mod admin;
pub mod chaincode;
pub mod channel;
pub mod clock;
pub mod config;
pub mod deliver;
pub mod endorser;
pub mod error;
pub mod gateway;
pub mod ledger;
pub mod lifecycle;
pub mod node;
pub mod operations;
pub mod package;
pub mod remote;
pub mod scc;
pub mod transact;
pub mod validation;

pub use error::PeerError;
