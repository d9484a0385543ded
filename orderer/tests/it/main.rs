//! The orderer's integration tests, in one binary.

mod attacks;
mod catch_up;
mod chain_cluster;
mod client_tls;
mod crash;
mod membership;
mod network;
mod participation;
mod rotation;
mod soak;
mod support;
