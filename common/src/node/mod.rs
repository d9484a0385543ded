//! What every weft node process shares: listener settings with environment
//! overrides, and the accept loops that do mutual TLS before gRPC or HTTP.

pub mod cli;
pub mod net;
pub mod operations;
pub mod settings;
