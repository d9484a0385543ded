//! The orderer's integration tests, in one binary.

mod chain_cluster;
mod membership;
mod network;
mod participation;
mod support;
