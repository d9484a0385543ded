//! A typed view of a channel's configuration (the "bundle").
//!
//! Built from a config block or a `common.Config`, it exposes what nodes act
//! on: organisations and their MSPs, the policy tree, anchor peers, orderer
//! endpoints, batch settings, Raft consenters and options, capabilities and
//! ACLs. The raw `Config` is kept for computing config updates.

mod bundle;
mod duration;
pub mod edit;
pub mod go_encoding;
pub mod update;

pub use bundle::{
    ApplicationConfig, ApplicationOrg, BatchSize, ChannelConfig, OrdererConfig, OrdererOrg,
    RaftConsenter, RaftOptions,
};
pub use duration::{format_go_duration, parse_go_duration};

/// Names of groups and values in a channel config tree, as Fabric spells them.
pub mod keys {
    /// The application group.
    pub const APPLICATION: &str = "Application";
    /// The orderer group.
    pub const ORDERER: &str = "Orderer";
    /// An org's MSP value.
    pub const MSP: &str = "MSP";
    /// An application org's anchor peers.
    pub const ANCHOR_PEERS: &str = "AnchorPeers";
    /// An orderer org's endpoints.
    pub const ENDPOINTS: &str = "Endpoints";
    /// Batch size of the orderer group.
    pub const BATCH_SIZE: &str = "BatchSize";
    /// Batch timeout of the orderer group.
    pub const BATCH_TIMEOUT: &str = "BatchTimeout";
    /// Consensus type of the orderer group.
    pub const CONSENSUS_TYPE: &str = "ConsensusType";
    /// Channel restrictions of the orderer group.
    pub const CHANNEL_RESTRICTIONS: &str = "ChannelRestrictions";
    /// Capabilities of a group.
    pub const CAPABILITIES: &str = "Capabilities";
    /// Hashing algorithm of the channel group.
    pub const HASHING_ALGORITHM: &str = "HashingAlgorithm";
    /// Block data hashing structure of the channel group.
    pub const BLOCK_DATA_HASHING_STRUCTURE: &str = "BlockDataHashingStructure";
    /// Orderer addresses of the channel group (deprecated).
    pub const ORDERER_ADDRESSES: &str = "OrdererAddresses";
    /// Consortium of the channel group.
    pub const CONSORTIUM: &str = "Consortium";
    /// ACLs of the application group.
    pub const ACLS: &str = "ACLs";
}
