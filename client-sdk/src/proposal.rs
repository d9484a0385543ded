//! Proposals: built from a contract call, signed (here or offline), then
//! evaluated on one peer or endorsed by enough peers to make a transaction.

use crate::gateway::CallFailure;
use std::collections::BTreeMap;

use prost::Message;
use weft_common::crypto::sha256;
use weft_common::ids::ChannelId;
use weft_common::tx::ProposalBuilder;
use weft_protos::gateway::{EndorseRequest, EvaluateRequest, ProposedTransaction};
use weft_protos::protos::SignedProposal;

use crate::error::GatewayFailure;
use crate::{ClientError, Contract, Gateway, Transaction};

/// A proposal being put together: arguments, transient data, endorsing organisations.
#[derive(Debug, Clone)]
pub struct ProposalRequest {
    contract: Contract,
    function: String,
    args: Vec<Vec<u8>>,
    transient: BTreeMap<String, Vec<u8>>,
    endorsing_organizations: Vec<String>,
}

impl ProposalRequest {
    pub(crate) fn new(contract: Contract, function: &str) -> Self {
        Self {
            contract,
            function: function.to_string(),
            args: Vec::new(),
            transient: BTreeMap::new(),
            endorsing_organizations: Vec::new(),
        }
    }

    /// Appends one argument.
    pub fn argument(mut self, arg: impl AsRef<[u8]>) -> Self {
        self.args.push(arg.as_ref().to_vec());
        self
    }

    /// Appends several arguments.
    pub fn arguments<I>(mut self, args: I) -> Self
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_vec()));
        self
    }

    /// Private input for the chaincode: seen by the endorsing peers, never
    /// written to the ledger or sent to the orderer.
    pub fn transient(mut self, key: &str, value: impl AsRef<[u8]>) -> Self {
        self.transient
            .insert(key.to_string(), value.as_ref().to_vec());
        self
    }

    /// Only peers of these MSPs endorse (e.g. the owners of a private data
    /// collection); by default the gateway picks enough orgs for the policy.
    pub fn endorsing_organizations<I>(mut self, msp_ids: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.endorsing_organizations = msp_ids.into_iter().map(Into::into).collect();
        self
    }

    /// Builds the proposal, signed if the gateway has a signer.
    pub fn build(self) -> Result<Proposal, ClientError> {
        let gateway = self.contract.network.gateway.clone();
        let channel = self.contract.network.name.clone();
        let function = match &self.contract.contract_name {
            Some(c) => format!("{c}:{}", self.function),
            None => self.function.clone(),
        };
        let mut builder = ProposalBuilder::new(ChannelId::new(&channel), &self.contract.chaincode)
            .args(
                std::iter::once(function.into_bytes())
                    .chain(self.args)
                    .collect(),
            );
        for (k, v) in self.transient {
            builder = builder.transient(k, v);
        }
        let (tx_id, proposal) = builder.build(gateway.serialized_identity());
        let proposal_bytes = proposal.encode_to_vec();
        let signature = gateway.try_sign(&proposal_bytes)?;
        Ok(Proposal {
            gateway,
            channel,
            tx_id: tx_id.to_string(),
            proposal_bytes,
            signature,
            endorsing_organizations: self.endorsing_organizations,
        })
    }
}

/// A proposal, signed or waiting for a signature.
#[derive(Debug, Clone)]
pub struct Proposal {
    gateway: Gateway,
    channel: String,
    tx_id: String,
    proposal_bytes: Vec<u8>,
    signature: Option<Vec<u8>>,
    endorsing_organizations: Vec<String>,
}

impl Proposal {
    pub(crate) fn from_proposed(
        gateway: Gateway,
        p: ProposedTransaction,
    ) -> Result<Self, ClientError> {
        let signed = p
            .proposal
            .ok_or_else(|| ClientError::malformed("proposed transaction", "no proposal"))?;
        let unpacked = weft_common::tx::UnpackedProposal::from_signed(&signed)
            .map_err(|e| ClientError::malformed("proposal", e))?;
        Ok(Self {
            gateway,
            channel: unpacked.channel_header.channel_id.clone(),
            tx_id: p.transaction_id,
            proposal_bytes: signed.proposal_bytes,
            signature: (!signed.signature.is_empty()).then_some(signed.signature),
            endorsing_organizations: p.endorsing_organizations,
        })
    }

    /// The transaction id this proposal will have.
    pub fn tx_id(&self) -> &str {
        &self.tx_id
    }

    /// The bytes a signer signs (the serialised `protos.Proposal`).
    pub fn bytes(&self) -> &[u8] {
        &self.proposal_bytes
    }

    /// SHA-256 of [`Self::bytes`]: what an ECDSA signer signs.
    pub fn digest(&self) -> [u8; 32] {
        sha256(&self.proposal_bytes)
    }

    /// Whether it carries a signature.
    pub fn is_signed(&self) -> bool {
        self.signature.is_some()
    }

    /// The same proposal with a signature made offline over [`Self::bytes`].
    pub fn with_signature(mut self, signature: Vec<u8>) -> Self {
        self.signature = Some(signature);
        self
    }

    /// Serialised (Fabric's `gateway.ProposedTransaction`), for signing elsewhere;
    /// read back with [`Gateway::proposal_from_bytes`].
    pub fn to_bytes(&self) -> Vec<u8> {
        ProposedTransaction {
            transaction_id: self.tx_id.clone(),
            proposal: Some(SignedProposal {
                proposal_bytes: self.proposal_bytes.clone(),
                signature: self.signature.clone().unwrap_or_default(),
            }),
            endorsing_organizations: self.endorsing_organizations.clone(),
        }
        .encode_to_vec()
    }

    fn signed(&self) -> Result<SignedProposal, ClientError> {
        let signature = self
            .signature
            .clone()
            .ok_or(ClientError::Unsigned("proposal"))?;
        Ok(SignedProposal {
            proposal_bytes: self.proposal_bytes.clone(),
            signature,
        })
    }

    /// Runs the transaction function on a peer without ordering it (a query);
    /// returns what the chaincode returned.
    pub async fn evaluate(&self) -> Result<Vec<u8>, ClientError> {
        let request = EvaluateRequest {
            transaction_id: self.tx_id.clone(),
            channel_id: self.channel.clone(),
            proposed_transaction: Some(self.signed()?),
            target_organizations: self.endorsing_organizations.clone(),
        };
        let response = self
            .gateway
            .call(self.gateway.timeouts().evaluate, |mut c| {
                let request = request.clone();
                async move { c.evaluate(request).await }
            })
            .await
            .map_err(|f| match f {
                CallFailure::Timeout => ClientError::Timeout("evaluate"),
                CallFailure::Status(s) => ClientError::Evaluate {
                    tx_id: self.tx_id.clone(),
                    failure: GatewayFailure::from_status(&s),
                },
            })?;
        Ok(response.result.map(|r| r.payload).unwrap_or_default())
    }

    /// Has the proposal endorsed by enough peers to satisfy the chaincode's
    /// endorsement policy; returns the transaction to sign and submit.
    pub async fn endorse(&self) -> Result<Transaction, ClientError> {
        let request = EndorseRequest {
            transaction_id: self.tx_id.clone(),
            channel_id: self.channel.clone(),
            proposed_transaction: Some(self.signed()?),
            endorsing_organizations: self.endorsing_organizations.clone(),
        };
        let response = self
            .gateway
            .call(self.gateway.timeouts().endorse, |mut c| {
                let request = request.clone();
                async move { c.endorse(request).await }
            })
            .await
            .map_err(|f| match f {
                CallFailure::Timeout => ClientError::Timeout("endorse"),
                CallFailure::Status(s) => ClientError::Endorse {
                    tx_id: self.tx_id.clone(),
                    failure: GatewayFailure::from_status(&s),
                },
            })?;
        let envelope = response
            .prepared_transaction
            .ok_or_else(|| ClientError::malformed("endorse response", "no prepared transaction"))?;
        Transaction::new(
            self.gateway.clone(),
            self.channel.clone(),
            self.tx_id.clone(),
            envelope,
        )
    }
}
