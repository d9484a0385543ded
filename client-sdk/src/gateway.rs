//! The connection to one gateway peer, and the channels ([`Network`]s) reached through it.

use std::sync::Arc;
use std::time::Duration;

use prost::Message;
use weft_protos::gateway::gateway_client::GatewayClient;
use weft_protos::gateway::{PreparedTransaction, ProposedTransaction, SignedCommitStatusRequest};

use crate::connection::{Tls, connect};
use crate::identity::{Identity, Signer};
use crate::{ClientError, Commit, Contract, Proposal, Transaction};

/// How long each gateway call may take before the SDK gives up on it.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// Evaluate (a query on one peer).
    pub evaluate: Duration,
    /// Endorse (simulation on every endorsing peer).
    pub endorse: Duration,
    /// Submit (until the orderer accepted the transaction).
    pub submit: Duration,
    /// Commit status (until the transaction is in a block).
    pub commit_status: Duration,
}

impl Default for Timeouts {
    /// Fabric's SDK defaults: 5 s evaluate, 15 s endorse and submit, 1 min commit status.
    fn default() -> Self {
        Self {
            evaluate: Duration::from_secs(5),
            endorse: Duration::from_secs(15),
            submit: Duration::from_secs(15),
            commit_status: Duration::from_secs(60),
        }
    }
}

pub(crate) struct Inner {
    pub(crate) channel: tonic::transport::Channel,
    pub(crate) identity: Identity,
    pub(crate) signer: Option<Arc<dyn Signer>>,
    pub(crate) timeouts: Timeouts,
    /// SHA-256 of the client TLS certificate, if one is presented: Deliver
    /// requests carry it (Fabric's TLS binding, required under mutual TLS).
    pub(crate) tls_cert_hash: Vec<u8>,
}

/// A client's connection to a peer's Gateway service, acting as one identity.
/// Cheap to clone; clones share the connection.
#[derive(Clone)]
pub struct Gateway {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Gateway({:?})", self.inner.identity)
    }
}

impl Gateway {
    /// Connects to the gateway peer at `endpoint` (`host:port`) as `identity`.
    /// `signer` signs proposals, transactions and status requests; with `None`
    /// the caller signs them ([`Proposal::with_signature`] and friends).
    /// `tls: None` means plaintext.
    pub async fn connect(
        endpoint: &str,
        identity: Identity,
        signer: Option<Arc<dyn Signer>>,
        tls: Option<Tls>,
    ) -> Result<Self, ClientError> {
        let channel = connect(endpoint, tls.as_ref()).await?;
        let mut gateway = Self::from_channel(channel, identity, signer);
        if let Some((cert_pem, _)) = tls.as_ref().and_then(|t| t.client.as_ref()) {
            let der = weft_common::tls::parse_certs(cert_pem)
                .map_err(|e| ClientError::Identity(format!("client TLS certificate: {e}")))?;
            Arc::get_mut(&mut gateway.inner)
                .expect("a new gateway is not shared")
                .tls_cert_hash = weft_common::crypto::sha256(der[0].as_ref()).to_vec();
        }
        Ok(gateway)
    }

    /// A gateway over an already open gRPC channel (to share one connection
    /// between several identities).
    pub fn from_channel(
        channel: tonic::transport::Channel,
        identity: Identity,
        signer: Option<Arc<dyn Signer>>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                channel,
                identity,
                signer,
                timeouts: Timeouts::default(),
                tls_cert_hash: Vec::new(),
            }),
        }
    }

    /// The same connection and identity with other call timeouts.
    pub fn with_timeouts(&self, timeouts: Timeouts) -> Self {
        Self {
            inner: Arc::new(Inner {
                channel: self.inner.channel.clone(),
                identity: self.inner.identity.clone(),
                signer: self.inner.signer.clone(),
                timeouts,
                tls_cert_hash: self.inner.tls_cert_hash.clone(),
            }),
        }
    }

    /// The identity this gateway acts as.
    pub fn identity(&self) -> &Identity {
        &self.inner.identity
    }

    /// The channel `name` as seen through this gateway.
    pub fn network(&self, name: &str) -> Network {
        Network {
            gateway: self.clone(),
            name: name.to_string(),
        }
    }

    /// A proposal serialised by [`Proposal::to_bytes`] (e.g. in another
    /// process), to be signed with [`Proposal::with_signature`] or sent if
    /// already signed.
    pub fn proposal_from_bytes(&self, bytes: &[u8]) -> Result<Proposal, ClientError> {
        let p = ProposedTransaction::decode(bytes)
            .map_err(|e| ClientError::malformed("proposed transaction", e))?;
        Proposal::from_proposed(self.clone(), p)
    }

    /// A transaction serialised by [`Transaction::to_bytes`].
    pub fn transaction_from_bytes(&self, bytes: &[u8]) -> Result<Transaction, ClientError> {
        let p = PreparedTransaction::decode(bytes)
            .map_err(|e| ClientError::malformed("prepared transaction", e))?;
        Transaction::from_prepared(self.clone(), p)
    }

    /// A commit status request serialised by [`Commit::to_bytes`].
    pub fn commit_from_bytes(&self, bytes: &[u8]) -> Result<Commit, ClientError> {
        let s = SignedCommitStatusRequest::decode(bytes)
            .map_err(|e| ClientError::malformed("signed commit status request", e))?;
        Commit::from_signed_request(self.clone(), s)
    }

    pub(crate) fn client(&self) -> GatewayClient<tonic::transport::Channel> {
        GatewayClient::new(self.inner.channel.clone()).max_decoding_message_size(64 * 1024 * 1024)
    }

    pub(crate) fn serialized_identity(&self) -> &[u8] {
        self.inner.identity.serialized()
    }

    /// Signs with the gateway's signer, if it has one.
    pub(crate) fn try_sign(&self, message: &[u8]) -> Result<Option<Vec<u8>>, ClientError> {
        match &self.inner.signer {
            Some(s) => Ok(Some(s.sign(message)?)),
            None => Ok(None),
        }
    }

    pub(crate) fn timeouts(&self) -> Timeouts {
        self.inner.timeouts
    }
}

/// One channel, reached through a gateway: its contracts and its events.
#[derive(Debug, Clone)]
pub struct Network {
    pub(crate) gateway: Gateway,
    pub(crate) name: String,
}

impl Network {
    /// The channel's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The gateway this network is reached through.
    pub fn gateway(&self) -> &Gateway {
        &self.gateway
    }

    /// The chaincode `chaincode` (its default contract).
    pub fn contract(&self, chaincode: &str) -> Contract {
        Contract::new(self.clone(), chaincode, None)
    }

    /// One named contract of a chaincode that holds several: transactions
    /// are called as `contract:function`, as Fabric's contract API does.
    pub fn contract_with_name(&self, chaincode: &str, contract: &str) -> Contract {
        Contract::new(self.clone(), chaincode, Some(contract.to_string()))
    }
}
