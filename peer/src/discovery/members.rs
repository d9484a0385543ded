//! Who the peers of a channel are, for service discovery: this peer's own
//! signed membership and state (as Fabric's gossip messages), and the other
//! peers', asked over weft's `Membership` service.
//!
//! A peer knows the other peers of a channel from the anchor peers in its
//! config and from `peer.gateway.peers` in its own config; it asks each for
//! its alive message and state on the channel (endpoint, identity, ledger
//! height, chaincodes it can run), signed by that peer, and keeps the answers
//! for a few seconds. A peer that does not answer is left out.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use prost::Message;
use tonic::{Request, Response, Status};
use weft_common::config::ChannelConfig;
use weft_common::msp::{Identity, SigningIdentity};
use weft_common::policy::{SignedData, verify_signers};
use weft_protos::gossip::{
    AliveMessage, Chaincode, Envelope, GossipMessage, Member as GossipMember, PeerTime, Properties,
    StateInfo, gossip_message,
};
use weft_protos::msp::SerializedIdentity;
use weft_protos::weft::membership::membership_client::MembershipClient;
use weft_protos::weft::membership::membership_server::Membership;
use weft_protos::weft::membership::{AliveQuery, AliveRequest, AliveResponse};

use super::Support;
use crate::channel::Committer;
use crate::lifecycle::NAMESPACE;
use crate::lifecycle::layout::{self, NAMESPACES};

/// How long a channel's view of its peers is reused.
const VIEW_TTL: Duration = Duration::from_secs(5);
/// How long a peer may take to answer.
const ASK_TIMEOUT: Duration = Duration::from_secs(3);

/// A peer of a channel as discovery reports it.
#[derive(Debug, Clone)]
pub struct Member {
    /// Its org.
    pub msp_id: String,
    /// Its serialized identity.
    pub identity: Vec<u8>,
    /// Where clients reach it.
    pub endpoint: String,
    /// Its signed alive message.
    pub alive: Envelope,
    /// Its signed state on the channel.
    pub state: Envelope,
    /// Chaincodes it can run (name, version).
    pub chaincodes: Vec<(String, String)>,
}

impl Member {
    /// Whether it can endorse for `chaincode`.
    pub fn runs(&self, chaincode: &str) -> bool {
        self.chaincodes.iter().any(|(n, _)| n == chaincode)
    }
}

/// Fabric's PKI id of an identity: SHA-256 of MSP id ‖ certificate.
fn pki_id(identity: &[u8]) -> Vec<u8> {
    let id = SerializedIdentity::decode(identity).unwrap_or_default();
    weft_common::crypto::sha256_concat(&[id.mspid.as_bytes(), &id.id_bytes]).to_vec()
}

/// This peer, as it presents itself to discovery.
#[derive(Debug)]
pub struct LocalMember {
    endpoint: String,
    started: u64,
    counter: std::sync::atomic::AtomicU64,
}

impl LocalMember {
    /// This peer, reached at `endpoint`.
    pub fn new(endpoint: String) -> Self {
        Self {
            endpoint,
            started: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64),
            counter: Default::default(),
        }
    }

    /// Where clients reach this peer.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    fn time(&self) -> PeerTime {
        PeerTime {
            inc_num: self.started,
            seq_num: self
                .counter
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        }
    }

    fn signed(signer: &SigningIdentity, msg: GossipMessage) -> Result<Envelope, Status> {
        let payload = msg.encode_to_vec();
        let signature = signer
            .sign(&payload)
            .map_err(|e| Status::internal(format!("signing a membership message: {e}")))?;
        Ok(Envelope {
            payload,
            signature,
            secret_envelope: None,
        })
    }

    /// This peer's membership and state on `committer`'s channel.
    pub fn describe(&self, core: &dyn Support, committer: &Committer) -> Result<Member, Status> {
        let signer = core.signer();
        let identity = signer.serialized().to_vec();
        let pki = pki_id(&identity);
        let alive = Self::signed(
            signer,
            GossipMessage {
                tag: gossip_message::Tag::Empty as i32,
                content: Some(gossip_message::Content::AliveMsg(AliveMessage {
                    membership: Some(GossipMember {
                        endpoint: self.endpoint.clone(),
                        metadata: Vec::new(),
                        pki_id: pki.clone(),
                    }),
                    timestamp: Some(self.time()),
                    identity: identity.clone(),
                })),
                ..Default::default()
            },
        )?;
        let channel = committer.config().channel_id.to_string();
        let chaincodes = runnable_chaincodes(core, committer);
        let state = Self::signed(
            signer,
            GossipMessage {
                tag: gossip_message::Tag::ChanOrOrg as i32,
                content: Some(gossip_message::Content::StateInfo(StateInfo {
                    timestamp: Some(self.time()),
                    channel_mac: weft_common::crypto::sha256_concat(&[&pki, channel.as_bytes()])
                        .to_vec(),
                    pki_id: pki,
                    properties: Some(Properties {
                        ledger_height: committer.ledger().height(),
                        left_channel: false,
                        chaincodes: chaincodes
                            .iter()
                            .map(|(name, version)| Chaincode {
                                name: name.clone(),
                                version: version.clone(),
                                metadata: Vec::new(),
                            })
                            .collect(),
                    }),
                })),
                ..Default::default()
            },
        )?;
        Ok(Member {
            msp_id: signer.identity.msp_id().to_string(),
            identity,
            endpoint: self.endpoint.clone(),
            alive,
            state,
            chaincodes,
        })
    }
}

/// Chaincodes defined on the channel whose package this peer's org chose and
/// this peer has installed: (name, version of the definition).
fn runnable_chaincodes(core: &dyn Support, committer: &Committer) -> Vec<(String, String)> {
    let ledger = committer.ledger();
    let prefix = format!("{NAMESPACES}/metadata/");
    let Ok(entries) = ledger.range(NAMESPACE, &prefix, &format!("{NAMESPACES}/metadata0")) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (key, _, _) in entries {
        let name = &key[prefix.len()..];
        let field = |f: &str| {
            ledger
                .get_state(NAMESPACE, &layout::field_key(NAMESPACES, name, f))
                .ok()
                .flatten()
                .map(|(_, v)| v)
        };
        let Some(sequence) = field("Sequence").and_then(|v| layout::data_int(&v)) else {
            continue;
        };
        let version = field("EndorsementInfo")
            .and_then(|v| layout::endorsement_info(&v))
            .map(|i| i.version)
            .unwrap_or_default();
        if crate::endorser::installed_for(core, ledger, name, sequence).is_ok() {
            out.push((name.to_string(), version));
        }
    }
    out
}

/// The endpoints of the other peers this peer knows on a channel: its
/// config's gateway peers and the channel's anchor peers.
fn known_endpoints(core: &dyn Support, cfg: &ChannelConfig, own: &str) -> Vec<String> {
    let mut out: Vec<String> = core
        .known_peers()
        .iter()
        .map(|p| p.address.clone())
        .collect();
    if let Some(app) = &cfg.application {
        for org in app.orgs.values() {
            out.extend(org.anchor_peers.iter().map(|(h, p)| format!("{h}:{p}")));
        }
    }
    out.sort();
    out.dedup();
    out.retain(|e| e != own);
    out
}

/// Why a peer is left out of this peer's view of a channel.
#[derive(Debug, thiserror::Error)]
pub enum LeftOut {
    /// This peer could not sign its query.
    #[error("cannot sign the query: {0}")]
    Sign(weft_common::CommonError),
    /// The peer could not be reached.
    #[error(transparent)]
    Connect(weft_common::CommonError),
    /// The peer refused the query.
    #[error("{endpoint}: {}", .status.message())]
    Refused {
        /// The peer asked.
        endpoint: String,
        /// Its answer.
        status: Status,
    },
    /// The peer did not answer in time.
    #[error("{endpoint}: no answer in {timeout:?}")]
    Timeout {
        /// The peer asked.
        endpoint: String,
        /// How long it had.
        timeout: Duration,
    },
    /// The peer's answer cannot be trusted or read.
    #[error("{endpoint}: {source}")]
    Answer {
        /// The peer asked.
        endpoint: String,
        /// What is wrong with it.
        source: BadAnswer,
    },
}

/// What is wrong with a peer's membership answer.
#[derive(Debug, thiserror::Error)]
pub enum BadAnswer {
    /// Its identity or signatures are not valid on the channel.
    #[error("its identity or signatures are not valid on the channel: {}", .0.join("; "))]
    Unverified(Vec<String>),
    /// It lacks the membership or the state message.
    #[error("incomplete answer")]
    Incomplete,
    /// A message does not decode.
    #[error(transparent)]
    Decode(#[from] prost::DecodeError),
    /// The membership message is not an alive message.
    #[error("not an alive message")]
    NotAlive,
    /// The state message is not a state info message.
    #[error("not a state info message")]
    NotStateInfo,
    /// Its identity does not decode.
    #[error(transparent)]
    Identity(weft_common::CommonError),
}

/// Channel views of their peers, kept for a few seconds.
#[derive(Debug, Default)]
pub struct Views {
    cached: Mutex<HashMap<String, (Instant, Vec<Member>)>>,
    connections: crate::remote::Connections,
}

impl Views {
    /// The peers of `committer`'s channel: this peer and every known peer
    /// that answers, with a valid identity in the channel.
    pub async fn members(
        &self,
        core: &dyn Support,
        local: &LocalMember,
        committer: &Committer,
    ) -> Result<Vec<Member>, Status> {
        let cfg = committer.config();
        let channel = cfg.channel_id.to_string();
        if let Some((at, members)) = self.cached.lock().expect("views lock").get(&channel)
            && at.elapsed() < VIEW_TTL
        {
            return Ok(members.clone());
        }
        let me = local.describe(core, committer)?;
        let endpoints = known_endpoints(core, &cfg, local.endpoint());
        let asks = endpoints.iter().map(|e| self.ask(core, &cfg, e));
        let mut members = vec![me.clone()];
        for answer in futures::future::join_all(asks).await {
            match answer {
                Ok(m)
                    if m.identity != me.identity
                        && !members.iter().any(|o| o.identity == m.identity) =>
                {
                    members.push(m)
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::debug!(channel = %channel, "a peer is left out of discovery: {e}")
                }
            }
        }
        self.cached
            .lock()
            .expect("views lock")
            .insert(channel, (Instant::now(), members.clone()));
        Ok(members)
    }

    /// A connection to the peer at `endpoint` (mutual TLS with this peer's
    /// TLS identity, trusting the channel's TLS CAs), reused across calls.
    pub async fn connect(
        &self,
        core: &dyn Support,
        cfg: &ChannelConfig,
        endpoint: &str,
    ) -> Result<tonic::transport::Channel, weft_common::CommonError> {
        let tls = core.tls().map(|t| (t, cfg.tls_roots()));
        self.connections.get(endpoint, tls).await
    }

    /// Drops the connection to `endpoint` after a failure.
    pub fn forget(&self, endpoint: &str) {
        self.connections.drop_endpoint(endpoint);
    }

    /// Asks the peer at `endpoint` for its membership and state.
    async fn ask(
        &self,
        core: &dyn Support,
        cfg: &ChannelConfig,
        endpoint: &str,
    ) -> Result<Member, LeftOut> {
        let query = AliveQuery {
            channel: cfg.channel_id.to_string(),
            identity: core.signer().serialized().to_vec(),
            timestamp: Some(prost_types::Timestamp::from(std::time::SystemTime::now())),
        }
        .encode_to_vec();
        let signature = core.signer().sign(&query).map_err(LeftOut::Sign)?;
        let tls = core.tls().map(|t| (t, cfg.tls_roots()));
        let channel = self
            .connections
            .get(endpoint, tls)
            .await
            .map_err(LeftOut::Connect)?;
        let mut client = MembershipClient::new(channel);
        let call = client.alive(AliveRequest {
            payload: query,
            signature,
        });
        let answer = match tokio::time::timeout(ASK_TIMEOUT, call).await {
            Ok(Ok(r)) => r.into_inner(),
            Ok(Err(s)) => {
                self.connections.drop_endpoint(endpoint);
                return Err(LeftOut::Refused {
                    endpoint: endpoint.to_string(),
                    status: s,
                });
            }
            Err(_) => {
                self.connections.drop_endpoint(endpoint);
                return Err(LeftOut::Timeout {
                    endpoint: endpoint.to_string(),
                    timeout: ASK_TIMEOUT,
                });
            }
        };
        member_from_answer(cfg, answer).map_err(|source| LeftOut::Answer {
            endpoint: endpoint.to_string(),
            source,
        })
    }
}

/// Checks a peer's answer: its identity is valid on the channel and signed
/// both messages; returns what they say.
fn member_from_answer(cfg: &ChannelConfig, a: AliveResponse) -> Result<Member, BadAnswer> {
    let signers = verify_signers(
        &[a.membership_info.as_ref(), a.state_info.as_ref()]
            .into_iter()
            .flatten()
            .map(|e| SignedData {
                identity: a.identity.clone(),
                data: e.payload.clone(),
                signature: e.signature.clone(),
            })
            .collect::<Vec<_>>(),
        &cfg.msps,
        weft_common::clock::unix_now(),
    );
    if signers.valid.is_empty() || !signers.refused.is_empty() {
        return Err(BadAnswer::Unverified(signers.refused));
    }
    let (Some(alive), Some(state)) = (a.membership_info, a.state_info) else {
        return Err(BadAnswer::Incomplete);
    };
    let decode = |e: &Envelope| GossipMessage::decode(e.payload.as_slice());
    let endpoint = match decode(&alive)?.content {
        Some(gossip_message::Content::AliveMsg(m)) => {
            m.membership.map(|m| m.endpoint).unwrap_or_default()
        }
        _ => return Err(BadAnswer::NotAlive),
    };
    let chaincodes = match decode(&state)?.content {
        Some(gossip_message::Content::StateInfo(s)) => s
            .properties
            .map(|p| {
                p.chaincodes
                    .into_iter()
                    .map(|c| (c.name, c.version))
                    .collect()
            })
            .unwrap_or_default(),
        _ => return Err(BadAnswer::NotStateInfo),
    };
    let msp_id = Identity::from_serialized(&a.identity)
        .map(|i| i.msp_id().to_string())
        .map_err(BadAnswer::Identity)?;
    Ok(Member {
        msp_id,
        identity: a.identity,
        endpoint,
        alive,
        state,
        chaincodes,
    })
}

/// weft's `Membership` service: another peer of a channel asks for this
/// peer's membership and state on it. The query must be signed by a member
/// of one of the channel's orgs (its Readers), within the time window.
#[derive(Debug, Clone)]
pub struct MembershipService {
    core: std::sync::Arc<dyn Support>,
}

impl MembershipService {
    /// The service over the peer's state.
    pub fn new(core: std::sync::Arc<dyn Support>) -> Self {
        Self { core }
    }
}

#[tonic::async_trait]
impl Membership for MembershipService {
    async fn alive(
        &self,
        request: Request<AliveRequest>,
    ) -> Result<Response<AliveResponse>, Status> {
        let r = request.into_inner();
        let q = AliveQuery::decode(r.payload.as_slice())
            .map_err(|e| Status::invalid_argument(format!("malformed query: {e}")))?;
        let committer = self.core.channel(&q.channel).ok_or_else(|| {
            Status::not_found(format!("channel {:?} is not joined here", q.channel))
        })?;
        let sent = q.timestamp.map_or(0, |t| t.seconds);
        let skew = (weft_common::clock::unix_now() - sent).unsigned_abs();
        if skew > self.core.proposal_time_window().as_secs() {
            return Err(Status::invalid_argument(format!(
                "the query's timestamp is {skew} s away from this peer's clock"
            )));
        }
        let cfg = committer.config();
        let signers = verify_signers(
            &[SignedData {
                identity: q.identity,
                data: r.payload,
                signature: r.signature,
            }],
            &cfg.msps,
            weft_common::clock::unix_now(),
        );
        cfg.policies
            .evaluate("/Channel/Application/Readers", &signers, &cfg.msps)
            .map_err(|e| {
                Status::permission_denied(format!("membership of {}: {e}", cfg.channel_id))
            })?;
        let me = self
            .core
            .local_member()
            .describe(self.core.as_ref(), &committer)?;
        Ok(Response::new(AliveResponse {
            membership_info: Some(me.alive),
            state_info: Some(me.state),
            identity: me.identity,
        }))
    }
}
