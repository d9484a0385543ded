//! Endorsed transactions (to sign and submit) and submitted ones (whose
//! commit status can be asked for).

use crate::gateway::CallFailure;
use prost::Message;
use weft_common::crypto::sha256;
use weft_protos::common::Envelope;
use weft_protos::gateway::{
    CommitStatusRequest, PreparedTransaction, SignedCommitStatusRequest, SubmitRequest,
};
use weft_protos::protos::TxValidationCode;

use crate::error::GatewayFailure;
use crate::{ClientError, Gateway};

/// An endorsed transaction: the chaincode's result is known, the envelope
/// still has to be signed (here or offline) and submitted for ordering.
#[derive(Debug, Clone)]
pub struct Transaction {
    gateway: Gateway,
    channel: String,
    tx_id: String,
    envelope: Envelope,
    result: Vec<u8>,
}

/// What the endorsing peers' chaincode returned, read from the prepared envelope.
fn endorsed_result(envelope: &Envelope) -> Result<Vec<u8>, ClientError> {
    let env = weft_common::tx::UnpackedEnvelope::from_envelope(envelope)
        .map_err(|e| ClientError::malformed("prepared transaction", e.reason))?;
    let tx = env
        .endorser_transaction()
        .map_err(|e| ClientError::malformed("prepared transaction", e.reason))?;
    Ok(tx
        .action
        .chaincode_action
        .response
        .map(|r| r.payload)
        .unwrap_or_default())
}

impl Transaction {
    pub(crate) fn new(
        gateway: Gateway,
        channel: String,
        tx_id: String,
        envelope: Envelope,
    ) -> Result<Self, ClientError> {
        let result = endorsed_result(&envelope)?;
        let mut tx = Self {
            gateway,
            channel,
            tx_id,
            envelope,
            result,
        };
        if tx.envelope.signature.is_empty()
            && let Some(sig) = tx.gateway.try_sign(&tx.envelope.payload)?
        {
            tx.envelope.signature = sig;
        }
        Ok(tx)
    }

    pub(crate) fn from_prepared(
        gateway: Gateway,
        p: PreparedTransaction,
    ) -> Result<Self, ClientError> {
        let envelope = p
            .envelope
            .ok_or_else(|| ClientError::malformed("prepared transaction", "no envelope"))?;
        let env = weft_common::tx::UnpackedEnvelope::from_envelope(&envelope)
            .map_err(|e| ClientError::malformed("prepared transaction", e.reason))?;
        let channel = env.channel_header.channel_id.clone();
        let result = endorsed_result(&envelope)?;
        Ok(Self {
            gateway,
            channel,
            tx_id: p.transaction_id,
            envelope,
            result,
        })
    }

    /// The transaction id.
    pub fn tx_id(&self) -> &str {
        &self.tx_id
    }

    /// What the transaction function returned when the peers endorsed it.
    pub fn result(&self) -> &[u8] {
        &self.result
    }

    /// The bytes a signer signs (the envelope's payload).
    pub fn bytes(&self) -> &[u8] {
        &self.envelope.payload
    }

    /// SHA-256 of [`Self::bytes`].
    pub fn digest(&self) -> [u8; 32] {
        sha256(&self.envelope.payload)
    }

    /// Whether it carries a signature.
    pub fn is_signed(&self) -> bool {
        !self.envelope.signature.is_empty()
    }

    /// The same transaction with a signature made offline over [`Self::bytes`].
    pub fn with_signature(mut self, signature: Vec<u8>) -> Self {
        self.envelope.signature = signature;
        self
    }

    /// The signed envelope as it goes to the orderer.
    pub fn envelope(&self) -> &Envelope {
        &self.envelope
    }

    /// Serialised (Fabric's `gateway.PreparedTransaction`); read back with
    /// [`Gateway::transaction_from_bytes`]. Keeping these bytes lets a client
    /// resubmit exactly the same transaction after a crash.
    pub fn to_bytes(&self) -> Vec<u8> {
        PreparedTransaction {
            transaction_id: self.tx_id.clone(),
            envelope: Some(self.envelope.clone()),
        }
        .encode_to_vec()
    }

    /// Sends the signed transaction for ordering; returns once the orderer
    /// has accepted it. Submitting the same transaction again is safe: the
    /// ledger commits a txid at most once.
    pub async fn submit(&self) -> Result<Commit, ClientError> {
        if !self.is_signed() {
            return Err(ClientError::Unsigned("transaction"));
        }
        let request = SubmitRequest {
            transaction_id: self.tx_id.clone(),
            channel_id: self.channel.clone(),
            prepared_transaction: Some(self.envelope.clone()),
        };
        self.gateway
            .call(self.gateway.timeouts().submit, |mut c| {
                let request = request.clone();
                async move { c.submit(request).await }
            })
            .await
            .map_err(|f| match f {
                CallFailure::Timeout => ClientError::Timeout("submit"),
                CallFailure::Status(s) => ClientError::Submit {
                    tx_id: self.tx_id.clone(),
                    failure: GatewayFailure::from_status(&s),
                },
            })?;
        let mut commit = Commit::new(self.gateway.clone(), &self.channel, &self.tx_id)?;
        commit.result = self.result.clone();
        Ok(commit)
    }
}

/// The outcome of a committed transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// The transaction id.
    pub tx_id: String,
    /// How the peers validated it.
    pub code: TxValidationCode,
    /// The block it is in.
    pub block_number: u64,
}

impl Status {
    /// Whether it was valid (its writes are in the world state).
    pub fn is_successful(&self) -> bool {
        self.code == TxValidationCode::Valid
    }

    /// `Ok` if valid, else [`ClientError::Commit`] with the validation code.
    pub fn into_result(self) -> Result<Self, ClientError> {
        if self.is_successful() {
            Ok(self)
        } else {
            Err(ClientError::Commit {
                tx_id: self.tx_id,
                code: self.code,
                block_number: self.block_number,
            })
        }
    }
}

/// A submitted transaction: ask for its commit status (a signed request,
/// so it too can be signed offline).
#[derive(Debug, Clone)]
pub struct Commit {
    gateway: Gateway,
    tx_id: String,
    request: Vec<u8>,
    signature: Option<Vec<u8>>,
    result: Vec<u8>,
}

impl Commit {
    /// A status request for `tx_id` on `channel` (signed if the gateway has a
    /// signer). Also how to ask about a transaction submitted earlier.
    pub fn new(gateway: Gateway, channel: &str, tx_id: &str) -> Result<Self, ClientError> {
        let request = CommitStatusRequest {
            transaction_id: tx_id.to_string(),
            channel_id: channel.to_string(),
            identity: gateway.serialized_identity().to_vec(),
        }
        .encode_to_vec();
        let signature = gateway.try_sign(&request)?;
        Ok(Self {
            gateway,
            tx_id: tx_id.to_string(),
            request,
            signature,
            result: Vec::new(),
        })
    }

    pub(crate) fn from_signed_request(
        gateway: Gateway,
        s: SignedCommitStatusRequest,
    ) -> Result<Self, ClientError> {
        let r = CommitStatusRequest::decode(s.request.as_slice())
            .map_err(|e| ClientError::malformed("commit status request", e))?;
        Ok(Self {
            gateway,
            tx_id: r.transaction_id,
            request: s.request,
            signature: (!s.signature.is_empty()).then_some(s.signature),
            result: Vec::new(),
        })
    }

    /// The transaction id.
    pub fn tx_id(&self) -> &str {
        &self.tx_id
    }

    /// What the transaction function returned at endorsement (empty for a
    /// commit made with [`Commit::new`]).
    pub fn result(&self) -> &[u8] {
        &self.result
    }

    /// The bytes a signer signs (the serialised `CommitStatusRequest`).
    pub fn bytes(&self) -> &[u8] {
        &self.request
    }

    /// SHA-256 of [`Self::bytes`].
    pub fn digest(&self) -> [u8; 32] {
        sha256(&self.request)
    }

    /// The same request with a signature made offline over [`Self::bytes`].
    pub fn with_signature(mut self, signature: Vec<u8>) -> Self {
        self.signature = Some(signature);
        self
    }

    /// Serialised (`gateway.SignedCommitStatusRequest`); read back with
    /// [`Gateway::commit_from_bytes`].
    pub fn to_bytes(&self) -> Vec<u8> {
        SignedCommitStatusRequest {
            request: self.request.clone(),
            signature: self.signature.clone().unwrap_or_default(),
        }
        .encode_to_vec()
    }

    /// Waits until the transaction is in a block and returns how it was
    /// validated (an invalid transaction is a [`Status`], not an error).
    pub async fn status(&self) -> Result<Status, ClientError> {
        let signature = self
            .signature
            .clone()
            .ok_or(ClientError::Unsigned("commit status request"))?;
        let request = SignedCommitStatusRequest {
            request: self.request.clone(),
            signature,
        };
        let r = self
            .gateway
            .call(self.gateway.timeouts().commit_status, |mut c| {
                let request = request.clone();
                async move { c.commit_status(request).await }
            })
            .await
            .map_err(|f| match f {
                CallFailure::Timeout => ClientError::Timeout("commit status"),
                CallFailure::Status(s) => ClientError::CommitStatus {
                    tx_id: self.tx_id.clone(),
                    failure: GatewayFailure::from_status(&s),
                },
            })?;
        Ok(Status {
            tx_id: self.tx_id.clone(),
            code: TxValidationCode::try_from(r.result)
                .unwrap_or(TxValidationCode::InvalidOtherReason),
            block_number: r.block_number,
        })
    }
}
