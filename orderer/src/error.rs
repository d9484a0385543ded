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
    /// The configuration is invalid.
    #[error("config: {0}")]
    Config(String),
    /// A channel's task has stopped.
    #[error("channel {0} is stopped")]
    Stopped(String),
    /// The service cannot do it now; retrying may help.
    #[error("unavailable: {0}")]
    Unavailable(String),
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
