//! Why the gateway could not have an org's endorsement, an orderer's
//! acceptance, or a policy's satisfaction: each becomes an `ErrorDetail`'s
//! message or a status's, so their texts name the cause as Fabric's do.

use tonic::Status;
use weft_common::CommonError;
use weft_common::tx::Invalid;

/// Why one org's endorsement could not be had.
#[derive(Debug, thiserror::Error)]
pub(super) enum Unendorsed {
    /// This peer's own endorser failed with a gRPC error.
    #[error("{}", .0.message())]
    Local(Status),
    /// Neither the channel config nor this peer's config names a peer of the org.
    #[error(
        "no peer of {0} is known: the channel config lists no anchor peers for it and Peer.Gateway.Peers names none"
    )]
    NoPeer(String),
    /// The org's peer could not be reached.
    #[error(transparent)]
    Connect(CommonError),
    /// The org's peer answered with a gRPC error.
    #[error("{}: {}", .0.code(), .0.message())]
    Remote(Status),
}

/// Why an orderer did not accept a transaction.
#[derive(Debug, thiserror::Error)]
pub(super) enum NotOrdered {
    /// The orderer could not be reached.
    #[error(transparent)]
    Connect(CommonError),
    /// The Broadcast call failed.
    #[error("{}", .0.message())]
    Call(Status),
    /// The orderer refused the envelope.
    #[error("status {status}: {info}")]
    Refused {
        /// Fabric's status code.
        status: i32,
        /// The orderer's reason.
        info: String,
    },
    /// The orderer ended the stream without an answer.
    #[error("the orderer closed the stream")]
    Closed,
}

/// Why endorsements fall short of a chaincode's committed policy.
#[derive(Debug, thiserror::Error)]
pub(super) enum Shortfall {
    /// The endorsements cannot be read.
    #[error("the endorsed result: {0}")]
    Unreadable(String),
    /// A policy the committer will check is not satisfied (or the chaincode
    /// has no usable committed definition).
    #[error("{}", .0.reason)]
    Policy(Invalid),
}
