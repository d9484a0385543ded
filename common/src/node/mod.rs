//! What every weft node process shares: its YAML file read as Fabric reads
//! its own (`config_file`), listener settings, the accept loops that do TLS
//! before gRPC or HTTP, and the one way to dial another node.

pub mod cli;
pub mod config_file;
pub mod deliver;
pub mod dial;
pub mod health;
pub mod limits;
pub mod net;
pub mod operations;
pub mod operations_listener;
pub mod settings;
