//! The in-process mode: every orderer and peer of a topology runs inside the
//! calling process on 127.0.0.1:0 ports — what the test suites use. Nodes are
//! the same libraries the binaries run; only the process boundary is gone.

use std::path::Path;
use std::time::Duration;

use tokio::net::TcpListener;
use weft_orderer::config::OrdererConfig;
use weft_orderer::node::{Listeners as OrdererListeners, OrdererHandle};
use weft_peer::config::{GatewayPeer, PeerConfig};
use weft_peer::node::{Listeners as PeerListeners, PeerHandle};

use crate::info::{NetworkInfo, NodeInfo, OrgInfo};
use crate::material::{PortPlan, generate};
use crate::{NetworkError, Topology};

/// A running in-process network.
pub struct InProcessNetwork {
    info: NetworkInfo,
    cas: Vec<weft_ca::server::CaHandle>,
    orderers: Vec<Option<OrdererHandle>>,
    peers: Vec<Vec<Option<PeerHandle>>>,
}

/// The orderer config of `node` (addresses come from pre-bound listeners).
pub fn orderer_config(info: &NetworkInfo, node: &NodeInfo) -> OrdererConfig {
    OrdererConfig::local(
        &node.crypto,
        info.client_auth_required,
        info.orderer_tls_ca.clone(),
        node.data.clone(),
    )
}

/// The peer config of `node` of `org`; its gateway knows every other peer.
pub fn peer_config(info: &NetworkInfo, org: &OrgInfo, node: &NodeInfo) -> PeerConfig {
    let mut config = PeerConfig::local(
        &node.name,
        &node.crypto,
        &org.msp_id,
        info.client_auth_required,
        node.data.clone(),
    );
    config.gateway_concurrency = 1024;
    // In-process networks are test networks: background reconciliation of
    // missing private data runs every second, not every minute.
    config.reconcile_interval = std::time::Duration::from_secs(1);
    config.gateway_peers = info
        .orgs
        .iter()
        .flat_map(|o| o.peers.iter().map(move |p| (o, p)))
        .filter(|(_, p)| p.name != node.name)
        .map(|(o, p)| GatewayPeer {
            msp_id: o.msp_id.clone(),
            address: p.address.clone(),
        })
        .collect();
    config
}

async fn bind() -> Result<TcpListener, NetworkError> {
    TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| NetworkError::node("127.0.0.1:0", e))
}

fn port(l: &TcpListener) -> u16 {
    l.local_addr().map(|a| a.port()).unwrap_or(0)
}

async fn local_orderer() -> Result<OrdererListeners, NetworkError> {
    OrdererListeners::local()
        .await
        .map_err(|e| NetworkError::node("127.0.0.1:0", e))
}

async fn local_peer() -> Result<PeerListeners, NetworkError> {
    PeerListeners::local()
        .await
        .map_err(|e| NetworkError::node("127.0.0.1:0", e))
}

impl InProcessNetwork {
    /// Generates crypto and the genesis block under `dir`, starts every node,
    /// and joins them all to the channel (orderers through their core, peers
    /// through cscc as an org admin would).
    pub async fn start(t: &Topology, dir: &Path) -> Result<Self, NetworkError> {
        t.validate()?;
        let mut orderer_listeners = Vec::new();
        for _ in 0..t.orderers {
            orderer_listeners.push(local_orderer().await?);
        }
        let mut peer_listeners = Vec::new();
        for _ in 0..t.orgs {
            let mut org = Vec::new();
            for _ in 0..t.peers_per_org {
                org.push(local_peer().await?);
            }
            peer_listeners.push(org);
        }
        let mut ca_listeners = Vec::new();
        if t.ca {
            for _ in 0..=t.orgs {
                ca_listeners.push(bind().await?);
            }
        }
        let plan = PortPlan {
            cas: ca_listeners.iter().map(port).collect(),
            orderers: orderer_listeners
                .iter()
                .map(|l| (port(&l.general), port(&l.admin), port(&l.operations)))
                .collect(),
            peers: peer_listeners
                .iter()
                .map(|o| {
                    o.iter()
                        .map(|l| (port(&l.peer), port(&l.operations)))
                        .collect()
                })
                .collect(),
            orderer_ips: Vec::new(),
            peer_ips: Vec::new(),
            san_suffixes: Vec::new(),
        };
        let mut ca_handles = Vec::new();
        let info = if t.ca {
            let dir = crate::material::prepare(dir)?;
            let cas = crate::cas::plan(t, &dir, &plan);
            for (ca, listener) in cas.iter().zip(ca_listeners) {
                ca_handles.push(crate::cas::start_in_process(ca, listener).await?);
            }
            crate::cas::enroll_crypto(t, &dir, &cas, &|m| tracing::debug!("{m}")).await?;
            crate::material::describe(t, &dir, &plan, cas)?
        } else {
            generate(t, dir, &plan)?
        };
        let genesis =
            std::fs::read(&info.genesis).map_err(|e| NetworkError::io(&info.genesis, e))?;
        let mut net = Self {
            orderers: Vec::new(),
            peers: Vec::new(),
            cas: ca_handles,
            info,
        };
        for (node, listeners) in net.info.orderers.clone().iter().zip(orderer_listeners) {
            let handle = weft_orderer::node::start(orderer_config(&net.info, node), listeners)
                .await
                .map_err(|e| NetworkError::node(&node.name, e))?;
            handle.core.join_channel(&genesis).await.map_err(|e| {
                NetworkError::node(&node.name, format!("joining the channel: {e:?}"))
            })?;
            net.orderers.push(Some(handle));
        }
        for (org, listeners) in net.info.orgs.clone().iter().zip(peer_listeners) {
            let mut handles = Vec::new();
            for (node, l) in org.peers.iter().zip(listeners) {
                let handle = weft_peer::node::start(peer_config(&net.info, org, node), l)
                    .await
                    .map_err(|e| NetworkError::node(&node.name, e))?;
                handles.push(Some(handle));
            }
            net.peers.push(handles);
        }
        for org in net.info.orgs.clone() {
            for p in 0..org.peers.len() {
                net.info
                    .admin_client(&org, p)
                    .await?
                    .join(&genesis)
                    .await
                    .map_err(|e| NetworkError::node(&org.peers[p].name, e))?;
            }
        }
        Ok(net)
    }

    /// A network for tests ([`Topology::for_tests`]) under `dir`, with the
    /// sample `samples/<sample>` deployed as `name` (WASM built into `build_dir`).
    pub async fn with_sample(
        dir: &Path,
        batch_timeout: &str,
        sample: &str,
        name: &str,
        build_dir: &Path,
    ) -> Result<Self, NetworkError> {
        let net = Self::start(&Topology::for_tests(batch_timeout), dir).await?;
        net.deploy_crate(name, &crate::deploy::samples_dir().join(sample), build_dir)
            .await?;
        Ok(net)
    }

    /// Deploys version 1.0 of the chaincode crate at `dir` as `name` on
    /// every org, building the WASM into `build_dir`.
    pub async fn deploy_crate(
        &self,
        name: &str,
        dir: &Path,
        build_dir: &Path,
    ) -> Result<crate::deploy::Deployed, NetworkError> {
        let spec = crate::deploy::DeploySpec::from_crate(name, dir, Some(build_dir));
        crate::deploy::deploy(&self.info, &spec, |m| tracing::debug!("deploy: {m}")).await
    }

    /// The network's description (addresses, crypto paths).
    pub fn info(&self) -> &NetworkInfo {
        &self.info
    }

    /// Peer `p` of org `org` (0-based indices), if running.
    pub fn peer(&self, org: usize, p: usize) -> Option<&PeerHandle> {
        self.peers.get(org)?.get(p)?.as_ref()
    }

    /// Orderer `i`, if running.
    pub fn orderer(&self, i: usize) -> Option<&OrdererHandle> {
        self.orderers.get(i)?.as_ref()
    }

    /// Stops peer `p` of `org` (its data stays).
    pub async fn stop_peer(&mut self, org: usize, p: usize) {
        if let Some(h) = self
            .peers
            .get_mut(org)
            .and_then(|o| o.get_mut(p))
            .and_then(Option::take)
        {
            h.shutdown().await;
        }
    }

    /// Starts peer `p` of `org` again over its data, on a new port (the
    /// network description is updated).
    pub async fn restart_peer(&mut self, org: usize, p: usize) -> Result<(), NetworkError> {
        self.stop_peer(org, p).await;
        let o = self.info.orgs[org].clone();
        let node = o.peers[p].clone();
        let handle =
            weft_peer::node::start(peer_config(&self.info, &o, &node), local_peer().await?)
                .await
                .map_err(|e| NetworkError::node(&node.name, e))?;
        self.info.orgs[org].peers[p].address = format!("127.0.0.1:{}", handle.addr.port());
        self.info.orgs[org].peers[p].operations_address =
            format!("127.0.0.1:{}", handle.operations_addr.port());
        self.peers[org][p] = Some(handle);
        Ok(())
    }

    /// Stops orderer `i` and starts it again over its data, on its general
    /// port (the channel config names it) and new admin and operations ports
    /// (the network description is updated). It picks up new crypto files.
    pub async fn restart_orderer(&mut self, i: usize) -> Result<(), NetworkError> {
        if let Some(h) = self.orderers.get_mut(i).and_then(Option::take) {
            h.shutdown().await;
        }
        let node = self.info.orderers[i].clone();
        let general = TcpListener::bind(&node.address)
            .await
            .map_err(|e| NetworkError::node(&node.name, e))?;
        let listeners = OrdererListeners {
            general,
            admin: bind().await?,
            operations: bind().await?,
        };
        let handle = weft_orderer::node::start(orderer_config(&self.info, &node), listeners)
            .await
            .map_err(|e| NetworkError::node(&node.name, e))?;
        self.info.orderers[i].admin_address =
            Some(format!("127.0.0.1:{}", handle.admin_addr.port()));
        self.info.orderers[i].operations_address =
            format!("127.0.0.1:{}", handle.operations_addr.port());
        self.orderers[i] = Some(handle);
        Ok(())
    }

    /// Waits until every running peer has committed `height` blocks.
    pub async fn wait_for_height(
        &self,
        height: u64,
        timeout: Duration,
    ) -> Result<(), NetworkError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let behind = self.peers.iter().flatten().flatten().find(|p| {
                p.core
                    .channel(&self.info.channel)
                    .is_none_or(|c| c.ledger().height() < height)
            });
            match behind {
                None => return Ok(()),
                Some(p) if tokio::time::Instant::now() > deadline => {
                    return Err(NetworkError::Timeout(format!(
                        "{} at height {height}",
                        p.core.id
                    )));
                }
                Some(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    }

    /// Stops every node.
    pub async fn shutdown(mut self) {
        for p in self.peers.iter_mut().flatten() {
            if let Some(h) = p.take() {
                h.shutdown().await;
            }
        }
        for o in self.orderers.iter_mut() {
            if let Some(h) = o.take() {
                h.shutdown().await;
            }
        }
        for ca in self.cas.drain(..) {
            ca.shutdown().await;
        }
    }
}
