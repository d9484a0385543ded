//! Unpacking signed proposals.

use prost::Message;
use weft_protos::common::{ChannelHeader, Header, HeaderType, SignatureHeader};
use weft_protos::protos::{
    ChaincodeHeaderExtension, ChaincodeInvocationSpec, ChaincodeProposalPayload, Proposal,
    SignedProposal,
};

use super::txid::compute_txid;
use crate::CommonError;
use crate::crypto::sha256_concat;
use crate::error::decode;
use crate::ids::{ChannelId, TxId};
use crate::policy::SignedData;

/// A signed proposal decoded layer by layer, with the signed bytes kept.
#[derive(Debug, Clone)]
pub struct UnpackedProposal {
    /// The exact `Proposal` bytes the creator signed.
    pub proposal_bytes: Vec<u8>,
    /// The creator's signature.
    pub signature: Vec<u8>,
    /// The decoded proposal.
    pub proposal: Proposal,
    /// Its header, with both sub-headers still as bytes.
    pub header: Header,
    /// The decoded channel header.
    pub channel_header: ChannelHeader,
    /// The decoded signature header.
    pub signature_header: SignatureHeader,
    /// The chaincode named in the channel header extension.
    pub chaincode_name: String,
    /// The decoded proposal payload (with transient data).
    pub payload: ChaincodeProposalPayload,
    /// The invocation: chaincode and arguments.
    pub invocation: ChaincodeInvocationSpec,
}

impl UnpackedProposal {
    /// Decodes a `SignedProposal`. Structural problems are errors; signature and
    /// identity checks are separate ([`Self::creator_signed_data`], [`Self::check_txid`]).
    pub fn from_signed(sp: &SignedProposal) -> Result<Self, CommonError> {
        let proposal: Proposal = decode("proposal", &sp.proposal_bytes)?;
        let header: Header = decode("proposal header", &proposal.header)?;
        let channel_header: ChannelHeader = decode("channel header", &header.channel_header)?;
        let signature_header: SignatureHeader =
            decode("signature header", &header.signature_header)?;
        if channel_header.r#type != HeaderType::EndorserTransaction as i32 {
            return Err(CommonError::invalid(
                "proposal",
                format!(
                    "channel header type {} is not ENDORSER_TRANSACTION",
                    channel_header.r#type
                ),
            ));
        }
        if signature_header.nonce.is_empty() {
            return Err(CommonError::invalid(
                "proposal",
                "signature header has no nonce",
            ));
        }
        if signature_header.creator.is_empty() {
            return Err(CommonError::invalid(
                "proposal",
                "signature header has no creator",
            ));
        }
        let ext: ChaincodeHeaderExtension =
            decode("chaincode header extension", &channel_header.extension)?;
        let chaincode_name = ext
            .chaincode_id
            .map(|c| c.name)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| {
                CommonError::invalid("proposal", "channel header extension names no chaincode")
            })?;
        let payload: ChaincodeProposalPayload =
            decode("chaincode proposal payload", &proposal.payload)?;
        let invocation: ChaincodeInvocationSpec =
            decode("chaincode invocation spec", &payload.input)?;
        Ok(Self {
            proposal_bytes: sp.proposal_bytes.clone(),
            signature: sp.signature.clone(),
            proposal,
            header,
            channel_header,
            signature_header,
            chaincode_name,
            payload,
            invocation,
        })
    }

    /// The channel, checked against Fabric's naming rules.
    pub fn channel_id(&self) -> Result<ChannelId, CommonError> {
        ChannelId::parse(&self.channel_header.channel_id)
    }

    /// The txid the proposal claims.
    pub fn tx_id(&self) -> TxId {
        TxId::new(self.channel_header.tx_id.clone())
    }

    /// Checks txid = hex(SHA-256(nonce ‖ creator)).
    pub fn check_txid(&self) -> Result<(), CommonError> {
        let want = compute_txid(&self.signature_header.nonce, &self.signature_header.creator);
        if want.as_str() == self.channel_header.tx_id {
            Ok(())
        } else {
            Err(CommonError::invalid(
                "proposal",
                format!(
                    "txid {} is not SHA-256(nonce ‖ creator) = {want}",
                    self.channel_header.tx_id
                ),
            ))
        }
    }

    /// The creator's signature over the proposal bytes, for policy evaluation.
    pub fn creator_signed_data(&self) -> SignedData {
        SignedData {
            identity: self.signature_header.creator.clone(),
            data: self.proposal_bytes.clone(),
            signature: self.signature.clone(),
        }
    }

    /// Function name and arguments (`Args[0]` is the function).
    pub fn args(&self) -> &[Vec<u8>] {
        self.invocation
            .chaincode_spec
            .as_ref()
            .and_then(|s| s.input.as_ref())
            .map_or(&[], |i| &i.args)
    }

    /// Transient data (never recorded on the ledger).
    pub fn transient(&self) -> &std::collections::BTreeMap<String, Vec<u8>> {
        &self.payload.transient_map
    }

    /// The proposal payload as it goes into a transaction: transient data removed.
    pub fn payload_for_tx(&self) -> Vec<u8> {
        ChaincodeProposalPayload {
            input: self.payload.input.clone(),
            transient_map: Default::default(),
        }
        .encode_to_vec()
    }

    /// Fabric's proposal hash, which endorsers sign and committers re-check.
    pub fn hash(&self) -> [u8; 32] {
        proposal_hash(&self.header, &self.payload_for_tx())
    }
}

/// Fabric's proposal hash: SHA-256(channel header ‖ signature header ‖ proposal
/// payload without transient data), over the header bytes as signed.
pub fn proposal_hash(header: &Header, payload_for_tx: &[u8]) -> [u8; 32] {
    sha256_concat(&[
        &header.channel_header,
        &header.signature_header,
        payload_for_tx,
    ])
}
