//! The weft ordering service.
//!
//! It orders and cuts blocks; it does not execute or validate transactions
//! beyond admission checks. ARCHITECTURE.md maps the data flow.
//!
//! The synchronous cores, tested without sockets:
//! - [`cutter`]: the block cutter (Fabric's batching rules, time as an input);
//! - [`storage`]: one RocksDB per channel with the Raft log, hard state,
//!   snapshots and the block store;
//! - [`raft_driver`]: the Ready loop (persist → send → restore → apply → advance);
//! - [`chain`]: one channel's state machine (Raft node + cutter + blocks), with
//!   exactly-once ordering across leader changes and snapshot catch-up;
//! - [`digest_window`]: the bounded windows of envelope digests it and the
//!   channel handle keep.
//!
//! The async shell around them: [`channel`] (one task per channel driving its
//! chain), [`raft_outbox`] (ordered Raft delivery to each consenter),
//! [`broadcast`], [`deliver`] and [`cluster_service`] (the gRPC services), [`participation`]
//! (the `osnadmin` REST API), [`operations`] and [`node`] (a whole orderer).

pub mod broadcast;
pub mod chain;
pub mod channel;
pub mod cli;
pub mod cluster_service;
pub mod config;
pub mod cutter;
pub mod deliver;
pub mod digest_window;
pub mod encoded_block;
pub mod error;
pub mod membership;
pub mod metrics;
pub mod node;
pub mod node_core;
pub mod operations;
pub mod osnadmin;
pub mod participation;
pub mod raft_driver;
pub mod raft_outbox;
pub mod registry;
pub mod step_wire;
pub mod storage;

pub use error::OrdererError;
