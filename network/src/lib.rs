//! `weft-network`: a whole weft network on one machine in one command.
//!
//! - [`topology`]: the shape (orderers, orgs, peers per org, channel, batching, ports).
//! - [`material`]: crypto and the genesis block for it, with `weft-configtx`.
//! - [`cas`]: crypto from a `weft-ca` per organisation instead (`up --ca`).
//! - [`connection_profile`]: Fabric's connection profiles for each org, where the test network writes them.
//! - [`info`]: the running network's description (`network.json`), and
//!   clients for it (SDK gateways, admin connections).
//! - [`process`]: nodes as local processes (`up`, `status`, `logs`, `down`).
//! - [`inprocess`]: nodes inside the calling process, on 127.0.0.1:0 (tests).
//! - [`deploy`]: Fabric's chaincode lifecycle across every org.
//! - [`k8s`]: Kubernetes manifests for a topology, and their translation for `podman kube play`.
//! - [`org_setup`]: one organisation joins its own nodes and deploys its part (the manifests' setup job).
//! - [`bench`]: a Caliper-style load generator with a report and a plot.

pub mod bench;
pub mod cas;
pub mod cli;
pub mod connection_profile;
pub mod deploy;
pub mod error;
pub mod info;
pub mod inprocess;
pub mod k8s;
pub mod material;
pub mod org_setup;
pub mod process;
pub mod topology;

pub use error::NetworkError;
pub use info::NetworkInfo;
pub use inprocess::InProcessNetwork;
pub use topology::{KeyKind, Ports, Topology};
