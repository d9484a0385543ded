//! The weft peer.
//!
//! The committing half: [`ledger`] (RocksDB), [`validation`] (Fabric's checks
//! and codes), [`channel`] (block verification, commit, delivery from
//! orderers), [`node`] (start, join, resume) and the admin system chaincodes
//! ([`scc`]) behind `weft-peer channel ...`. The WASM chaincode runtime is in
//! [`chaincode`]. The endorsing half: [`endorser`] (ProcessProposal),
//! [`lifecycle`] (`_lifecycle`), [`gateway`] (Fabric's Gateway service),
//! [`deliver`] (block events) and [`discovery`] (Fabric's service discovery,
//! with weft's peer-to-peer membership).

pub mod admin;
pub mod chaincode;
pub mod channel;
pub mod channels;
pub mod cli;
pub mod config;
pub mod deliver;
pub mod discovery;
pub mod endorser;
pub mod error;
#[cfg(test)]
mod fake_peer;
pub mod gateway;
pub mod ledger;
pub mod lifecycle;
pub mod node;
pub mod operations;
pub mod package;
pub mod privdata;
pub mod range_summary;
pub mod refusal;
pub mod remote;
pub mod scc;
pub mod transact;
pub mod validation;

pub use error::PeerError;
