//! Integration tests of the peer's ledger, validation, commit and delivery.

mod attacks;
mod bad_orderer;
mod cli;
mod collection_policy;
mod crash;
mod discovery;
mod endorsement_conformance;
mod fabric_chain;
mod fabric_client;
mod fabric_network;
mod gateway;
mod health;
mod key_level;
mod lifecycle;
mod net;
mod network;
mod private_key_level;
mod range_hashes;
mod rich_query;
mod support;
mod tls_roots;
mod validation;
