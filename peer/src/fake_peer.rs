//! A fake peer for the services' unit tests: one channel (Org1 only)
//! committed from its genesis block, the peer's identity and MSP, an empty
//! package store, and every service's `Support` over them. No node, no gRPC,
//! no orderer.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Semaphore;
use weft_common::config::ChannelConfig;
use weft_common::ids::{ChannelId, MspId};
use weft_common::msp::{Msp, MspManager, SigningIdentity, folder};
use weft_common::tls::TlsIdentity;
use weft_common::tx::ProposalBuilder;
use weft_configtx::local::LocalNetwork;
use weft_protos::common::Block;
use weft_protos::protos::{ProposalResponse, SignedProposal};
use weft_testkit::material::Material;

use crate::PeerError;
use crate::chaincode::installed::InstalledChaincodes;
use crate::channel::Committer;
use crate::channels::JoinedChannels;
use crate::config::GatewayPeer;
use crate::discovery::members::LocalMember;
use crate::endorser::{EndorserMetrics, Support, endorse};
use crate::ledger::Ledger;

pub const CHANNEL: &str = "mychannel";
pub const WINDOW: Duration = Duration::from_secs(60);

/// The peer as the endorser sees it, with nothing behind it but a ledger.
pub struct FakePeer {
    channels: BTreeMap<String, Arc<Committer>>,
    pub signer: SigningIdentity,
    local_msp: MspManager,
    installed: InstalledChaincodes,
    pub executions: Semaphore,
    pub metrics: EndorserMetrics,
    /// The genesis blocks `join` was asked to join.
    pub joined: Mutex<Vec<Block>>,
    local_member: LocalMember,
    views: crate::discovery::members::Views,
    /// Other orgs' peers this peer knows (`peer.gateway.peers`).
    pub known_peers: Vec<GatewayPeer>,
    /// Where the gateway submits.
    pub orderers: Vec<String>,
}

impl std::fmt::Debug for FakePeer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakePeer").finish_non_exhaustive()
    }
}

impl JoinedChannels for FakePeer {
    fn channel(&self, id: &str) -> Option<Arc<Committer>> {
        self.channels.get(id).cloned()
    }
    fn channel_ids(&self) -> Vec<ChannelId> {
        self.channels.keys().map(ChannelId::new).collect()
    }
}

impl crate::scc::Support for FakePeer {
    fn join(&self, genesis: Block) -> Result<ChannelId, PeerError> {
        self.joined.lock().unwrap().push(genesis);
        Ok(ChannelId::new("joined"))
    }
    fn local_msp(&self) -> &MspManager {
        &self.local_msp
    }
}

impl crate::discovery::Support for FakePeer {
    fn tls(&self) -> Option<&TlsIdentity> {
        None
    }
    fn local_member(&self) -> &LocalMember {
        &self.local_member
    }
    fn known_peers(&self) -> &[GatewayPeer] {
        &self.known_peers
    }
    fn org_members_allowed(&self) -> bool {
        false
    }
    fn views(&self) -> &crate::discovery::members::Views {
        &self.views
    }
}

impl crate::gateway::Support for FakePeer {
    fn orderer_endpoints(&self, _: &ChannelConfig) -> Vec<String> {
        self.orderers.clone()
    }
}

impl Support for FakePeer {
    fn signer(&self) -> &SigningIdentity {
        &self.signer
    }
    fn proposal_time_window(&self) -> Duration {
        WINDOW
    }
    fn installed(&self) -> &InstalledChaincodes {
        &self.installed
    }
    fn executions(&self) -> &Semaphore {
        &self.executions
    }
    fn metrics(&self) -> &EndorserMetrics {
        &self.metrics
    }
    fn disseminate<'a>(
        &'a self,
        _: &'a Committer,
        _: &'a str,
        _: &'a weft_protos::rwset::TxPvtReadWriteSet,
    ) -> futures::future::BoxFuture<'a, Result<(), Box<dyn std::error::Error + Send + Sync>>> {
        // One peer and no other: nothing to push to.
        Box::pin(async { Ok(()) })
    }
}

pub struct Fixture {
    pub peer: Arc<FakePeer>,
    pub genesis: Block,
    material: Material,
}

impl Fixture {
    /// Org1 and Org2 exist; the channel has Org1 alone; the peer is Org1's.
    pub fn new() -> Self {
        Self::with(Vec::new(), Vec::new())
    }

    /// The same, knowing `known_peers` of other orgs and submitting to `orderers`.
    pub fn with(known_peers: Vec<GatewayPeer>, orderers: Vec<String>) -> Self {
        let material = Material::generate(1, 2, 1, 1);
        let net = LocalNetwork::new(
            "Test",
            LocalNetwork::numbered_consenters(&[7050]),
            vec![None],
        );
        let genesis = material.genesis(CHANNEL, &net);
        let dir = material.path();
        let ledger = Ledger::open(&dir.join("ledger")).unwrap();
        let committer = Arc::new(Committer::genesis(ledger, genesis.clone()).unwrap());
        let org1 = MspId::new("Org1MSP");
        let peer_msp = material.peer_dir(1, 0).join("msp");
        let local = folder::load(&peer_msp, &org1).unwrap();
        let runtime = Arc::new(
            crate::chaincode::ChaincodeRuntime::new(crate::chaincode::RuntimeConfig::default())
                .unwrap(),
        );
        let peer = FakePeer {
            channels: [(CHANNEL.to_string(), committer)].into(),
            signer: material.peer(1),
            local_msp: MspManager::new([Msp::from_config(&local.config).unwrap()]),
            installed: InstalledChaincodes::open(dir.join("packages"), runtime).unwrap(),
            executions: Semaphore::new(1),
            metrics: EndorserMetrics::default(),
            joined: Mutex::new(Vec::new()),
            local_member: LocalMember::new("peer0.org1.example.com:7051".into()),
            views: Default::default(),
            known_peers,
            orderers,
        };
        Self {
            peer: Arc::new(peer),
            genesis,
            material,
        }
    }

    pub fn user(&self, org: u8, name: &str) -> SigningIdentity {
        let msp = self.material.user_dir(org, name).join("msp");
        folder::load_signing_identity(&msp, &MspId::new(format!("Org{org}MSP"))).unwrap()
    }

    pub async fn endorse(&self, sp: SignedProposal) -> Result<ProposalResponse, tonic::Status> {
        let support: Arc<dyn Support> = self.peer.clone();
        endorse(&support, sp).await
    }

    /// The response's status and message.
    pub async fn outcome(&self, sp: SignedProposal) -> (i32, String) {
        let r = self.endorse(sp).await.unwrap().response.unwrap();
        (r.status, r.message)
    }

    pub fn counted(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        let m = &self.peer.metrics;
        (m.proposals.load(Relaxed), m.proposal_failures.load(Relaxed))
    }
}

pub fn proposal(
    channel: &str,
    chaincode: &str,
    args: &[&str],
    who: &SigningIdentity,
) -> SignedProposal {
    ProposalBuilder::new(ChannelId::new(channel), chaincode)
        .args(args.iter().map(|a| a.as_bytes().to_vec()).collect())
        .sign(who)
        .unwrap()
        .signed
}
