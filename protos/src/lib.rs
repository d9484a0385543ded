//! Fabric's protocol, as weft speaks it.
//!
//! The `.proto` files under `proto/` are weft's own, written with Fabric's
//! package names, message names and field numbers so that weft is
//! byte-compatible with Fabric clients and nodes. This crate holds only the
//! generated prost messages and tonic services; domain types and conversions
//! live in `weft-common`.
//!
//! Modules follow the protobuf packages: [`common`], [`msp`], [`protos`]
//! (Fabric's peer package), [`orderer`], [`etcdraft`], [`gateway`], [`rwset`],
//! [`kvrwset`], [`lifecycle`], [`gossip`], [`discovery`] and [`google::rpc`]. Every service encodes
//! with [`codec::SizedCodec`].
#![allow(missing_docs, clippy::all, clippy::pedantic)]

pub mod codec;

/// Envelopes, headers, blocks, channel config and policies (`package common`).
pub mod common {
    include!(concat!(env!("OUT_DIR"), "/common.rs"));
}

/// Serialized identities and MSP configuration (`package msp`).
pub mod msp {
    include!(concat!(env!("OUT_DIR"), "/msp.rs"));
}

/// Fabric's peer package: proposals, transactions, chaincode, events, Endorser and Deliver (`package protos`).
pub mod protos {
    include!(concat!(env!("OUT_DIR"), "/protos.rs"));
}

/// The ordering service API and orderer config values (`package orderer`).
pub mod orderer {
    include!(concat!(env!("OUT_DIR"), "/orderer.rs"));
}

/// Raft consensus configuration and block metadata (`package etcdraft`).
pub mod etcdraft {
    include!(concat!(env!("OUT_DIR"), "/etcdraft.rs"));
}

/// The peer Gateway service (`package gateway`).
pub mod gateway {
    include!(concat!(env!("OUT_DIR"), "/gateway.rs"));
}

/// Transaction read/write sets (`package rwset`).
pub mod rwset {
    include!(concat!(env!("OUT_DIR"), "/rwset.rs"));
}

/// Key-value reads, writes and range queries (`package kvrwset`).
pub mod kvrwset {
    include!(concat!(env!("OUT_DIR"), "/kvrwset.rs"));
}

/// `_lifecycle` arguments, results and stored state (`package lifecycle`).
pub mod lifecycle {
    include!(concat!(env!("OUT_DIR"), "/lifecycle.rs"));
}

/// Gossip messages: the membership and state information service discovery returns (`package gossip`).
pub mod gossip {
    include!(concat!(env!("OUT_DIR"), "/gossip.rs"));
}

/// Service discovery (`package discovery`).
pub mod discovery {
    include!(concat!(env!("OUT_DIR"), "/discovery.rs"));
}

/// weft's own protocols (not Fabric's).
pub mod weft {
    /// Orderer-to-orderer traffic: Raft messages, forwarded envelopes, block transfer.
    pub mod cluster {
        include!(concat!(env!("OUT_DIR"), "/weft.cluster.rs"));
    }
    /// Peer-to-peer membership for service discovery.
    pub mod membership {
        include!(concat!(env!("OUT_DIR"), "/weft.membership.rs"));
    }
    /// Peer-to-peer private data: push at endorsement, pull at commit.
    pub mod privdata {
        include!(concat!(env!("OUT_DIR"), "/weft.privdata.rs"));
    }
}

/// Google's well-known RPC types.
pub mod google {
    /// The rich gRPC status model.
    pub mod rpc {
        include!(concat!(env!("OUT_DIR"), "/google.rpc.rs"));
    }
}

/// The compiled descriptor set of every `.proto` file in this crate, for reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/weft_descriptor.bin"));
