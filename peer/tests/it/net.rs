//! In-process networks: a Raft orderer cluster and peers on 127.0.0.1:0.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use futures::StreamExt;
use prost::Message;
use weft_common::node::dial::{DialOptions, DialTls, dial};

use weft_common::tls::TlsIdentity;
use weft_orderer::config::OrdererConfig;
use weft_orderer::node::{Listeners as OrdererListeners, OrdererHandle};
use weft_orderer::storage::ChannelStorage;
use weft_peer::admin::{AdminClient, ClientTls};
use weft_peer::config::PeerConfig;
use weft_peer::node::{Listeners as PeerListeners, PeerHandle};
use weft_protos::common::{Block, Envelope};
use weft_protos::orderer::atomic_broadcast_client::AtomicBroadcastClient;

use crate::support::*;

pub struct Net {
    /// Listeners of peer0 of Org1 and Org2, bound before the genesis block so
    /// that it can name them as anchor peers.
    pub anchors: std::sync::Mutex<std::collections::HashMap<u8, PeerListeners>>,
    pub orgs: Orgs,
    pub orderers: Vec<Option<OrdererHandle>>,
    pub genesis: Block,
    pub data: tempfile::TempDir,
}

impl Net {
    /// `n` orderers serving `mychannel` (batches of at most `batch`, 100 ms timeout).
    pub async fn start(n: usize, batch: u32) -> Self {
        Self::start_with_client_auth(n, batch, false).await
    }

    /// The same; with `client_auth_required` the orderers require TLS client
    /// certificates (`General.TLS.ClientAuthRequired: true`).
    pub async fn start_with_client_auth(n: usize, batch: u32, client_auth_required: bool) -> Self {
        let orgs = Orgs::new(n.max(3));
        let mut listeners = Vec::new();
        for _ in 0..n {
            listeners.push(OrdererListeners::local().await.unwrap());
        }
        let ports: Vec<u16> = listeners
            .iter()
            .map(|l| l.general.local_addr().unwrap().port())
            .collect();
        let mut anchors = std::collections::HashMap::new();
        for org in [1u8, 2] {
            anchors.insert(org, PeerListeners::local().await.unwrap());
        }
        let anchor_ports: Vec<(u8, u16)> = anchors
            .iter()
            .map(|(o, l)| (*o, l.peer.local_addr().unwrap().port()))
            .collect();
        let genesis = orgs.genesis_with_anchors(&ports, &anchor_ports, batch, "100ms");
        let data = tempfile::tempdir().unwrap();
        let mut net = Self {
            anchors: std::sync::Mutex::new(anchors),
            orgs,
            orderers: Vec::new(),
            genesis,
            data,
        };
        for (i, l) in listeners.into_iter().enumerate() {
            let config = OrdererConfig::local(
                &net.orgs.orderer_dir(i + 1),
                client_auth_required,
                net.orgs.orderer_tls_ca(),
                net.data.path().join(format!("orderer{i}")),
            );
            let node = weft_orderer::node::start(config, l).await.unwrap();
            node.core
                .join_channel(&net.genesis.encode_to_vec())
                .await
                .unwrap();
            net.orderers.push(Some(node));
        }
        net
    }

    pub fn orderer_endpoint(&self, i: usize) -> String {
        format!(
            "127.0.0.1:{}",
            self.orderers[i].as_ref().unwrap().general_addr.port()
        )
    }

    pub fn peer_data(&self, org: u8, i: usize) -> PathBuf {
        self.data.path().join(format!("peer{i}.org{org}"))
    }

    /// Starts peer `i` of `org` over its data directory (not joined to anything new).
    pub async fn start_peer(&self, org: u8, i: usize) -> PeerHandle {
        self.start_peer_configured(org, i, |_| {}).await
    }

    /// The same, with the config adjusted by `configure` first.
    pub async fn start_peer_configured(
        &self,
        org: u8,
        i: usize,
        configure: impl FnOnce(&mut PeerConfig),
    ) -> PeerHandle {
        let mut config = PeerConfig::local(
            &format!("peer{i}.org{org}"),
            &self.orgs.peer_dir(org, i),
            &format!("Org{org}MSP"),
            false,
            self.peer_data(org, i),
        );
        config.gateway_concurrency = 1024;
        configure(&mut config);
        let pre_bound = if i == 0 {
            self.anchors.lock().unwrap().remove(&org)
        } else {
            None
        };
        let listeners = match pre_bound {
            Some(l) => l,
            None => PeerListeners::local().await.unwrap(),
        };
        weft_peer::node::start(config, listeners).await.unwrap()
    }

    /// A gRPC channel to `peer` (of Org1) with Org1's User1 TLS identity, as an application connects.
    pub async fn user_channel(&self, peer: &PeerHandle) -> tonic::transport::Channel {
        let user = self.orgs.user_dir(1, "User1").join("tls");
        let id = TlsIdentity::load(&user.join("client.crt"), &user.join("client.key")).unwrap();
        let roots = vec![std::fs::read(self.orgs.org_tls_ca(1)).unwrap()];
        weft_peer::remote::connect(
            &format!("127.0.0.1:{}", peer.addr.port()),
            Some((&id, roots)),
            Default::default(),
        )
        .await
        .unwrap()
    }

    /// An admin client of `org` connected to its own org's `peer` over mutual TLS.
    pub async fn admin(&self, org: u8, peer: &PeerHandle) -> AdminClient {
        self.admin_of(org, org, peer).await
    }

    /// An admin client of `org` connected to `peer` of `peer_org`.
    pub async fn admin_of(&self, org: u8, peer_org: u8, peer: &PeerHandle) -> AdminClient {
        let addr = format!("127.0.0.1:{}", peer.addr.port());
        self.client_at(org, "Admin", peer_org, &addr).await
    }

    /// A client of `org` signing as `who` (`Admin` or `User1`), connected over
    /// mutual TLS to the peer of `peer_org` at `addr`.
    pub async fn client_at(&self, org: u8, who: &str, peer_org: u8, addr: &str) -> AdminClient {
        let tls_dir = self.orgs.user_dir(org, who).join("tls");
        let tls = ClientTls {
            ca_pem: std::fs::read(self.orgs.org_tls_ca(peer_org)).unwrap(),
            identity: Some(
                TlsIdentity::load(&tls_dir.join("client.crt"), &tls_dir.join("client.key"))
                    .unwrap(),
            ),
            server_name: None,
        };
        let signer = match who {
            "Admin" => self.orgs.admin(org),
            _ => self.orgs.user(org),
        };
        AdminClient::connect(addr, Some(tls), signer).await.unwrap()
    }

    /// Joins `peer` of `org` to the channel through cscc, as `weft-peer channel join` does.
    pub async fn join(&self, org: u8, peer: &PeerHandle) {
        self.admin(org, peer)
            .await
            .join(&self.genesis.encode_to_vec())
            .await
            .unwrap();
    }

    /// A Broadcast client to orderer `i`, as Org1's user.
    pub async fn broadcaster(&self, i: usize) -> AtomicBroadcastClient<tonic::transport::Channel> {
        let user = self.orgs.user_dir(1, "User1").join("tls");
        let tls = DialTls {
            roots: vec![std::fs::read(self.orgs.orderer_tls_ca()).unwrap()],
            identity: Some((
                std::fs::read(user.join("client.crt")).unwrap(),
                std::fs::read(user.join("client.key")).unwrap(),
            )),
            server_name: None,
        };
        let ch = dial(
            &self.orderer_endpoint(i),
            Some(&tls),
            DialOptions::default(),
        )
        .await
        .unwrap();
        AtomicBroadcastClient::new(ch)
    }

    /// Broadcasts envelopes on one stream to orderer `i`; every one must be accepted.
    pub async fn broadcast(&self, i: usize, envs: Vec<Envelope>) {
        let n = envs.len();
        let mut client = self.broadcaster(i).await;
        let mut responses = client
            .broadcast(futures::stream::iter(envs))
            .await
            .unwrap()
            .into_inner();
        for k in 0..n {
            let r = responses.next().await.unwrap().unwrap();
            assert_eq!(r.status, 200, "envelope {k}: {}", r.info);
        }
    }

    /// Blocks `0..height` as orderer `i` stored them.
    pub fn orderer_blocks(&self, i: usize, height: u64) -> Vec<Block> {
        let channel = self.orderers[i]
            .as_ref()
            .unwrap()
            .core
            .registry
            .get(CHANNEL)
            .unwrap();
        (0..height)
            .map(|n| Block::decode(channel.store().block(n).unwrap().unwrap().as_slice()).unwrap())
            .collect()
    }

    /// The chain height once every running orderer has written the same number of blocks.
    pub async fn settled_height(&self) -> u64 {
        let heights = || -> Vec<u64> {
            self.orderers
                .iter()
                .flatten()
                .map(|o| {
                    o.core
                        .registry
                        .get(CHANNEL)
                        .unwrap()
                        .store()
                        .height()
                        .unwrap()
                })
                .collect()
        };
        wait_for(
            "orderers at the same height",
            Duration::from_secs(30),
            || {
                let h = heights();
                h.iter().all(|x| *x == h[0])
            },
        )
        .await;
        heights()[0]
    }

    pub async fn shutdown(mut self) {
        for o in self.orderers.iter_mut() {
            if let Some(o) = o.take() {
                o.shutdown().await;
            }
        }
    }
}

/// Waits until `peer` has committed `height` blocks on `mychannel`.
pub async fn wait_height(peer: &PeerHandle, height: u64) {
    wait_for(
        &format!("peer {} at height {height}", peer.core.id),
        Duration::from_secs(60),
        || {
            peer.core
                .channel(CHANNEL)
                .is_some_and(|c| c.ledger().height() >= height)
        },
    )
    .await;
}

/// Heights, blocks (with filters) and state of two peers are identical.
pub fn assert_same_ledgers(a: &PeerHandle, b: &PeerHandle, namespaces: &[&str]) {
    let (la, lb) = (
        a.core.channel(CHANNEL).unwrap(),
        b.core.channel(CHANNEL).unwrap(),
    );
    let (la, lb) = (la.ledger(), lb.ledger());
    assert_eq!(la.info(), lb.info());
    for n in 0..la.height() {
        let (ba, bb) = (la.block(n).unwrap().unwrap(), lb.block(n).unwrap().unwrap());
        assert_eq!(ba.header, bb.header, "block {n}");
        assert_eq!(ba.data, bb.data, "block {n}");
        assert_eq!(
            weft_common::block::transactions_filter(&ba),
            weft_common::block::transactions_filter(&bb),
            "filter of block {n}"
        );
    }
    for ns in namespaces {
        assert_eq!(
            la.range(ns, "", "").unwrap(),
            lb.range(ns, "", "").unwrap(),
            "state of {ns}"
        );
    }
}
