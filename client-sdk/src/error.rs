//! The SDK's one error type. A gateway failure keeps the peer's gRPC code and
//! the per-org details it attached; a failed commit keeps the validation code.

use prost::Message;
use weft_protos::gateway::ErrorDetail;
use weft_protos::protos::TxValidationCode;

/// What a gateway call reported: its gRPC code, message and the details
/// (peer address, MSP id, message) of every endorser or orderer that failed.
#[derive(Debug, Clone)]
pub struct GatewayFailure {
    /// The gRPC status code.
    pub code: tonic::Code,
    /// The gateway's summary.
    pub message: String,
    /// One entry per peer or orderer that failed, as the gateway reported them.
    pub details: Vec<ErrorDetail>,
}

impl GatewayFailure {
    /// Decodes a gRPC status, including the `gateway.ErrorDetail`s Fabric
    /// gateways attach in `grpc-status-details-bin`.
    pub fn from_status(status: &tonic::Status) -> Self {
        let details = weft_protos::google::rpc::Status::decode(status.details())
            .map(|s| {
                s.details
                    .iter()
                    .filter(|a| a.type_url.ends_with("gateway.ErrorDetail"))
                    .filter_map(|a| ErrorDetail::decode(a.value.as_slice()).ok())
                    .collect()
            })
            .unwrap_or_default();
        Self {
            code: status.code(),
            message: status.message().to_string(),
            details,
        }
    }
}

impl std::fmt::Display for GatewayFailure {
    /// The code and summary, then one line per peer or orderer that failed
    /// (address, MSP id, message), as Fabric's gateway clients show them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}: {}", self.code, self.message)?;
        for d in &self.details {
            write!(f, "\n  - {} ({}): {}", d.address, d.msp_id, d.message)?;
        }
        Ok(())
    }
}

/// Everything that can go wrong in the client SDK.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The gateway could not be reached.
    #[error("{source}")]
    Connect {
        /// The address tried.
        endpoint: String,
        /// Why it failed (naming the address and every cause).
        source: weft_common::CommonError,
    },
    /// Identity, key or certificate files could not be loaded or used.
    #[error("identity: {0}")]
    Identity(String),
    /// Something to sign has no signature and the gateway has no signer.
    #[error(
        "the {0} is not signed and this gateway has no signer: sign its digest() offline and use with_signature()"
    )]
    Unsigned(&'static str),
    /// Evaluation failed (the chaincode returned an error, or no peer could run it).
    #[error("evaluate {tx_id}: {failure}")]
    Evaluate {
        /// The transaction id of the proposal.
        tx_id: String,
        /// What the gateway said.
        failure: GatewayFailure,
    },
    /// Endorsement failed: the chaincode refused, peers disagreed, or the
    /// endorsement policy could not be met.
    #[error("endorse {tx_id}: {failure}")]
    Endorse {
        /// The transaction id.
        tx_id: String,
        /// What the gateway said.
        failure: GatewayFailure,
    },
    /// The orderer did not accept the transaction. It may be resubmitted
    /// unchanged: the ledger refuses a second commit of the same txid.
    #[error("submit {tx_id}: {failure}")]
    Submit {
        /// The transaction id.
        tx_id: String,
        /// What the gateway said.
        failure: GatewayFailure,
    },
    /// The commit status could not be obtained (the transaction may still commit).
    #[error("commit status of {tx_id}: {failure}")]
    CommitStatus {
        /// The transaction id.
        tx_id: String,
        /// What the gateway said.
        failure: GatewayFailure,
    },
    /// The transaction was committed to a block but marked invalid.
    #[error("transaction {tx_id} was committed in block {block_number} as invalid: {}", code.as_str_name())]
    Commit {
        /// The transaction id.
        tx_id: String,
        /// The validation code peers gave it.
        code: TxValidationCode,
        /// The block it is in.
        block_number: u64,
    },
    /// An event stream failed.
    #[error("events: {0}")]
    Events(GatewayFailure),
    /// The gateway answered with something that does not decode.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// What was being decoded.
        what: &'static str,
        /// The decoder's complaint.
        reason: String,
    },
    /// A checkpoint or journal file could not be read or written.
    #[error("{path}: {reason}")]
    File {
        /// The file.
        path: std::path::PathBuf,
        /// What failed.
        reason: String,
    },
    /// A call did not finish in time.
    #[error("{0} timed out")]
    Timeout(&'static str),
}

impl ClientError {
    /// The validation code, when the transaction committed as invalid.
    pub fn validation_code(&self) -> Option<TxValidationCode> {
        match self {
            Self::Commit { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// The gateway's details, for failures the gateway reported.
    pub fn details(&self) -> &[ErrorDetail] {
        match self {
            Self::Evaluate { failure, .. }
            | Self::Endorse { failure, .. }
            | Self::Submit { failure, .. }
            | Self::CommitStatus { failure, .. }
            | Self::Events(failure) => &failure.details,
            _ => &[],
        }
    }

    /// Whether the transaction lost an MVCC race (a read key or range changed
    /// before it committed): running it again, newly endorsed, may succeed.
    pub fn is_mvcc_conflict(&self) -> bool {
        matches!(
            self.validation_code(),
            Some(TxValidationCode::MvccReadConflict | TxValidationCode::PhantomReadConflict)
        )
    }

    pub(crate) fn malformed(what: &'static str, e: impl std::fmt::Display) -> Self {
        Self::Malformed {
            what,
            reason: e.to_string(),
        }
    }

    pub(crate) fn file(path: &std::path::Path, e: impl std::fmt::Display) -> Self {
        Self::File {
            path: path.to_path_buf(),
            reason: e.to_string(),
        }
    }
}

impl From<weft_common::CommonError> for ClientError {
    fn from(e: weft_common::CommonError) -> Self {
        Self::Identity(e.to_string())
    }
}
