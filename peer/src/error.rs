//! The error type of `weft-peer`.

/// Everything that can go wrong in the peer.
#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    /// A chaincode module was refused at install.
    #[error("chaincode refused: {0}")]
    InvalidChaincode(String),
    /// An invocation failed; the proposal fails, the peer goes on.
    #[error("chaincode {chaincode} failed: {reason}")]
    Invocation {
        /// The chaincode.
        chaincode: String,
        /// What happened (out of fuel, memory limit, trap, bad response, ...).
        reason: String,
    },
    /// The ledger behind a simulation failed.
    #[error("ledger: {0}")]
    Ledger(String),
    /// A remote peer refused or failed a request.
    #[error("{0}")]
    Remote(String),
    /// The configuration is invalid.
    #[error("config: {0}")]
    Config(String),
    /// A shared building block failed (identity, TLS, config decoding).
    #[error(transparent)]
    Common(#[from] weft_common::CommonError),
    /// A channel could not be joined or served.
    #[error("channel: {0}")]
    Channel(String),
    /// The runtime could not be set up.
    #[error("chaincode runtime: {0}")]
    Runtime(String),
}
