//! What every weft node process shares: its YAML file read as Fabric reads
//! its own (`config_file`), listener settings, the accept loops that do TLS
//! before gRPC or HTTP, the TLS client roots that follow the channels'
//! configs (`client_roots`), and the one way to dial another node.

pub mod cli;
pub mod client_roots;
pub mod config_file;
pub mod config_writer;
pub mod deliver;
pub mod dial;
pub mod health;
pub mod limits;
pub mod net;
pub mod operations;
pub mod operations_listener;
pub mod orderer_client;
pub mod settings;
pub mod task_scope;
