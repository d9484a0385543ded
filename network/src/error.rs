//! The error type of `weft-network`.

/// Everything that can go wrong standing up, driving or tearing down a network.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    /// The topology or a flag is invalid.
    #[error("topology: {0}")]
    Topology(String),
    /// A file or directory could not be read or written.
    #[error("{path}: {reason}")]
    Io {
        /// The path.
        path: std::path::PathBuf,
        /// What failed.
        reason: String,
    },
    /// Crypto material or the genesis block could not be generated.
    #[error("configtx: {0}")]
    Configtx(#[from] weft_configtx::ConfigtxError),
    /// A node failed to start or to answer.
    #[error("{node}: {reason}")]
    Node {
        /// Which node.
        node: String,
        /// What happened.
        reason: String,
    },
    /// Deploying a chaincode failed.
    #[error("deploy: {0}")]
    Deploy(String),
    /// Identity or crypto material could not be used.
    #[error(transparent)]
    Common(#[from] weft_common::CommonError),
    /// A peer-side operation failed.
    #[error(transparent)]
    Peer(#[from] weft_peer::PeerError),
    /// A client SDK call failed.
    #[error(transparent)]
    Client(#[from] weft_client_sdk::ClientError),
    /// Something did not happen in time.
    #[error("timed out waiting for {0}")]
    Timeout(String),
    /// No network is running in this directory.
    #[error("no network in {0} (run `weft-network up` first)")]
    NotRunning(std::path::PathBuf),
    /// The bench's external client (Fabric's Node.js client) could not run.
    #[error("bench client {client}: {reason}")]
    BenchClient {
        /// Which client.
        client: &'static str,
        /// What went wrong.
        reason: String,
    },
}

impl NetworkError {
    /// A failed file operation on `path`.
    pub fn io(path: &std::path::Path, e: impl std::fmt::Display) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            reason: e.to_string(),
        }
    }

    pub(crate) fn node(node: &str, e: impl std::fmt::Display) -> Self {
        Self::Node {
            node: node.to_string(),
            reason: e.to_string(),
        }
    }
}
