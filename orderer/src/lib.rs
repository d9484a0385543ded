//! The weft ordering service.
//!
//! It orders and cuts blocks; it does not execute or validate transactions
//! beyond admission checks.
//!
//! Built so far, all synchronous and tested without sockets:
//! - [`cutter`]: the block cutter (Fabric's batching rules, time as an input);
//! - [`storage`]: one RocksDB per channel with the Raft log, hard state,
//!   snapshots and the block store;
//! - [`raft_driver`]: the Ready loop (persist → send → restore → apply → advance);
//! - [`chain`]: one channel's state machine (Raft node + cutter + blocks), with
//!   exactly-once ordering across leader changes and snapshot catch-up.
//!
//! Still to come (issue: Orderer): the async shell, gRPC services (Broadcast,
//! Deliver, cluster transport), TLS, channel participation, config updates,
//! operations endpoint, the node and its binary.

pub mod broadcast;
pub mod chain;
pub mod channel;
pub mod cluster_service;
pub mod config;
pub mod cutter;
pub mod error;
pub mod membership;
pub mod metrics;
pub mod node;
pub mod operations;
pub mod participation;
pub mod raft_driver;
pub mod registry;
pub mod step_wire;
pub mod storage;

pub use error::OrdererError;
