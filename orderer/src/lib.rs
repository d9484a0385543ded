//! The weft ordering service.
//!
//! It orders and cuts blocks; it does not execute or validate transactions
//! beyond admission checks. Built so far: the block cutter ([`cutter`]) and the
//! Raft and block storage in RocksDB ([`storage`]). Still to come (issue:
//! Orderer): the Raft driver, gRPC services, TLS, channel participation, the
//! node and its binary.

pub mod cutter;
pub mod error;
pub mod raft_driver;
pub mod storage;

pub use error::OrdererError;
