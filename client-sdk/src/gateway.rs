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

/// One gateway peer a client may use.
pub(crate) struct Endpoint {
    pub(crate) address: String,
    pub(crate) channel: tonic::transport::Channel,
}

/// Why a gateway call failed on the last gateway tried.
pub(crate) enum CallFailure {
    /// No answer within the call's timeout.
    Timeout,
    /// The gateway's error.
    Status(tonic::Status),
}

pub(crate) struct Inner {
    /// The gateway peers, in order of preference; calls go to `current`.
    pub(crate) endpoints: Vec<Endpoint>,
    pub(crate) current: std::sync::atomic::AtomicUsize,
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
        Arc::get_mut(&mut gateway.inner)
            .expect("a new gateway is not shared")
            .endpoints[0]
            .address = endpoint.to_string();
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
                endpoints: vec![Endpoint {
                    address: String::new(),
                    channel,
                }],
                current: Default::default(),
                identity,
                signer,
                timeouts: Timeouts::default(),
                tls_cert_hash: Vec::new(),
            }),
        }
    }

    /// A gateway that fails over: calls go to the first of `endpoints`
    /// (`host:port` and its TLS; list the client's own org's peers first,
    /// then other peers it trusts) until it cannot be reached or does not
    /// answer in time, then to the next, and so on round the list. Every
    /// call the SDK retries this way is safe to repeat: an evaluation or
    /// endorsement only simulates, a resubmitted transaction is the same
    /// signed envelope (the ledger commits a txid at most once), and a
    /// status request is answered by any peer of the channel — so the
    /// status of a transaction in flight when its gateway went away is
    /// resolved on the next one. Connections are opened on first use: a
    /// peer down now is not an error now.
    pub fn connect_with_failover(
        endpoints: &[(&str, Option<Tls>)],
        identity: Identity,
        signer: Option<Arc<dyn Signer>>,
    ) -> Result<Self, ClientError> {
        if endpoints.is_empty() {
            return Err(ClientError::malformed("gateway endpoints", "none given"));
        }
        let mut list = Vec::new();
        let mut tls_cert_hash = Vec::new();
        for (address, tls) in endpoints {
            let channel = crate::connection::connect_lazy(address, tls.as_ref())?;
            if let Some((cert_pem, _)) = tls.as_ref().and_then(|t| t.client.as_ref())
                && tls_cert_hash.is_empty()
            {
                let der = weft_common::tls::parse_certs(cert_pem)
                    .map_err(|e| ClientError::Identity(format!("client TLS certificate: {e}")))?;
                tls_cert_hash = weft_common::crypto::sha256(der[0].as_ref()).to_vec();
            }
            list.push(Endpoint {
                address: address.to_string(),
                channel,
            });
        }
        Ok(Self {
            inner: Arc::new(Inner {
                endpoints: list,
                current: Default::default(),
                identity,
                signer,
                timeouts: Timeouts::default(),
                tls_cert_hash,
            }),
        })
    }

    /// The gateway peer calls go to now (`host:port`; empty for a gateway
    /// made with [`Gateway::from_channel`]).
    pub fn endpoint(&self) -> &str {
        &self.inner.endpoints[self.current()].address
    }

    fn current(&self) -> usize {
        self.inner
            .current
            .load(std::sync::atomic::Ordering::Relaxed)
            % self.inner.endpoints.len()
    }

    /// Runs one gateway call with `timeout`; with several endpoints, a call
    /// that times out or finds its gateway unavailable moves the gateway to
    /// the next endpoint and runs there, each endpoint tried at most once.
    pub(crate) async fn call<T, F, Fut>(
        &self,
        timeout: Duration,
        mut call: F,
    ) -> Result<T, CallFailure>
    where
        F: FnMut(GatewayClient<tonic::transport::Channel>) -> Fut,
        Fut: std::future::Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    {
        let n = self.inner.endpoints.len();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let at = self.current();
            let why = match tokio::time::timeout(timeout, call(self.client_at(at))).await {
                Ok(Ok(r)) => return Ok(r.into_inner()),
                Ok(Err(s)) if s.code() == tonic::Code::Unavailable && attempt < n => {
                    format!("unavailable: {}", s.message())
                }
                Ok(Err(s)) => return Err(CallFailure::Status(s)),
                Err(_) if attempt < n => format!("no answer in {timeout:?}"),
                Err(_) => return Err(CallFailure::Timeout),
            };
            let next = (at + 1) % n;
            // Another call may have moved on already: move only from `at`.
            let _ = self.inner.current.compare_exchange(
                at,
                next,
                std::sync::atomic::Ordering::Relaxed,
                std::sync::atomic::Ordering::Relaxed,
            );
            tracing::warn!(
                from = %self.inner.endpoints[at].address,
                to = %self.inner.endpoints[next].address,
                "gateway failover: {why}"
            );
        }
    }

    /// The same connection and identity with other call timeouts.
    pub fn with_timeouts(&self, timeouts: Timeouts) -> Self {
        Self {
            inner: Arc::new(Inner {
                endpoints: self
                    .inner
                    .endpoints
                    .iter()
                    .map(|e| Endpoint {
                        address: e.address.clone(),
                        channel: e.channel.clone(),
                    })
                    .collect(),
                current: self.current().into(),
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
        self.client_at(self.current())
    }

    fn client_at(&self, i: usize) -> GatewayClient<tonic::transport::Channel> {
        GatewayClient::new(self.channel_at(i)).max_decoding_message_size(64 * 1024 * 1024)
    }

    fn channel_at(&self, i: usize) -> tonic::transport::Channel {
        self.inner.endpoints[i].channel.clone()
    }

    /// The gRPC channel to the current gateway peer.
    pub(crate) fn channel(&self) -> tonic::transport::Channel {
        self.channel_at(self.current())
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
