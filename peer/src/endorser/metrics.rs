//! What the endorser counts for `/metrics`.

use std::sync::atomic::AtomicU64;

use weft_common::node::operations::Histogram;

/// What the endorser counts.
#[derive(Debug, Default)]
pub struct EndorserMetrics {
    /// Proposals received.
    pub proposals: AtomicU64,
    /// Proposals refused or failed.
    pub proposal_failures: AtomicU64,
    /// Time to check, simulate and sign a proposal.
    pub propose_duration: Histogram,
}
