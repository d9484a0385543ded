//! The error type of `weft-orderer`.

/// Everything that can go wrong in the orderer.
#[derive(Debug, thiserror::Error)]
pub enum OrdererError {
    /// The storage engine failed; the channel's Raft instance must stop.
    #[error("storage: {0}")]
    Storage(String),
    /// Stored bytes do not decode: the data directory is corrupt.
    #[error("corrupt data in {what}: {reason}")]
    Corrupt {
        /// Which record.
        what: String,
        /// Why it does not decode.
        reason: String,
    },
    /// The node's own configuration (its YAML, listeners, files) is invalid.
    #[error("config: {0}")]
    NodeConfig(String),
    /// A channel's config cannot be used by this node (no Orderer group, a
    /// consensus type other than etcdraft, not a consenter, not loadable).
    #[error("channel config: {0}")]
    ChannelConfig(String),
    /// A config update is refused: stale, or a consenter change the cluster
    /// cannot take. The client's to fix; retrying the same update does not help.
    #[error("config update refused: {0}")]
    UpdateRefused(String),
    /// A channel's task has stopped.
    #[error("channel {0} is stopped")]
    Stopped(String),
    /// The service cannot do it now; retrying may help.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// An orderer's channel participation API could not be asked (the
    /// admin client's error: connection, TLS, an unreadable answer).
    #[error("channel participation at {address}: {reason}")]
    Participation {
        /// The admin endpoint.
        address: String,
        /// What went wrong.
        reason: String,
    },
    /// Raft refused an operation.
    #[error("raft: {0}")]
    Raft(#[from] raft::Error),
    /// A shared building block failed.
    #[error(transparent)]
    Common(#[from] weft_common::CommonError),
}

impl From<rocksdb::Error> for OrdererError {
    fn from(e: rocksdb::Error) -> Self {
        OrdererError::Storage(e.to_string())
    }
}

/// How each error reaches a gRPC client of the orderer's own services (the
/// one place they are mapped; Broadcast answers with Fabric's statuses).
/// FAILED_PRECONDITION means a refused config update and nothing else: a
/// forwarding consenter reads it back as [`OrdererError::UpdateRefused`].
impl From<OrdererError> for tonic::Status {
    fn from(e: OrdererError) -> Self {
        match e {
            OrdererError::UpdateRefused(why) => tonic::Status::failed_precondition(why),
            OrdererError::Stopped(_)
            | OrdererError::Unavailable(_)
            | OrdererError::Raft(_)
            | OrdererError::Participation { .. } => tonic::Status::unavailable(e.to_string()),
            OrdererError::NodeConfig(_)
            | OrdererError::ChannelConfig(_)
            | OrdererError::Storage(_)
            | OrdererError::Corrupt { .. }
            | OrdererError::Common(_) => tonic::Status::internal(e.to_string()),
        }
    }
}
