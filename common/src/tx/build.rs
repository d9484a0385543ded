//! Building proposals, proposal responses and transactions, as Fabric's clients
//! and endorsers do.

use std::collections::BTreeMap;

use prost::Message;
use weft_protos::common::{ChannelHeader, Envelope, Header, HeaderType, Payload, SignatureHeader};
use weft_protos::protos::{
    ChaincodeAction, ChaincodeActionPayload, ChaincodeEndorsedAction, ChaincodeHeaderExtension,
    ChaincodeId, ChaincodeInput, ChaincodeInvocationSpec, ChaincodeProposalPayload, ChaincodeSpec,
    Endorsement, Proposal, ProposalResponse, ProposalResponsePayload, Response, SignedProposal,
    Transaction, TransactionAction, chaincode_spec,
};

use super::proposal::UnpackedProposal;
use super::txid::compute_txid;
use crate::CommonError;
use crate::crypto::random_bytes;
use crate::ids::{ChannelId, TxId};
use crate::msp::SigningIdentity;

/// Builds a chaincode invocation proposal.
#[derive(Debug, Clone)]
pub struct ProposalBuilder {
    channel: ChannelId,
    chaincode: String,
    args: Vec<Vec<u8>>,
    transient: BTreeMap<String, Vec<u8>>,
    nonce: Option<Vec<u8>>,
    timestamp: Option<prost_types::Timestamp>,
    is_init: bool,
}

/// A signed proposal with its txid and decoded form.
#[derive(Debug, Clone)]
pub struct SignedProposalBundle {
    /// The transaction id.
    pub tx_id: TxId,
    /// What goes on the wire.
    pub signed: SignedProposal,
    /// The same, decoded.
    pub unpacked: UnpackedProposal,
}

impl ProposalBuilder {
    /// A proposal to invoke `chaincode` on `channel`.
    pub fn new(channel: ChannelId, chaincode: impl Into<String>) -> Self {
        Self {
            channel,
            chaincode: chaincode.into(),
            args: Vec::new(),
            transient: BTreeMap::new(),
            nonce: None,
            timestamp: None,
            is_init: false,
        }
    }

    /// Function name and string arguments (Fabric's `{"Args":[fn, ...]}`).
    pub fn function<S: AsRef<[u8]>>(
        mut self,
        name: &str,
        args: impl IntoIterator<Item = S>,
    ) -> Self {
        self.args = std::iter::once(name.as_bytes().to_vec())
            .chain(args.into_iter().map(|a| a.as_ref().to_vec()))
            .collect();
        self
    }

    /// Raw arguments, function name first.
    pub fn args(mut self, args: Vec<Vec<u8>>) -> Self {
        self.args = args;
        self
    }

    /// Adds transient (private, unrecorded) data.
    pub fn transient(mut self, key: impl Into<String>, value: Vec<u8>) -> Self {
        self.transient.insert(key.into(), value);
        self
    }

    /// Marks the invocation as the chaincode's Init.
    pub fn init(mut self, is_init: bool) -> Self {
        self.is_init = is_init;
        self
    }

    /// Uses this nonce instead of 24 random bytes (tests, replays).
    pub fn nonce(mut self, nonce: Vec<u8>) -> Self {
        self.nonce = Some(nonce);
        self
    }

    /// Uses this timestamp instead of the current time.
    pub fn timestamp(mut self, ts: prost_types::Timestamp) -> Self {
        self.timestamp = Some(ts);
        self
    }

    /// Builds the unsigned proposal for `creator` (serialized identity bytes).
    pub fn build(self, creator: &[u8]) -> (TxId, Proposal) {
        let nonce = self.nonce.unwrap_or_else(|| random_bytes(24));
        let tx_id = compute_txid(&nonce, creator);
        let timestamp = self
            .timestamp
            .unwrap_or_else(|| prost_types::Timestamp::from(std::time::SystemTime::now()));
        let chaincode_id = ChaincodeId {
            name: self.chaincode.clone(),
            ..Default::default()
        };
        let channel_header = ChannelHeader {
            r#type: HeaderType::EndorserTransaction as i32,
            version: 0,
            timestamp: Some(timestamp),
            channel_id: self.channel.to_string(),
            tx_id: tx_id.to_string(),
            epoch: 0,
            extension: ChaincodeHeaderExtension {
                chaincode_id: Some(chaincode_id.clone()),
            }
            .encode_to_vec(),
            tls_cert_hash: Vec::new(),
        };
        let signature_header = SignatureHeader {
            creator: creator.to_vec(),
            nonce,
        };
        let invocation = ChaincodeInvocationSpec {
            chaincode_spec: Some(ChaincodeSpec {
                r#type: chaincode_spec::Type::Undefined as i32,
                chaincode_id: Some(chaincode_id),
                input: Some(ChaincodeInput {
                    args: self.args,
                    decorations: Default::default(),
                    is_init: self.is_init,
                }),
                timeout: 0,
            }),
        };
        let payload = ChaincodeProposalPayload {
            input: invocation.encode_to_vec(),
            transient_map: self.transient,
        };
        let header = Header {
            channel_header: channel_header.encode_to_vec(),
            signature_header: signature_header.encode_to_vec(),
        };
        let proposal = Proposal {
            header: header.encode_to_vec(),
            payload: payload.encode_to_vec(),
            extension: Vec::new(),
        };
        (tx_id, proposal)
    }

    /// Builds and signs the proposal.
    pub fn sign(self, signer: &SigningIdentity) -> Result<SignedProposalBundle, CommonError> {
        let (tx_id, proposal) = self.build(signer.serialized());
        let proposal_bytes = proposal.encode_to_vec();
        let signature = signer.sign(&proposal_bytes)?;
        let signed = SignedProposal {
            proposal_bytes,
            signature,
        };
        let unpacked = UnpackedProposal::from_signed(&signed)?;
        Ok(SignedProposalBundle {
            tx_id,
            signed,
            unpacked,
        })
    }
}

/// An endorser's signed response: the proposal hash and chaincode action,
/// signed over `payload ‖ endorser identity`. The signature is remembered as
/// verified ([`crate::crypto::VerifiedSignatures`]).
pub fn create_proposal_response(
    proposal: &UnpackedProposal,
    response: Response,
    results: Vec<u8>,
    events: Vec<u8>,
    chaincode_id: ChaincodeId,
    endorser: &SigningIdentity,
) -> Result<ProposalResponse, CommonError> {
    let action = ChaincodeAction {
        results,
        events,
        response: Some(response.clone()),
        chaincode_id: Some(chaincode_id),
    };
    let payload = ProposalResponsePayload {
        proposal_hash: proposal.hash().to_vec(),
        extension: action.encode_to_vec(),
    }
    .encode_to_vec();
    let mut signed = payload.clone();
    signed.extend_from_slice(endorser.serialized());
    let signature = endorser.sign(&signed)?;
    // The endorsement comes back to this node in a block: it need not be
    // verified there.
    crate::crypto::VerifiedSignatures::process().remember(
        &endorser.identity.certificate().public_key,
        &signed,
        &signature,
    );
    Ok(ProposalResponse {
        version: 1,
        timestamp: None,
        response: Some(response),
        payload,
        endorsement: Some(Endorsement {
            endorser: endorser.serialized().to_vec(),
            signature,
        }),
        interest: None,
    })
}

/// Builds the transaction payload from a proposal and its endorsements (all
/// must be successful and carry identical payloads), then signs it as the
/// proposal's creator.
pub fn assemble_transaction(
    proposal: &UnpackedProposal,
    responses: &[ProposalResponse],
    creator: &SigningIdentity,
) -> Result<Envelope, CommonError> {
    if proposal.signature_header.creator != creator.serialized() {
        return Err(CommonError::invalid(
            "transaction",
            "the signer is not the proposal's creator",
        ));
    }
    let mut env = prepare_transaction(proposal, responses)?;
    env.signature = creator.sign(&env.payload)?;
    Ok(env)
}

/// The unsigned transaction a Gateway returns from Endorse: the payload built
/// from the proposal and its endorsements, for the client to sign.
pub fn prepare_transaction(
    proposal: &UnpackedProposal,
    responses: &[ProposalResponse],
) -> Result<Envelope, CommonError> {
    let first = responses
        .first()
        .ok_or_else(|| CommonError::invalid("transaction", "no endorsements"))?;
    let mut endorsements = Vec::with_capacity(responses.len());
    for (i, r) in responses.iter().enumerate() {
        let status = r.response.as_ref().map_or(0, |r| r.status);
        if !(200..400).contains(&status) {
            let msg = r
                .response
                .as_ref()
                .map(|r| r.message.clone())
                .unwrap_or_default();
            return Err(CommonError::invalid(
                "transaction",
                format!("endorsement {i} failed with status {status}: {msg}"),
            ));
        }
        if r.payload != first.payload {
            return Err(CommonError::invalid(
                "transaction",
                format!("endorsement {i} has a different payload than endorsement 0"),
            ));
        }
        endorsements.push(r.endorsement.clone().ok_or_else(|| {
            CommonError::invalid(
                "transaction",
                format!("response {i} carries no endorsement"),
            )
        })?);
    }
    let action_payload = ChaincodeActionPayload {
        chaincode_proposal_payload: proposal.payload_for_tx(),
        action: Some(ChaincodeEndorsedAction {
            proposal_response_payload: first.payload.clone(),
            endorsements,
        }),
    };
    let tx = Transaction {
        actions: vec![TransactionAction {
            header: proposal.header.signature_header.clone(),
            payload: action_payload.encode_to_vec(),
        }],
    };
    let payload = Payload {
        header: Some(proposal.header.clone()),
        data: tx.encode_to_vec(),
    }
    .encode_to_vec();
    Ok(Envelope {
        payload,
        signature: Vec::new(),
    })
}

/// A signed envelope of any header type (Broadcast payloads, Deliver's
/// SeekInfo requests, config updates): fresh nonce and txid, the current time.
pub fn signed_envelope(
    kind: weft_protos::common::HeaderType,
    channel: &ChannelId,
    data: Vec<u8>,
    signer: &SigningIdentity,
) -> Result<Envelope, CommonError> {
    signed_bound_envelope(kind, channel, data, signer, Vec::new())
}

/// The same, bound to the client's TLS certificate (its SHA-256 in the
/// channel header, as Fabric's clients bind Deliver requests).
pub fn signed_bound_envelope(
    kind: weft_protos::common::HeaderType,
    channel: &ChannelId,
    data: Vec<u8>,
    signer: &SigningIdentity,
    tls_cert_hash: Vec<u8>,
) -> Result<Envelope, CommonError> {
    let payload = bound_envelope_payload(kind, channel, data, signer.serialized(), tls_cert_hash);
    let signature = signer.sign(&payload)?;
    Ok(Envelope { payload, signature })
}

/// The payload of such an envelope, to be signed by `creator` (here or offline).
pub fn envelope_payload(
    kind: weft_protos::common::HeaderType,
    channel: &ChannelId,
    data: Vec<u8>,
    creator: &[u8],
) -> Vec<u8> {
    bound_envelope_payload(kind, channel, data, creator, Vec::new())
}

/// The same, bound to the client's TLS certificate by its SHA-256 in the
/// channel header (Fabric's `tls_cert_hash`, which Deliver requires under
/// mutual TLS).
pub fn bound_envelope_payload(
    kind: weft_protos::common::HeaderType,
    channel: &ChannelId,
    data: Vec<u8>,
    creator: &[u8],
    tls_cert_hash: Vec<u8>,
) -> Vec<u8> {
    let nonce = random_bytes(24);
    let channel_header = ChannelHeader {
        r#type: kind as i32,
        version: 0,
        timestamp: Some(prost_types::Timestamp::from(std::time::SystemTime::now())),
        channel_id: channel.to_string(),
        tx_id: compute_txid(&nonce, creator).to_string(),
        epoch: 0,
        extension: Vec::new(),
        tls_cert_hash,
    };
    let header = Header {
        channel_header: channel_header.encode_to_vec(),
        signature_header: SignatureHeader {
            creator: creator.to_vec(),
            nonce,
        }
        .encode_to_vec(),
    };
    Payload {
        header: Some(header),
        data,
    }
    .encode_to_vec()
}
