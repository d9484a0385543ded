//! Unpacking envelopes and endorser transactions, with Fabric's validation codes.

use prost::Message;
use weft_protos::common::{ChannelHeader, Envelope, Header, HeaderType, Payload, SignatureHeader};
use weft_protos::kvrwset::KvrwSet;
use weft_protos::protos::{
    ChaincodeAction, ChaincodeActionPayload, ChaincodeEvent, ChaincodeHeaderExtension, Endorsement,
    ProposalResponsePayload, Transaction, TxValidationCode as Code,
};
use weft_protos::rwset::{CollectionHashedReadWriteSet, TxReadWriteSet};

use super::invalid::Invalid;
use super::proposal::proposal_hash;
use super::txid::compute_txid;
use crate::ids::TxId;
use crate::policy::SignedData;

/// An envelope decoded down to its headers, keeping the signed payload bytes.
#[derive(Debug, Clone)]
pub struct UnpackedEnvelope {
    /// The exact payload bytes the creator signed.
    pub payload_bytes: Vec<u8>,
    /// The creator's signature.
    pub signature: Vec<u8>,
    /// The payload header, with sub-headers as signed bytes.
    pub header: Header,
    /// The decoded channel header.
    pub channel_header: ChannelHeader,
    /// The decoded signature header.
    pub signature_header: SignatureHeader,
    /// The payload's data (type-specific).
    pub data: Vec<u8>,
}

fn bad(code: Code, reason: impl Into<String>) -> Invalid {
    Invalid::new(code, reason)
}

impl UnpackedEnvelope {
    /// Decodes marshalled `Envelope` bytes (an entry of a block's data).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Invalid> {
        if bytes.is_empty() {
            return Err(bad(Code::NilEnvelope, "empty envelope"));
        }
        let env = Envelope::decode(bytes)
            .map_err(|e| bad(Code::InvalidOtherReason, format!("malformed envelope: {e}")))?;
        Self::from_envelope(&env)
    }

    /// Decodes an `Envelope`'s payload and headers and checks the common header
    /// as Fabric does for transactions: known type, epoch 0, nonce and creator present.
    pub fn from_envelope(env: &Envelope) -> Result<Self, Invalid> {
        let e = Self::decode(env)?;
        e.check_common_header()?;
        Ok(e)
    }

    /// Decodes an `Envelope`'s payload and headers only, as Fabric's Deliver
    /// does with a request (whose signature header may carry no nonce: Fabric's
    /// gateway client sends none).
    pub fn decode(env: &Envelope) -> Result<Self, Invalid> {
        if env.payload.is_empty() {
            return Err(bad(Code::BadPayload, "envelope has no payload"));
        }
        let payload = Payload::decode(env.payload.as_slice())
            .map_err(|e| bad(Code::BadPayload, format!("malformed payload: {e}")))?;
        let header = payload
            .header
            .ok_or_else(|| bad(Code::BadCommonHeader, "payload has no header"))?;
        let channel_header =
            ChannelHeader::decode(header.channel_header.as_slice()).map_err(|e| {
                bad(
                    Code::BadChannelHeader,
                    format!("malformed channel header: {e}"),
                )
            })?;
        let signature_header = SignatureHeader::decode(header.signature_header.as_slice())
            .map_err(|e| {
                bad(
                    Code::BadCommonHeader,
                    format!("malformed signature header: {e}"),
                )
            })?;
        Ok(Self {
            payload_bytes: env.payload.clone(),
            signature: env.signature.clone(),
            header,
            channel_header,
            signature_header,
            data: payload.data,
        })
    }

    fn check_common_header(&self) -> Result<(), Invalid> {
        let (channel_header, signature_header) = (&self.channel_header, &self.signature_header);
        let known = [
            HeaderType::EndorserTransaction,
            HeaderType::Config,
            HeaderType::ConfigUpdate,
            HeaderType::Message,
            HeaderType::DeliverSeekInfo,
        ]
        .iter()
        .any(|t| *t as i32 == channel_header.r#type);
        if !known {
            return Err(bad(
                Code::UnknownTxType,
                format!("header type {} is not supported", channel_header.r#type),
            ));
        }
        if channel_header.epoch != 0 {
            return Err(bad(
                Code::BadCommonHeader,
                format!("epoch is {}, must be 0", channel_header.epoch),
            ));
        }
        if signature_header.nonce.is_empty() {
            return Err(bad(Code::BadCommonHeader, "signature header has no nonce"));
        }
        if signature_header.creator.is_empty() && channel_header.r#type != HeaderType::Config as i32
        {
            return Err(bad(
                Code::BadCommonHeader,
                "signature header has no creator",
            ));
        }
        Ok(())
    }

    /// The header type (`common.HeaderType` as i32).
    pub fn header_type(&self) -> i32 {
        self.channel_header.r#type
    }

    /// The txid the envelope claims.
    pub fn tx_id(&self) -> TxId {
        TxId::new(self.channel_header.tx_id.clone())
    }

    /// Checks txid = hex(SHA-256(nonce ‖ creator)); `BAD_PROPOSAL_TXID` otherwise.
    pub fn check_txid(&self) -> Result<(), Invalid> {
        let want = compute_txid(&self.signature_header.nonce, &self.signature_header.creator);
        if want.as_str() == self.channel_header.tx_id {
            Ok(())
        } else {
            Err(bad(
                Code::BadProposalTxid,
                format!(
                    "txid {:?} is not SHA-256(nonce ‖ creator) = {want}",
                    self.channel_header.tx_id
                ),
            ))
        }
    }

    /// The creator's signature over the payload.
    pub fn creator_signed_data(&self) -> SignedData {
        SignedData {
            identity: self.signature_header.creator.clone(),
            data: self.payload_bytes.clone(),
            signature: self.signature.clone(),
        }
    }

    /// Unpacks an `ENDORSER_TRANSACTION`'s data: one action, its endorsements,
    /// read/write set and event; checks the proposal hash.
    pub fn endorser_transaction(&self) -> Result<EndorserTransaction, Invalid> {
        if self.header_type() != HeaderType::EndorserTransaction as i32 {
            return Err(bad(Code::UnknownTxType, "not an endorser transaction"));
        }
        let ext = ChaincodeHeaderExtension::decode(self.channel_header.extension.as_slice())
            .map_err(|e| {
                bad(
                    Code::BadHeaderExtension,
                    format!("malformed chaincode header extension: {e}"),
                )
            })?;
        let chaincode = ext
            .chaincode_id
            .map(|c| c.name)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| {
                bad(
                    Code::BadHeaderExtension,
                    "header extension names no chaincode",
                )
            })?;
        let tx = Transaction::decode(self.data.as_slice())
            .map_err(|e| bad(Code::BadPayload, format!("malformed transaction: {e}")))?;
        if tx.actions.len() != 1 {
            return Err(bad(
                Code::BadPayload,
                format!(
                    "a transaction must have exactly one action, has {}",
                    tx.actions.len()
                ),
            ));
        }
        let action = &tx.actions[0];
        let action_header = SignatureHeader::decode(action.header.as_slice())
            .map_err(|e| bad(Code::BadPayload, format!("malformed action header: {e}")))?;
        if action_header.nonce.is_empty() || action_header.creator.is_empty() {
            return Err(bad(
                Code::BadPayload,
                "action header lacks nonce or creator",
            ));
        }
        let cap = ChaincodeActionPayload::decode(action.payload.as_slice()).map_err(|e| {
            bad(
                Code::BadPayload,
                format!("malformed chaincode action payload: {e}"),
            )
        })?;
        let endorsed = cap.action.ok_or_else(|| {
            bad(
                Code::BadPayload,
                "chaincode action payload has no endorsed action",
            )
        })?;
        let prp = ProposalResponsePayload::decode(endorsed.proposal_response_payload.as_slice())
            .map_err(|e| {
                bad(
                    Code::BadPayload,
                    format!("malformed proposal response payload: {e}"),
                )
            })?;
        let original = Header {
            channel_header: self.header.channel_header.clone(),
            signature_header: action.header.clone(),
        };
        if proposal_hash(&original, &cap.chaincode_proposal_payload).as_slice() != prp.proposal_hash
        {
            return Err(bad(
                Code::BadPayload,
                "proposal hash in the endorsed response does not match the transaction",
            ));
        }
        let cc_action = ChaincodeAction::decode(prp.extension.as_slice()).map_err(|e| {
            bad(
                Code::BadResponsePayload,
                format!("malformed chaincode action: {e}"),
            )
        })?;
        let namespaces = decode_ns_rwsets(&cc_action.results)?;
        let event = if cc_action.events.is_empty() {
            None
        } else {
            Some(
                ChaincodeEvent::decode(cc_action.events.as_slice()).map_err(|e| {
                    bad(
                        Code::BadResponsePayload,
                        format!("malformed chaincode event: {e}"),
                    )
                })?,
            )
        };
        Ok(EndorserTransaction {
            chaincode,
            action: UnpackedAction {
                action_header,
                chaincode_proposal_payload: cap.chaincode_proposal_payload,
                proposal_response_payload: endorsed.proposal_response_payload,
                endorsements: endorsed.endorsements,
                chaincode_action: cc_action,
                rwset: namespaces,
                event,
            },
        })
    }
}

/// A chaincode action's results (a `TxReadWriteSet`), one entry per
/// namespace with its public reads and writes decoded.
pub fn decode_ns_rwsets(results: &[u8]) -> Result<Vec<NsRwSet>, Invalid> {
    let rwset = TxReadWriteSet::decode(results)
        .map_err(|e| bad(Code::BadRwset, format!("malformed read/write set: {e}")))?;
    let mut namespaces = Vec::with_capacity(rwset.ns_rwset.len());
    for ns in rwset.ns_rwset {
        let kv = KvrwSet::decode(ns.rwset.as_slice()).map_err(|e| {
            bad(
                Code::BadRwset,
                format!("malformed KV read/write set of {}: {e}", ns.namespace),
            )
        })?;
        namespaces.push(NsRwSet {
            namespace: ns.namespace,
            kv,
            collections: ns.collection_hashed_rwset,
        });
    }
    Ok(namespaces)
}

/// One namespace's reads and writes.
#[derive(Debug, Clone, PartialEq)]
pub struct NsRwSet {
    /// The chaincode namespace.
    pub namespace: String,
    /// Public reads, range queries and writes.
    pub kv: KvrwSet,
    /// Hashed private-data read/write sets.
    pub collections: Vec<CollectionHashedReadWriteSet>,
}

/// An endorser transaction's single action, decoded.
#[derive(Debug, Clone)]
pub struct UnpackedAction {
    /// The action's signature header (same creator as the envelope).
    pub action_header: SignatureHeader,
    /// The proposal payload without transient data.
    pub chaincode_proposal_payload: Vec<u8>,
    /// The exact bytes every endorser signed (with its identity appended).
    pub proposal_response_payload: Vec<u8>,
    /// The endorsements.
    pub endorsements: Vec<Endorsement>,
    /// What the chaincode did.
    pub chaincode_action: ChaincodeAction,
    /// The read/write set by namespace.
    pub rwset: Vec<NsRwSet>,
    /// The chaincode event, if one was set.
    pub event: Option<ChaincodeEvent>,
}

impl UnpackedAction {
    /// One signed-data entry per endorsement: `payload ‖ endorser` signed by the endorser.
    pub fn endorsement_signed_data(&self) -> Vec<SignedData> {
        self.endorsements
            .iter()
            .map(|e| {
                let mut data =
                    Vec::with_capacity(self.proposal_response_payload.len() + e.endorser.len());
                data.extend_from_slice(&self.proposal_response_payload);
                data.extend_from_slice(&e.endorser);
                SignedData {
                    identity: e.endorser.clone(),
                    data,
                    signature: e.signature.clone(),
                }
            })
            .collect()
    }
}

/// An `ENDORSER_TRANSACTION` unpacked.
#[derive(Debug, Clone)]
pub struct EndorserTransaction {
    /// The chaincode the proposal invoked (from the header extension).
    pub chaincode: String,
    /// The one action.
    pub action: UnpackedAction,
}
