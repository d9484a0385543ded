//! What every weft node process shares: listener settings with environment
//! overrides, the accept loops that do mutual TLS before gRPC or HTTP, and
//! the one way to dial another node.

pub mod cli;
pub mod dial;
pub mod net;
pub mod operations;
pub mod settings;
