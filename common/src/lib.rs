//! Shared building blocks of every weft node.
//!
//! - [`ids`]: typed identifiers (`ChannelId`, `TxId`, `BlockNum`, `MspId`).
//! - [`crypto`]: hashing, the [`crypto::Signer`] trait, ECDSA P-256 (low-S) and Ed25519.
//! - [`msp`]: Fabric MSP folders, identities, validation and principal matching.
//! - [`pki`]: issuing certificates and CRLs (cryptogen, the CA, tests).
//! - [`policy`]: the signature-policy language, evaluation, implicit-meta policies and ACLs.
//! - [`tx`]: txids, proposals, proposal responses, endorsed transactions and envelopes.
//! - [`block`]: block header and data hashes, block signatures.
//! - [`config`]: a typed view (bundle) of a channel's configuration.
//! - [`tls`]: rustls configs with mutual TLS and run-time client roots.
//!
//! Wire types come from `weft-protos`; this crate turns wire bytes into
//! "unpacked" types once, at the edge, keeping the original signed bytes so that
//! signatures are always checked over what was signed, never over a re-encoding.

pub mod backoff;
pub mod block;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod error;
pub mod ids;
pub mod msp;
pub mod node;
pub mod pki;
pub mod policy;
pub mod tls;
pub mod tx;

pub use error::CommonError;
