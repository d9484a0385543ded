//! A proposal refused or failed before it yields an endorsement: Fabric's
//! response status and message, which the endorser returns as a
//! `ProposalResponse` (not a gRPC error), as Fabric's endorser does.

/// A refused or failed proposal: Fabric's response status and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// 400 (bad arguments), 403 (access denied), 404 (not found), 409
    /// (duplicate), 500 (failure).
    pub status: i32,
    /// What went wrong.
    pub message: String,
}

/// A refusal with a status and message.
pub(crate) fn err(status: i32, message: impl Into<String>) -> Refusal {
    Refusal {
        status,
        message: message.into(),
    }
}

/// A failure of the peer itself (its ledger or files), as status 500.
pub(crate) fn internal(e: crate::PeerError) -> Refusal {
    err(500, e.to_string())
}
