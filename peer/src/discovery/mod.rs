//! Fabric's service discovery (`discovery.Discovery/Discover`): a channel's
//! config (MSPs, orderers), its peers, and who can endorse for a chaincode —
//! what Fabric's legacy Node SDK (`fabric-network` 2.2) and the `discover`
//! CLI ask before they send proposals.
//!
//! Requests are checked as Fabric checks them: a signed request naming its
//! client identity, and — when the peer uses TLS — the SHA-256 of the TLS
//! certificate the client presented on this connection (any certificate:
//! Fabric's default TLS does not verify it; its key is proven by the
//! handshake). Channel queries need the channel's `/Channel/Application/Writers`;
//! the local peers query needs an admin of this peer's org
//! (`peer.discovery.orgMembersAllowedAccess`: any member). A refused query
//! is answered "access denied", like Fabric, and the others still are.

pub mod members;
pub mod plan;

use std::collections::BTreeMap;
use std::sync::Arc;

use prost::Message;
use tonic::{Request, Response, Status};
use weft_common::config::ChannelConfig;
use weft_common::policy::{SignedData, inquire, verify_signers};
use weft_common::tls::TlsIdentity;
use weft_protos::common::{ConfigGroup, OrdererAddresses};
use weft_protos::discovery::discovery_server::Discovery;
use weft_protos::discovery::{
    ChaincodeQueryResult, ConfigResult, EndorsementDescriptor, Endpoint, Endpoints, Error, Layout,
    Peer, PeerMembershipResult, Peers, QueryResult, Request as DiscoveryRequest,
    Response as DiscoveryResponse, SignedRequest, query, query_result,
};
use weft_protos::msp::{FabricMspConfig, MspConfig};
use weft_protos::protos::ChaincodeInterest;

use crate::channel::Committer;
use crate::config::GatewayPeer;
use crate::lifecycle::EndorsementPolicy;
use members::Member;

/// What discovery needs of the peer besides what the endorser needs (it asks
/// which chaincodes this peer can run as the endorser would resolve them).
pub trait Support: crate::endorser::Support {
    /// The peer's TLS identity (its client certificate towards other peers).
    fn tls(&self) -> Option<&TlsIdentity>;
    /// This peer as discovery presents it.
    fn local_member(&self) -> &members::LocalMember;
    /// Other orgs' peers this peer's config names (`peer.gateway.peers`).
    fn known_peers(&self) -> &[GatewayPeer];
    /// Whether any member of this org may ask for the local peers
    /// (`peer.discovery.orgMembersAllowedAccess`), not only its admins.
    fn org_members_allowed(&self) -> bool;
    /// The other peers of each channel, as private data exchange last asked
    /// (discovery keeps its own, so that its answers are never older than
    /// its own query).
    fn views(&self) -> &members::Views;
}

/// The Discovery service.
#[derive(Debug, Clone)]
pub struct DiscoveryService {
    core: Arc<dyn Support>,
    views: Arc<members::Views>,
}

impl DiscoveryService {
    /// The service over the peer's state.
    pub fn new(core: Arc<dyn Support>) -> Self {
        Self {
            core,
            views: Default::default(),
        }
    }
}

fn error(text: impl Into<String>) -> QueryResult {
    QueryResult {
        result: Some(query_result::Result::Error(Error {
            content: text.into(),
        })),
    }
}

fn access_denied() -> QueryResult {
    error("access denied")
}

/// The hashes a client may claim for the certificate it presented: SHA-256
/// of its DER (what Fabric's SDKs compute), or of its PEM as Go writes it
/// (what Fabric's `discover` CLI computes).
fn certificate_hashes(der: &[u8]) -> [Vec<u8>; 2] {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    [
        weft_common::crypto::sha256(der).to_vec(),
        weft_common::crypto::sha256(pem.as_bytes()).to_vec(),
    ]
}

/// Fabric's `validateStructure`: a decodable request with a client identity
/// and, under TLS, the hash of the certificate this connection presented.
/// (Fabric 3.0's service means to check that hash but never receives its
/// TLS setting, so it accepts any; weft checks it, accepting both forms
/// Fabric's clients compute.)
fn check_request(
    signed: &SignedRequest,
    tls: bool,
    presented: Option<Vec<u8>>,
) -> Result<DiscoveryRequest, Status> {
    let req = DiscoveryRequest::decode(signed.payload.as_slice())
        .map_err(|e| Status::invalid_argument(format!("failed parsing request: {e}")))?;
    let auth = req.authentication.as_ref().ok_or_else(|| {
        Status::permission_denied("access denied, no authentication info in request")
    })?;
    if auth.client_identity.is_empty() {
        return Err(Status::permission_denied(
            "access denied, client identity wasn't supplied",
        ));
    }
    if !tls {
        return Ok(req);
    }
    let der = presented
        .ok_or_else(|| Status::permission_denied("client didn't send a TLS certificate"))?;
    if !certificate_hashes(&der).contains(&auth.client_tls_cert_hash) {
        return Err(Status::permission_denied(
            "client claimed TLS hash doesn't match computed TLS hash from gRPC stream",
        ));
    }
    Ok(req)
}

#[tonic::async_trait]
impl Discovery for DiscoveryService {
    async fn discover(
        &self,
        request: Request<SignedRequest>,
    ) -> Result<Response<DiscoveryResponse>, Status> {
        let presented = request
            .peer_certs()
            .and_then(|certs| certs.first().map(|c| c.as_ref().to_vec()));
        let signed = request.into_inner();
        let req = check_request(&signed, self.core.tls().is_some(), presented)?;
        let identity = req
            .authentication
            .map(|a| a.client_identity)
            .unwrap_or_default();
        let signed_data = SignedData {
            identity,
            data: signed.payload,
            signature: signed.signature,
        };
        let mut results = Vec::with_capacity(req.queries.len());
        for q in &req.queries {
            results.push(self.answer(q, &signed_data).await);
        }
        Ok(Response::new(DiscoveryResponse { results }))
    }
}

impl DiscoveryService {
    async fn answer(&self, q: &weft_protos::discovery::Query, who: &SignedData) -> QueryResult {
        if q.channel.is_empty() {
            if !self.local_access(who) {
                return access_denied();
            }
            return match &q.query {
                Some(query::Query::LocalPeers(_)) => self.local_peers().await,
                _ => error("unknown or missing request type"),
            };
        }
        let Some(committer) = self.core.channel(&q.channel) else {
            tracing::info!(channel = %q.channel, "discovery query for a channel this peer has not joined");
            return access_denied();
        };
        let cfg = committer.config();
        let signers = verify_signers(
            std::slice::from_ref(who),
            &cfg.msps,
            weft_common::clock::unix_now(),
        );
        if let Err(e) = cfg
            .policies
            .evaluate("/Channel/Application/Writers", &signers, &cfg.msps)
        {
            tracing::info!(channel = %q.channel, "discovery query refused: {e}");
            return access_denied();
        }
        match &q.query {
            Some(query::Query::ConfigQuery(_)) => match config_result(&cfg) {
                Ok(c) => QueryResult {
                    result: Some(query_result::Result::ConfigResult(c)),
                },
                Err(e) => {
                    tracing::warn!(channel = %q.channel, "discovery config: {e}");
                    error(format!("failed fetching config for channel {}", q.channel))
                }
            },
            Some(query::Query::PeerQuery(p)) => {
                let members = match self.members(&committer).await {
                    Ok(m) => m,
                    Err(e) => return error(e.message()),
                };
                let filter: Vec<&str> = p
                    .filter
                    .iter()
                    .flat_map(|i| &i.chaincodes)
                    .map(|c| c.name.as_str())
                    .collect();
                let mut by_org: BTreeMap<String, Peers> = BTreeMap::new();
                for m in members
                    .iter()
                    .filter(|m| filter.iter().all(|cc| m.runs(cc)))
                {
                    by_org
                        .entry(m.msp_id.clone())
                        .or_default()
                        .peers
                        .push(discovery_peer(m, true));
                }
                QueryResult {
                    result: Some(query_result::Result::Members(PeerMembershipResult {
                        peers_by_org: by_org,
                    })),
                }
            }
            Some(query::Query::CcQuery(cc)) => {
                self.chaincode_query(&committer, &cc.interests).await
            }
            _ => error("unknown or missing request type"),
        }
    }

    /// Admins of this peer's org (or any member, when configured).
    fn local_access(&self, who: &SignedData) -> bool {
        let now = weft_common::clock::unix_now();
        let signers = verify_signers(std::slice::from_ref(who), self.core.local_msp(), now);
        signers.valid.iter().any(|id| {
            id.identity.msp_id() == self.core.signer().identity.msp_id()
                && (id.is_admin || self.core.org_members_allowed())
        })
    }

    async fn members(&self, committer: &Committer) -> Result<Vec<Member>, Status> {
        self.views
            .members(self.core.as_ref(), self.core.local_member(), committer)
            .await
    }

    /// Every peer this peer knows on any of its channels, without state.
    async fn local_peers(&self) -> QueryResult {
        let mut seen = std::collections::HashSet::new();
        let mut by_org: BTreeMap<String, Peers> = BTreeMap::new();
        for id in self.core.channel_ids() {
            let Some(committer) = self.core.channel(id.as_str()) else {
                continue;
            };
            let Ok(members) = self.members(&committer).await else {
                continue;
            };
            for m in members {
                if seen.insert(m.identity.clone()) {
                    by_org
                        .entry(m.msp_id.clone())
                        .or_default()
                        .peers
                        .push(discovery_peer(&m, false));
                }
            }
        }
        QueryResult {
            result: Some(query_result::Result::Members(PeerMembershipResult {
                peers_by_org: by_org,
            })),
        }
    }

    async fn chaincode_query(
        &self,
        committer: &Committer,
        interests: &[ChaincodeInterest],
    ) -> QueryResult {
        if interests.is_empty() {
            return error("chaincode query must have at least one chaincode interest");
        }
        for i in interests {
            if i.chaincodes.is_empty() {
                return error("chaincode interest must contain at least one chaincode");
            }
            if i.chaincodes.iter().any(|c| c.name.is_empty()) {
                return error("chaincode name in interest cannot be empty");
            }
        }
        let members = match self.members(committer).await {
            Ok(m) => m,
            Err(e) => return error(e.message()),
        };
        let mut content = Vec::new();
        for interest in interests {
            match descriptor(committer, &members, interest) {
                Ok(d) => content.push(d),
                Err(why) => {
                    let names: Vec<&str> = interest
                        .chaincodes
                        .iter()
                        .map(|c| c.name.as_str())
                        .collect();
                    tracing::info!(chaincodes = ?names, "no endorsement descriptor: {why}");
                    return error(format!(
                        "failed constructing descriptor for chaincodes {}: {why}",
                        names.join(", ")
                    ));
                }
            }
        }
        QueryResult {
            result: Some(query_result::Result::CcQueryRes(ChaincodeQueryResult {
                content,
            })),
        }
    }
}

fn discovery_peer(m: &Member, with_state: bool) -> Peer {
    Peer {
        state_info: with_state.then(|| m.state.clone()),
        membership_info: Some(m.alive.clone()),
        identity: m.identity.clone(),
    }
}

/// Why no endorsement descriptor can be given for an interest.
#[derive(Debug, thiserror::Error)]
enum NoDescriptor {
    /// The ledger failed.
    #[error(transparent)]
    Ledger(#[from] crate::PeerError),
    /// A chaincode has no usable committed definition.
    #[error("{}", .0.reason)]
    Definition(weft_common::tx::Invalid),
    /// A policy cannot be turned into principal combinations.
    #[error(transparent)]
    Policy(#[from] weft_common::CommonError),
    /// The members cannot satisfy it.
    #[error("{}", .0.as_str())]
    Plan(plan::NoPlan),
}

/// Why a channel's config cannot be given to a discovery client.
#[derive(Debug, thiserror::Error)]
pub enum ConfigUnreadable {
    /// The config has no channel group.
    #[error("the config has no channel group")]
    NoChannelGroup,
    /// A value in it does not decode.
    #[error(transparent)]
    Decode(#[from] prost::DecodeError),
}

/// The endorsement descriptor of one interest: the principal combinations of
/// every chaincode's committed policy, merged, planned over the members.
fn descriptor(
    committer: &Committer,
    members: &[Member],
    interest: &ChaincodeInterest,
) -> Result<EndorsementDescriptor, NoDescriptor> {
    let cfg = committer.config();
    let mut per_chaincode = Vec::new();
    for call in &interest.chaincodes {
        let policy = crate::lifecycle::committed_policy(committer.ledger(), &call.name)?
            .map_err(NoDescriptor::Definition)?;
        let signature = match policy {
            EndorsementPolicy::Signature(p) => p,
            EndorsementPolicy::ChannelPolicy(path) => cfg.policies.to_signature_policy(&path)?,
        };
        per_chaincode.push(signature.satisfied_by()?);
    }
    let sets = inquire::merge(&per_chaincode);
    let now = weft_common::clock::unix_now();
    let identities: Vec<_> = members
        .iter()
        .map(|m| cfg.msps.validate(&m.identity, now).ok())
        .collect();
    let plan = plan::plan(
        &sets,
        members.len(),
        |i, principal| {
            identities[i]
                .as_ref()
                .is_some_and(|id| cfg.msps.satisfies(id, principal))
        },
        |i| interest.chaincodes.iter().all(|c| members[i].runs(&c.name)),
    )
    .map_err(NoDescriptor::Plan)?;
    Ok(EndorsementDescriptor {
        chaincode: interest.chaincodes[0].name.clone(),
        endorsers_by_groups: plan
            .groups
            .into_iter()
            .map(|(g, peers)| {
                let peers = peers
                    .into_iter()
                    .map(|i| discovery_peer(&members[i], true))
                    .collect();
                (g, Peers { peers })
            })
            .collect(),
        layouts: plan
            .layouts
            .into_iter()
            .map(|quantities_by_group| Layout {
                quantities_by_group: quantities_by_group.into_iter().collect(),
            })
            .collect(),
    })
}

/// The channel's MSPs (orderer and application orgs) and orderers by org:
/// each orderer org's endpoints, else the channel-level orderer addresses.
pub fn config_result(cfg: &ChannelConfig) -> Result<ConfigResult, ConfigUnreadable> {
    let root = cfg
        .config
        .channel_group
        .as_ref()
        .ok_or(ConfigUnreadable::NoChannelGroup)?;
    let orgs = |name: &str| -> Vec<&ConfigGroup> {
        root.groups
            .get(name)
            .map(|g| g.groups.values().collect())
            .unwrap_or_default()
    };
    let fabric_msp = |g: &ConfigGroup| -> Result<Option<FabricMspConfig>, prost::DecodeError> {
        let Some(v) = g.values.get("MSP") else {
            return Ok(None);
        };
        let msp = MspConfig::decode(v.value.as_slice())?;
        if msp.r#type != 0 {
            return Ok(None); // not an X.509 (FABRIC) MSP
        }
        FabricMspConfig::decode(msp.config.as_slice()).map(Some)
    };
    let endpoints = |addresses: &[String]| Endpoints {
        endpoint: addresses
            .iter()
            .filter_map(|a| {
                let (host, port) = a.rsplit_once(':')?;
                Some(Endpoint {
                    host: host.to_string(),
                    port: port.parse().ok()?,
                })
            })
            .collect(),
    };
    let mut msps = BTreeMap::new();
    let mut per_org = BTreeMap::new();
    for g in orgs("Orderer") {
        let Some(m) = fabric_msp(g)? else { continue };
        let addresses = match g.values.get("Endpoints") {
            Some(v) => OrdererAddresses::decode(v.value.as_slice())?.addresses,
            None => Vec::new(),
        };
        per_org.insert(m.name.clone(), addresses);
        msps.insert(m.name.clone(), m);
    }
    for g in orgs("Application") {
        if let Some(m) = fabric_msp(g)? {
            msps.insert(m.name.clone(), m);
        }
    }
    let orderers = if per_org.values().any(|a| !a.is_empty()) {
        per_org
            .iter()
            .map(|(org, a)| (org.clone(), endpoints(a)))
            .collect()
    } else {
        per_org
            .keys()
            .map(|org| (org.clone(), endpoints(&cfg.orderer_addresses)))
            .collect()
    };
    Ok(ConfigResult { msps, orderers })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_certificate_hash_may_be_of_its_der_or_of_its_pem_as_go_writes_it() {
        let ca = weft_common::pki::CertAuthority::new_root(
            &weft_common::pki::Subject::fabric_style("x", "ca.x"),
            weft_common::pki::KeyType::EcdsaP256,
            weft_common::pki::Validity::days_from_now(1),
        )
        .unwrap();
        let der = &weft_common::tls::parse_certs(ca.cert_pem().as_bytes()).unwrap()[0];
        let [of_der, of_pem] = super::certificate_hashes(der.as_ref());
        assert_eq!(of_der, weft_common::crypto::sha256(der.as_ref()));
        // Go's pem.EncodeToMemory: 64-column base64 lines, LF endings.
        let pem = pem::encode_config(
            &pem::Pem::new("CERTIFICATE", der.as_ref().to_vec()),
            pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
        );
        assert_eq!(of_pem, weft_common::crypto::sha256(pem.as_bytes()));
    }
}
