//! The error type of `weft-common`.

use crate::ids::MspId;

/// Everything that can go wrong in the shared building blocks. Validation
/// outcomes of transactions are not errors: they are `TxValidationCode`s.
#[derive(Debug, thiserror::Error)]
pub enum CommonError {
    /// Bytes that should hold a protobuf message do not.
    #[error("malformed {what}: {source}")]
    Decode {
        /// Which message was being decoded.
        what: &'static str,
        /// The protobuf error.
        source: prost::DecodeError,
    },
    /// A message is well-formed protobuf but its content is not acceptable.
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// Which message or field.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// A channel name breaks Fabric's naming rules.
    #[error(
        "invalid channel name {0:?}: use lowercase letters, digits, '.' and '-', starting with a letter, under 250 characters"
    )]
    InvalidChannelId(String),
    /// A chaincode name breaks Fabric's rule.
    #[error("invalid chaincode name '{0}': must match ^[a-zA-Z0-9]+([-_][a-zA-Z0-9]+)*$")]
    InvalidChaincodeName(String),
    /// A transaction id is not 64 lowercase hex digits.
    #[error("invalid transaction id {0:?}: a txid is the lowercase hex of a SHA-256 (64 digits)")]
    InvalidTxId(String),
    /// A key or certificate could not be read.
    #[error("{what} at {path}: {reason}")]
    Load {
        /// What was being loaded.
        what: &'static str,
        /// Where.
        path: String,
        /// Why it failed, and what to do about it.
        reason: String,
    },
    /// A PEM or DER key could not be used.
    #[error("unusable key: {0}")]
    Key(String),
    /// Signing failed.
    #[error("signing failed: {0}")]
    Sign(String),
    /// A signature did not verify.
    #[error("signature verification failed: {0}")]
    BadSignature(String),
    /// An identity was refused by its MSP.
    #[error("identity of {msp} refused: {reason}")]
    Identity {
        /// The MSP the identity claims.
        msp: MspId,
        /// Why it was refused.
        reason: crate::msp::IdentityError,
    },
    /// No MSP of this id is known on the channel.
    #[error("unknown MSP {0:?}: it is not an organisation of this channel")]
    UnknownMsp(MspId),
    /// A policy text could not be parsed.
    #[error("policy {text:?}: {reason}")]
    PolicyParse {
        /// The policy text.
        text: String,
        /// What is wrong at which position.
        reason: String,
    },
    /// A policy was not satisfied.
    #[error("policy {path} not satisfied: {reason}")]
    PolicyNotSatisfied {
        /// The policy's path or text.
        path: String,
        /// Which signers counted and which were refused.
        reason: String,
    },
    /// A policy path names no policy.
    #[error("no policy at {0}")]
    UnknownPolicy(String),
    /// A channel config is missing something or is inconsistent.
    #[error("channel config: {0}")]
    Config(String),
    /// An operator's change to a channel config cannot be made (says why).
    #[error("cannot change the channel config: {0}")]
    ConfigEdit(String),
    /// A node's configuration file or setting is invalid (names the file or key).
    #[error("config: {0}")]
    NodeConfig(String),
    /// An address to dial is not `host:port`.
    #[error("{endpoint:?} is not a host:port address: {source}")]
    BadEndpoint {
        /// The address given.
        endpoint: String,
        /// What the URI parser said.
        source: tonic::transport::Error,
    },
    /// TLS settings towards a node could not be used.
    #[error("TLS towards {endpoint}: {source}")]
    DialTls {
        /// The node's address.
        endpoint: String,
        /// Why the TLS settings were refused.
        source: tonic::transport::Error,
    },
    /// A node could not be reached; the message names every cause (refused,
    /// bad certificate, timeout, …).
    #[error("cannot connect to {endpoint}: {}", error_chain(source))]
    Connect {
        /// The node's address.
        endpoint: String,
        /// The transport's error.
        source: tonic::transport::Error,
    },
    /// A node accepted the connection but did not finish the TLS and HTTP/2
    /// handshakes in time (a host that black-holes, or is not a gRPC server).
    #[error("cannot connect to {endpoint}: no handshake within {after:?}")]
    ConnectTimeout {
        /// The node's address.
        endpoint: String,
        /// How long it was given.
        after: std::time::Duration,
    },
    /// An orderer refused a request or failed to answer it.
    #[error("orderer {endpoint}: {reason}")]
    Orderer {
        /// The orderer's address.
        endpoint: String,
        /// Its status and reason, or what went wrong.
        reason: String,
    },
    /// A log spec (`/logspec`, `FABRIC_LOGGING_SPEC`) could not be applied.
    #[error("log spec {spec:?}: {reason}")]
    LogSpec {
        /// The spec given.
        spec: String,
        /// What the filter parser said.
        reason: String,
    },
}

/// An error and all its sources, joined by ": " (transport errors hide
/// their real cause, a refused connection or a bad certificate, in sources).
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out = format!("{out}: {s}");
        source = s.source();
    }
    out
}

impl CommonError {
    /// Shorthand for [`CommonError::Invalid`].
    pub fn invalid(what: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            what,
            reason: reason.into(),
        }
    }
}

/// Decodes a protobuf message, naming it in the error.
pub fn decode<M: prost::Message + Default>(
    what: &'static str,
    bytes: &[u8],
) -> Result<M, CommonError> {
    M::decode(bytes).map_err(|source| CommonError::Decode { what, source })
}
