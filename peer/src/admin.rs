//! A client for the peer's admin operations (what `weft-peer channel ...`
//! runs): signed proposals to `cscc` and `qscc` over the Endorser service.

use weft_common::node::dial::{DialOptions, DialTls, dial};

use prost::Message;
use weft_common::ids::ChannelId;
use weft_common::msp::SigningIdentity;
use weft_common::tls::TlsIdentity;
use weft_common::tx::ProposalBuilder;
use weft_protos::common::BlockchainInfo;
use weft_protos::protos::endorser_client::EndorserClient;
use weft_protos::protos::{ChannelQueryResponse, ProcessedTransaction};

use crate::PeerError;

/// Which block `channel fetch` gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockSelector {
    /// The newest block.
    Newest,
    /// Block 0.
    Oldest,
    /// The newest config block.
    Config,
    /// A block by number.
    Number(u64),
}

/// A block selector that is none of `newest`, `oldest`, `config` or a number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?}: use newest, oldest, config or a block number")]
pub struct BadBlockSelector(pub String);

impl std::str::FromStr for BlockSelector {
    type Err = BadBlockSelector;
    fn from_str(s: &str) -> Result<Self, BadBlockSelector> {
        match s {
            "newest" => Ok(Self::Newest),
            "oldest" => Ok(Self::Oldest),
            "config" => Ok(Self::Config),
            n => n
                .parse()
                .map(Self::Number)
                .map_err(|_| BadBlockSelector(n.to_string())),
        }
    }
}

/// TLS towards the peer: the CA that signed its certificate and, for mutual
/// TLS, the client's own certificate.
#[derive(Debug, Clone)]
pub struct ClientTls {
    /// Root CA (PEM) of the peer's TLS certificate.
    pub ca_pem: Vec<u8>,
    /// Client certificate and key for mutual TLS.
    pub identity: Option<TlsIdentity>,
    /// Name to check the peer's certificate against (default: the address's host).
    pub server_name: Option<String>,
}

/// A connection to one peer, signing as an admin or client identity.
pub struct AdminClient {
    client: EndorserClient<tonic::transport::Channel>,
    signer: SigningIdentity,
}

fn remote(message: String) -> PeerError {
    PeerError::Remote(message)
}

impl AdminClient {
    /// Connects to the peer at `address` (`host:port`).
    pub async fn connect(
        address: &str,
        tls: Option<ClientTls>,
        signer: SigningIdentity,
    ) -> Result<Self, PeerError> {
        let tls = tls.map(|t| DialTls {
            roots: vec![t.ca_pem],
            identity: t.identity.map(|id| (id.cert_pem, id.key_pem)),
            server_name: t.server_name,
        });
        let channel = dial(address, tls.as_ref(), DialOptions::default())
            .await
            .map_err(|e| remote(format!("peer: {e}")))?;
        Ok(Self {
            client: EndorserClient::new(channel).max_decoding_message_size(256 * 1024 * 1024),
            signer,
        })
    }

    /// Sends an already signed proposal (the same one may go to several peers).
    pub async fn process(
        &mut self,
        proposal: &weft_protos::protos::SignedProposal,
    ) -> Result<weft_protos::protos::ProposalResponse, PeerError> {
        Ok(self
            .client
            .process_proposal(proposal.clone())
            .await
            .map_err(|s| remote(format!("peer refused the proposal: {}", s.message())))?
            .into_inner())
    }

    /// The identity this client signs with.
    pub fn signer(&self) -> &SigningIdentity {
        &self.signer
    }

    async fn invoke(&mut self, chaincode: &str, args: Vec<Vec<u8>>) -> Result<Vec<u8>, PeerError> {
        let bundle = ProposalBuilder::new(ChannelId::new(""), chaincode)
            .args(args)
            .sign(&self.signer)?;
        let response = self
            .client
            .process_proposal(bundle.signed)
            .await
            .map_err(|s| remote(format!("peer refused the proposal: {}", s.message())))?
            .into_inner();
        let r = response.response.unwrap_or_default();
        if r.status != 200 {
            return Err(remote(format!(
                "{chaincode}: status {}: {}",
                r.status, r.message
            )));
        }
        Ok(r.payload)
    }

    /// Joins the peer to the channel of this genesis block (needs a local admin).
    pub async fn join(&mut self, genesis: &[u8]) -> Result<(), PeerError> {
        self.invoke("cscc", vec![b"JoinChain".to_vec(), genesis.to_vec()])
            .await?;
        Ok(())
    }

    /// The channels the peer has joined.
    pub async fn channels(&mut self) -> Result<Vec<String>, PeerError> {
        let bytes = self.invoke("cscc", vec![b"GetChannels".to_vec()]).await?;
        let r = ChannelQueryResponse::decode(bytes.as_slice())
            .map_err(|e| remote(format!("bad GetChannels response: {e}")))?;
        Ok(r.channels.into_iter().map(|c| c.channel_id).collect())
    }

    /// Height and hashes of a channel's chain.
    pub async fn chain_info(&mut self, channel: &str) -> Result<BlockchainInfo, PeerError> {
        let bytes = self
            .invoke(
                "qscc",
                vec![b"GetChainInfo".to_vec(), channel.as_bytes().to_vec()],
            )
            .await?;
        BlockchainInfo::decode(bytes.as_slice()).map_err(|e| remote(format!("bad chain info: {e}")))
    }

    /// A block of a channel, as bytes.
    pub async fn block(
        &mut self,
        channel: &str,
        which: BlockSelector,
    ) -> Result<Vec<u8>, PeerError> {
        let number = match which {
            BlockSelector::Number(n) => n,
            BlockSelector::Oldest => 0,
            BlockSelector::Newest => self.chain_info(channel).await?.height.saturating_sub(1),
            BlockSelector::Config => {
                return self
                    .invoke(
                        "cscc",
                        vec![b"GetConfigBlock".to_vec(), channel.as_bytes().to_vec()],
                    )
                    .await;
            }
        };
        self.invoke(
            "qscc",
            vec![
                b"GetBlockByNumber".to_vec(),
                channel.as_bytes().to_vec(),
                number.to_string().into_bytes(),
            ],
        )
        .await
    }

    /// A committed transaction with its validation code.
    pub async fn transaction(
        &mut self,
        channel: &str,
        tx_id: &str,
    ) -> Result<ProcessedTransaction, PeerError> {
        let bytes = self
            .invoke(
                "qscc",
                vec![
                    b"GetTransactionByID".to_vec(),
                    channel.as_bytes().to_vec(),
                    tx_id.as_bytes().to_vec(),
                ],
            )
            .await?;
        ProcessedTransaction::decode(bytes.as_slice())
            .map_err(|e| remote(format!("bad transaction: {e}")))
    }
}
