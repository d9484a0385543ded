//! Transactions: ids, proposals, endorsements and envelopes.
//!
//! Building follows Fabric's client flow (proposal → endorsements → signed
//! envelope); unpacking turns wire bytes into [`UnpackedEnvelope`] /
//! [`EndorserTransaction`] once, keeping the exact bytes every signature covers.
//! A transaction that cannot be unpacked is not an error but a verdict:
//! [`Invalid`] carries the `TxValidationCode` Fabric would assign.

mod build;
mod envelope;
mod invalid;
mod proposal;
mod txid;

pub use build::{
    ProposalBuilder, SignedProposalBundle, assemble_transaction, bound_envelope_payload,
    create_proposal_response, envelope_payload, prepare_transaction, signed_bound_envelope,
    signed_envelope,
};
pub use envelope::{
    EndorserTransaction, NsRwSet, UnpackedAction, UnpackedEnvelope, decode_ns_rwsets,
};
pub use invalid::Invalid;
pub use proposal::{UnpackedProposal, proposal_hash};
pub use txid::compute_txid;
pub use weft_protos::protos::TxValidationCode;
